"""The served protocol document: under /ppp, only what is implemented, additions marked."""

import json
from pathlib import Path

SPEC = Path(__file__).parents[2] / "portal" / "ppp" / "openapi-base.json"


def test_base_is_the_reference_contract():
    shared = Path("/work/shared/specs/payment-provider-protocol.json")
    if shared.exists():
        assert json.loads(SPEC.read_text()) == json.loads(shared.read_text())


def test_served_document(client):
    response = client.get("/ppp/openapi.json")
    assert response.status_code == 200 and response.is_json
    doc = response.get_json()
    assert doc["servers"][0]["url"] == "/ppp"
    assert set(doc["paths"]) == {
        "/manifest",
        "/payments",
        "/payments/{paymentId}/settlements",
        "/payments/{paymentId}/cancellations",
        "/payments/{paymentId}/refunds",
    }
    omitted = {(o["method"], o["path"]) for o in doc["x-portal-omitted"]}
    assert omitted == {
        ("POST", "/payments/{paymentId}/inbound/{action}"),
        ("POST", "/authorization/token"),
        ("GET", "/authorization/redirect"),
        ("GET", "/authorization/credentials"),
    }
    assert "CreateAuthorizationTokenRequest" not in doc["components"]["schemas"]
    payments = doc["paths"]["/payments"]["post"]
    assert payments["x-portal-scope"] == "transactions:write"
    assert payments["security"] == [{"appKey": [], "appToken": []}]
    for code in ("401", "403"):
        assert payments["responses"][code]["x-portal-extension"] is True
    refunds = doc["paths"]["/payments/{paymentId}/refunds"]["post"]["responses"]
    assert refunds["409"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "Fail-GenericError3"
    )
    assert "x-portal-extension" not in refunds["200"]
    approved = doc["components"]["schemas"]["Success-Approved"]["properties"]
    assert approved["authorizationId"]["nullable"] is True
    assert doc["paths"]["/manifest"]["get"]["security"] == []
