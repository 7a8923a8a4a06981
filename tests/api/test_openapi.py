"""The served /api/openapi.json keeps the whole contract and marks what it adds."""

import json
from pathlib import Path

import pytest

import portal.api.openapi as openapi

SHARED = Path(__file__).resolve().parents[3] / "shared" / "specs" / "customer-credit-api.json"
METHODS = ("get", "post", "put", "delete", "patch")


def _original() -> dict:
    """The reference contract (shared/ when present beside the repo, else the repo copy)."""
    return json.loads((SHARED if SHARED.exists() else openapi.BASE).read_text(encoding="utf-8"))


@pytest.fixture
def served(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _resolve(doc: dict, node):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _keeps(original, served, where: str) -> None:
    """`served` says everything `original` says; it may only add, or widen where marked
    (a marked description may go on after the contract's text)."""
    if isinstance(original, dict):
        assert isinstance(served, dict), where
        for key, value in original.items():
            if key == "example" and key not in served:  # moved beside the guides' examples
                assert served["examples"]["contract"]["value"] == value, where
                continue
            assert key in served, f"{where}: {key} was dropped"
            if key == "type" and served.get("x-portal-extension"):
                assert (value, served[key]) in ((value, value), ("integer", "number")), where
            elif key == "enum" and served.get("x-portal-extension"):
                assert set(value) <= set(served[key]), where
            elif key == "description" and served.get("x-portal-extension"):
                assert served[key].startswith(value), f"{where}: description rewritten"
            else:
                _keeps(value, served[key], f"{where}.{key}")
    else:
        assert original == served, f"{where}: {original!r} became {served!r}"


def _operations(doc: dict):
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            if method in METHODS:
                yield path, method, op


def test_repo_copy_is_the_contract():
    assert SHARED.exists() or openapi.BASE.exists()
    if SHARED.exists():
        assert openapi.BASE.read_bytes() == SHARED.read_bytes()


def test_every_operation_keeps_parameters_and_success_schemas(served):
    original = _original()
    assert len(list(_operations(original))) == 25
    for path, method, op in _operations(original):
        where = f"{method.upper()} {path}"
        assert method in served["paths"].get(path, {}), f"{where} is missing"
        mine = served["paths"][path][method]
        params = {
            (p["name"], p["in"]): p
            for p in (_resolve(served, x) for x in mine.get("parameters", []))
        }
        for param in (_resolve(original, x) for x in op.get("parameters", [])):
            key = (param["name"], param["in"])
            assert key in params, f"{where}: parameter {key} dropped"
            _keeps(param, params[key], f"{where} {key}")
        if "requestBody" in op:
            _keeps(op["requestBody"], mine["requestBody"], f"{where} body")
        for code, response in op["responses"].items():
            assert code in mine["responses"], f"{where}: response {code} dropped"
            _keeps(response, mine["responses"][code], f"{where} {code}")


def test_additions_are_marked(served):
    original = _original()
    for path, method, op in _operations(served):
        if path not in original["paths"]:  # a whole operation the portal adds
            assert op.get("x-portal-extension"), (path, method)
            continue
        before = original["paths"][path][method]
        names = {(_resolve(original, p)["name"]) for p in before.get("parameters", [])}
        for param in (_resolve(served, p) for p in op.get("parameters", [])):
            if param["name"] not in names:
                assert param.get("x-portal-extension"), (path, method, param["name"])
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        old = before.get("requestBody", {}).get("content", {}).get("application/json", {})
        if not old:
            assert "requestBody" not in op or op["requestBody"].get("x-portal-extension")
            continue
        old_properties = old["schema"].get("properties", {})
        for name, prop in schema["schema"].get("properties", {}).items():
            if name not in old_properties:
                assert prop.get("x-portal-extension"), (path, method, name)


def test_errors_servers_and_security_are_declared(served):
    assert served["servers"] == [
        {"url": "/", "description": "This portal.", "x-portal-extension": True}
    ]
    assert {"appKey", "appToken"} <= set(served["components"]["securitySchemes"])
    assert served["security"] == [{"appKey": [], "appToken": []}]
    error = served["components"]["schemas"]["Error"]
    assert error["x-portal-extension"] and error["required"] == ["error"]
    for path, method, op in _operations(served):
        codes = set(op["responses"])
        assert {"400", "401", "403", "404"} <= codes, (path, method)
        assert op["x-portal-scope"]
        if method == "post":
            assert "422" in codes
            refs = [p.get("$ref") for p in op["parameters"]]
            assert "#/components/parameters/Idempotency-Key" in refs, path
        for code in ("400", "401", "403", "404"):
            body = _resolve(served, op["responses"][code])
            assert body["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }


def test_served_document_is_valid_openapi(served):
    from schemathesis.openapi import from_dict

    schema = from_dict(served)
    # the contract + imports/exports + scheduled limit changes
    assert len(list(schema.get_all_operations())) == 25 + 6 + 3


def test_docs_page_lists_every_operation(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "/static/vendor/bootstrap.min.css" in html
    for path, _method, op in _operations(_original()):
        assert path in html
        assert op["summary"] in html.replace("&#39;", "'"), op["summary"]
    assert "transactions:write" in html and "Idempotency-Key" in html
