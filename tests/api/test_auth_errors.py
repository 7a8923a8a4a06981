"""Authentication, scopes, and the JSON shape of every refusal under /api."""

import re

import pytest
from sqlalchemy import select

from portal import people
from portal.models import ApiKey

from .conftest import BASE, error_code


def test_missing_headers_are_401_json(client):
    response = client.get(f"{BASE}/accounts")
    assert response.status_code == 401
    assert response.get_json() == {
        "error": {
            "code": "unauthorized",
            "field": None,
            "message": "Send a valid X-VTEX-API-AppKey and X-VTEX-API-AppToken pair.",
        }
    }


@pytest.mark.parametrize("which", ["key", "token"])
def test_wrong_key_or_token_is_401(client, api_key, which):
    key, token = api_key
    headers = {
        "X-VTEX-API-AppKey": key.key + ("x" if which == "key" else ""),
        "X-VTEX-API-AppToken": token + ("x" if which == "token" else ""),
    }
    assert client.get(f"{BASE}/accounts", headers=headers).status_code == 401


def test_revoked_key_is_401(client, session, api_key, headers):
    people.revoke_api_key(session, api_key[0].id, actor="test")
    assert client.get(f"{BASE}/accounts", headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/accounts", "accounts:read"),
        ("POST", "/accounts", "accounts:write"),
        ("GET", "/invoices?creditAccountId=x", "invoices:read"),
        ("POST", "/accounts/x/invoices/y/payments", "invoices:pay"),
        ("PUT", "/accounts/x/invoices/y/postponement", "invoices:create"),
        ("GET", "/accounts/x/statements", "statements:read"),
        ("POST", "/accounts/x/transactions", "transactions:write"),
        ("GET", "/storeconfig", "storeconfig:read"),
        ("PUT", "/storeconfig", "storeconfig:write"),
    ],
)
def test_key_without_the_scope_is_403(client, scoped_headers, method, path, scope):
    others = [s for s in people.SCOPES if s != scope]
    response = client.open(BASE + path, method=method, headers=scoped_headers(*others), json={})
    assert response.status_code == 403
    assert error_code(response) == "forbidden"
    assert scope in response.get_json()["error"]["message"]


def test_the_scope_is_enough(client, scoped_headers):
    response = client.get(f"{BASE}/storeconfig", headers=scoped_headers("storeconfig:read"))
    assert response.status_code == 200


def test_last_use_is_recorded(client, session, api_key, headers, fresh):
    assert client.get(f"{BASE}/storeconfig", headers=headers).status_code == 200
    fresh()
    used = session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == api_key[0].id))
    assert used is not None


def test_unknown_route_under_api_is_404_json(api):
    response = api.get("/api/creditcontrol/nothing-here")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_wrong_method_is_405_json(api):
    response = api.call("PATCH", "/accounts")
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_pages_outside_api_keep_their_own_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response.is_json


@pytest.mark.parametrize(
    "data", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe", b"NaN", b'{"value": 1e999999999}']
)
def test_malformed_body_is_400_invalid_json(api, make_account, data):
    account = make_account()
    response = api.post(
        f"/accounts/{account.id}/transactions", data=data, content_type="application/json"
    )
    assert response.status_code == 400
    assert error_code(response) == "invalid_json"


def test_empty_body_where_one_is_required_is_400(api, make_account):
    account = make_account()
    response = api.put(f"/accounts/{account.id}/creditlimit")
    assert response.status_code == 400
    assert error_code(response) == "invalid_json"


def test_body_is_read_whatever_the_content_type(api, make_account):
    account = make_account(limit="100")
    response = api.put(
        f"/accounts/{account.id}/creditlimit", data=b'{"value": 250}', content_type="text/plain"
    )
    assert response.status_code == 200
    assert response.get_json()["creditLimit"] == 250


@pytest.mark.parametrize("value", ["1e40", "-1e40", "abc", True, None, {"a": 1}, [1], "12.345"])
def test_bad_amount_is_400_not_500(api, make_account, value):
    account = make_account()
    response = api.post(
        f"/accounts/{account.id}/transactions",
        json={"value": value, "settle": True, "installments": 1},
    )
    assert response.status_code == 400
    assert error_code(response) == "invalid_amount"


def test_nul_characters_are_refused(api, make_account):
    account = make_account()
    response = api.put(f"/accounts/{account.id}", json={"email": "a\x00@example.com"})
    assert response.status_code == 400
    assert error_code(response) == "invalid_input"
    assert api.get("/invoices?observation=a%00b").status_code == 400
    assert api.get("/accounts/a%00b").status_code == 400


def test_domain_error_keeps_its_code_and_field(api, make_account):
    account = make_account()
    response = api.post(
        f"/accounts/{account.id}/transactions",
        json={"value": 10, "settle": "yes", "installments": 1},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "settle"
    response = api.post(
        f"/accounts/{account.id}/transactions",
        json={"value": 10, "settle": True, "installments": 99},
    )
    assert response.get_json()["error"] == {
        "code": "invalid_installments",
        "field": "installments",
        "message": "installments must be between 1 and 24.",
    }


def _contract_operations(client):
    doc = client.get("/api/openapi.json").get_json()
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            if op.get("x-portal-extension"):
                continue  # the portal's own operations are tested in test_files.py
            url = re.sub(r"\{[^}]+\}", "X1", path)
            yield method.upper(), url, op["x-portal-scope"]


def test_every_operation_needs_a_key_and_its_scope(client, scoped_headers):
    operations = list(_contract_operations(client))
    assert len(operations) == 25
    for method, url, scope in operations:
        anonymous = client.open(url, method=method, json={})
        assert (anonymous.status_code, error_code(anonymous)) == (401, "unauthorized"), url
        others = [s for s in people.SCOPES if s != scope]
        refused = client.open(url, method=method, json={}, headers=scoped_headers(*others))
        assert (refused.status_code, error_code(refused)) == (403, "forbidden"), url
        allowed = client.open(url, method=method, json={}, headers=scoped_headers(scope))
        assert allowed.status_code not in (401, 403, 500), (method, url, allowed.data)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "1e99999999", "-1e40"])
def test_numbers_as_text_that_no_count_can_be_are_400(api, make_account, purchase, text):
    account = make_account()
    hold = purchase(account, "10")
    responses = [
        api.post(
            f"/accounts/{account.id}/transactions",
            json={"value": 1, "settle": True, "installments": text},
        ),
        api.put(
            f"/accounts/{account.id}/invoices/{hold.id}-01/postponement", json={"dueDays": text}
        ),
        api.put("/storeconfig", json={"maxPostponementDays": text}),
        api.put(f"/accounts/{account.id}/creditlimit", json={"value": text}),
    ]
    for response in responses:
        assert response.status_code == 400, response.data
        assert error_code(response) in (
            "invalid_number",
            "invalid_amount",
            "invalid_setting",
            "invalid_installments",
            "invalid_days",
        )
