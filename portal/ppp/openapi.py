"""The served contract: the protocol document as this portal implements it, at /ppp/openapi.json.

openapi-base.json is a verbatim copy of specs/payment-provider-protocol.json. The served
document resolves under /ppp, lists the operations the portal does not implement in
`x-portal-omitted` (and leaves them out), and marks what it adds with
`x-portal-extension: true`: the error responses it returns, the optional provider
headers, and `authorizationId` being null in a denied answer (as the contract's own
description says it must be, though its schema forgot `nullable`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask, Response, current_app

from . import bp

BASE = Path(__file__).with_name("openapi-base.json")
EXT = {"x-portal-extension": True}
METHODS = ("get", "post", "put", "delete", "patch")
SELF = f"{bp.name}.openapi_json"  # the document itself is not part of the contract
OMITTED_WHY = {
    "/payments/{paymentId}/inbound/{action}": "Beta inbound requests: nothing to forward.",
    "/authorization/token": "Configuration flow: keys are created in the portal's admin.",
    "/authorization/redirect": "Configuration flow: keys are created in the portal's admin.",
    "/authorization/credentials": "Configuration flow: keys are created in the portal's admin.",
}
# operation path -> the contract's failure schema for that operation
FAILURES = {
    "/payments": "Fail-BadRequest",
    "/payments/{paymentId}/cancellations": "Fail-GenericError1",
    "/payments/{paymentId}/settlements": "Fail-GenericError2",
    "/payments/{paymentId}/refunds": "Fail-GenericError3",
}
ERRORS = {
    "400": "Malformed JSON or an invalid field (`invalid_amount`, `invalid_request_id`, …).",
    "401": "Missing or wrong X-VTEX-API-AppKey / X-VTEX-API-AppToken.",
    "403": "The API key lacks the `transactions:write` scope.",
    "404": "No payment with this paymentId.",
    "409": "Refused by the credit rules (`invalid_transition`, `refund_exceeds_settled`, "
    "`insufficient_credit`, …) or a requestId reused for a different request.",
}


def _served(app: Flask) -> set[tuple[str, str]]:
    """(contract path, method) of every route of this blueprint."""
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(f"{bp.name}.") or rule.endpoint == SELF:
            continue
        path = rule.rule.removeprefix(bp.url_prefix)
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "{" + _camel(m.group(1)) + "}", path)
        served.update((path, m.lower()) for m in rule.methods or () if m.lower() in METHODS)
    return served


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _response(description: str, schema: str) -> dict:
    return {
        "description": description,
        **EXT,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _drop_omitted(doc: dict, served: set[tuple[str, str]]) -> None:
    omitted = []
    for path, operations in list(doc["paths"].items()):
        for method in [m for m in operations if m in METHODS]:
            if (path, method) not in served:
                omitted.append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "reason": OMITTED_WHY.get(path, "Not implemented."),
                    }
                )
                del operations[method]
        if not any(m in METHODS for m in operations):
            del doc["paths"][path]
    doc["x-portal-omitted"] = omitted


def _refs(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _prune_components(doc: dict) -> None:
    """Drop the schemas and parameters only the omitted operations used."""
    while True:
        used = _refs({k: v for k, v in doc.items() if k != "components"})
        used |= _refs(doc["components"])
        removed = False
        for kind in ("schemas", "parameters"):
            section = doc["components"].get(kind, {})
            for name in list(section):
                if f"#/components/{kind}/{name}" not in used:
                    del section[name]
                    removed = True
        if not removed:
            return


def _extend_operation(path: str, op: dict) -> None:
    if op.get("security"):
        op["security"] = [{"appKey": [], "appToken": []}]
        op["x-portal-scope"] = "transactions:write"
        op["description"] = "**API key scope:** `transactions:write`\n\n" + op["description"]
    failure = FAILURES.get(path)
    if failure is None:
        return
    for code, description in ERRORS.items():
        if path == "/payments" and code in ("404", "409"):
            continue  # refusals of the credit rules are answered `denied` with status 200
        schema = "Fail-BadRequest" if code in ("401", "403") else failure
        op["responses"].setdefault(code, _response(description, schema))


def build_document(app: Flask) -> dict:
    """The contract as served by this portal, checked against the registered routes."""
    doc = json.loads(BASE.read_text(encoding="utf-8"))
    doc["servers"] = [{"url": bp.url_prefix, "description": "This portal.", **EXT}]
    served = _served(app)
    missing = served - {(p, m) for p, ops in doc["paths"].items() for m in ops if m in METHODS}
    if missing:
        raise LookupError(f"routes missing from the contract: {sorted(missing)}")
    _drop_omitted(doc, served)
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            if method in METHODS:
                _extend_operation(path, op)
    components = doc["components"]
    for name in ("X-PROVIDER-API-AppKey", "X-PROVIDER-API-AppToken"):
        components["parameters"][name].update({"required": False, **EXT})
        components["parameters"][name]["description"] += (
            " This portal also accepts the X-VTEX-API-AppKey / X-VTEX-API-AppToken pair, "
            "which it reads first."
        )
    components["securitySchemes"].pop("VtexIdclientAutCookie", None)
    approved = components["schemas"]["Success-Approved"]["properties"]
    approved["authorizationId"].update({"nullable": True, **EXT})
    _prune_components(doc)
    used_tags = {
        t for ops in doc["paths"].values() for op in ops.values() for t in op.get("tags", [])
    }
    doc["tags"] = [t for t in doc.get("tags", []) if t["name"] in used_tags]
    return doc


def served_document() -> dict:
    """The document for the running app (built once)."""
    cache = current_app.extensions.setdefault("ppp", {})
    if "openapi" not in cache:
        cache["openapi"] = build_document(current_app)
    return cache["openapi"]


@bp.get("/openapi.json")
def openapi_json():
    """The Payment Provider Protocol document as this portal implements it."""
    return Response(json.dumps(served_document(), ensure_ascii=False), mimetype="application/json")
