"""Accounts over HTTP: open, read, update, close, limits, tolerance, statements, holders."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal import credit
from portal.models import AuditEvent, Holder, StatementEntry

from .conftest import error_code

ACCOUNT_FIELDS = {
    "id",
    "balance",
    "document",
    "status",
    "documentType",
    "creditLimit",
    "updatedAt",
    "createdAt",
    "description",
    "availableCredit",
    "preAuthorizedCredit",
    "email",
    "tolerance",
    "availableBalance",
}
NEW = {
    "document": "529.982.247-25",
    "documentType": "CPF",
    "email": "Buyer@Example.com",
    "creditLimit": "1500.50",
    "description": "key account",
    "tolerance": "0.2",
}


def test_open_account(api):
    response = api.post("/accounts", json=NEW)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == ACCOUNT_FIELDS
    assert body["id"] == "52998224725_CPF"
    assert (body["document"], body["documentType"], body["email"]) == (
        "52998224725",
        "CPF",
        "buyer@example.com",
    )
    assert body["creditLimit"] == body["availableBalance"] == 1500.5
    assert body["balance"] == 0  # VTEX: nothing owed; a negative balance is a debit
    assert b'"creditLimit":1500.50' in response.data  # exact numbers, two decimals
    assert body["tolerance"] == 0.2
    assert body["createdAt"].endswith("Z")


def test_open_account_accepts_numbers_too(api):
    response = api.post("/accounts", json={**NEW, "creditLimit": 100, "tolerance": 0})
    assert response.status_code == 200
    assert response.get_json()["creditLimit"] == 100


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"document": "12345678900"}, "invalid_document"),
        ({"documentType": "RG"}, "invalid_document_type"),
        ({"email": "nobody"}, "invalid_email"),
        ({"creditLimit": "-1"}, "invalid_amount"),
        ({"creditLimit": None}, "invalid_amount"),
        ({"tolerance": "11"}, "invalid_rate"),
        ({"email": 12}, "invalid_input"),
    ],
)
def test_open_account_refuses_bad_input(api, change, code):
    response = api.post("/accounts", json={**NEW, **change})
    assert response.status_code == 400
    assert error_code(response) == code


def test_open_account_twice_is_409(api):
    assert api.post("/accounts", json=NEW).status_code == 200
    response = api.post("/accounts", json=NEW)
    assert response.status_code == 409
    assert error_code(response) == "duplicate_document"


def test_get_account_and_unknown_id(api, session, make_account, purchase, settings):
    settings(tolerance_enabled=True)
    account = make_account(limit="1000", tolerance="0.1")
    purchase(account, "300")
    credit.authorize(session, account.id, "50", actor="t")
    body = api.get(f"/accounts/{account.id}").get_json()
    assert (
        body["balance"],
        body["preAuthorizedCredit"],
        body["availableCredit"],
        body["availableBalance"],
    ) == (-300, 50, 650, 750)  # availableCredit = limit + balance − pre-authorized
    response = api.get("/accounts/000_CPF")
    assert response.status_code == 404
    assert error_code(response) == "account_not_found"


def test_update_account(api, session, make_account, fresh):
    account = make_account(limit="100")
    response = api.put(
        f"/accounts/{account.id}",
        json={
            "email": "new@example.com",
            "document": account.document,
            "documentType": "CPF",
            "description": "moved",
            "creditLimit": 400,
            "tolerance": 0.3,
            "reason": "review",
        },
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["email"], body["description"], body["creditLimit"], body["tolerance"]) == (
        "new@example.com",
        "moved",
        400,
        0.3,
    )
    fresh()
    main = session.scalar(select(Holder).where(Holder.account_id == account.id, Holder.level == 1))
    assert main.email == "new@example.com"
    reasons = session.scalars(
        select(AuditEvent.reason).where(AuditEvent.action == "account.change_limit")
    ).all()
    assert "review" in reasons


def test_update_account_unknown_is_404(api):
    assert api.put("/accounts/000_CPF", json={"email": "a@example.com"}).status_code == 404


def test_close_account(api, make_account):
    account = make_account()
    response = api.delete(f"/accounts/{account.id}", json={"document": account.document})
    assert response.status_code == 200
    assert response.get_json()["status"] == "Closed"
    again = api.delete(f"/accounts/{account.id}")
    assert again.status_code == 409
    assert error_code(again) == "invalid_transition"
    refused = api.post(
        f"/accounts/{account.id}/transactions", json={"value": 1, "settle": True, "installments": 1}
    )
    assert error_code(refused) == "account_closed"


def test_change_limit_writes_a_credit_entry(api, session, make_account, fresh):
    account = make_account(limit="100")
    response = api.put(f"/accounts/{account.id}/creditlimit", json={"value": 250.75})
    assert response.status_code == 200
    assert response.get_json()["creditLimit"] == 250.75
    assert response.get_json()["balance"] == 0 and response.get_json()["availableCredit"] == 250.75
    fresh()
    entry = session.scalars(select(StatementEntry).order_by(StatementEntry.id.desc())).first()
    assert (entry.origin, entry.value, entry.description) == ("Credit", Decimal("150.75"), "API")
    bad = api.put(f"/accounts/{account.id}/creditlimit", json={"value": -5})
    assert (bad.status_code, error_code(bad)) == (400, "invalid_amount")


def test_change_tolerance(api, make_account):
    account = make_account()
    response = api.put(f"/accounts/{account.id}/tolerance", json={"value": 0.25})
    assert response.status_code == 200
    assert response.get_json()["tolerance"] == 0.25
    assert api.put(f"/accounts/{account.id}/tolerance", json={"value": "x"}).status_code == 400
    assert api.put("/accounts/000_CPF/tolerance", json={"value": 0.1}).status_code == 404


def test_statements(api, make_account, purchase, session):
    account = make_account(limit="1000")
    hold = purchase(account, "300", term="30/60")
    invoice = credit.get_invoice(session, account.id, f"{hold.id}-01")
    credit.pay_invoice(session, account.id, invoice.id, actor="someone@example.com")
    body = api.get(f"/accounts/{account.id}/statements").get_json()
    origins = [s["origin"] for s in body["statements"]]
    assert origins == ["Invoice", "Invoice", "Payment"]  # the opening limit is not listed
    assert sum(Decimal(str(s["value"])) for s in body["statements"]) == -150
    assert (body["currentBalance"], body["intervalBalance"], body["previousBalance"]) == (
        -150,
        -150,
        0,
    )
    first_invoice = body["statements"][0]
    assert first_invoice["metadata"] == {
        "transactionId": hold.id,
        "orderId": None,
        "numberOfInstallments": 2,
        "invoiceId": f"{hold.id}-01",
    }
    assert body["statements"][2]["metadata"] == {
        "transactionId": hold.id,
        "installment": 1,
        "invoiceId": f"{hold.id}-01",
    }
    assert body["statements"][2]["doneBy"] == "someone@example.com"
    assert all(s["date"].endswith("Z") for s in body["statements"])


def test_statements_date_window(api, make_account, session):
    account = make_account(limit="1000")
    credit.adjust_balance(session, account.id, "-40", actor="t", reason="fee")
    body = api.get(f"/accounts/{account.id}/statements?from=2999-01-01").get_json()
    assert body["statements"] == []
    assert (body["previousBalance"], body["intervalBalance"], body["currentBalance"]) == (
        -40,
        0,
        -40,
    )
    body = api.get(f"/accounts/{account.id}/statements?to=2000-01-01").get_json()
    assert body["statements"] == [] and body["intervalBalance"] == 0
    bad = api.get(f"/accounts/{account.id}/statements?from=yesterday")
    assert (bad.status_code, error_code(bad)) == (400, "invalid_filter")
    assert api.get("/accounts/000_CPF/statements").status_code == 404


def test_decrease_balance(api, session, make_account, fresh):
    account = make_account(limit="1000")
    response = api.put(f"/accounts/{account.id}/statements/ERP-1", json={"value": "-15.0"})
    assert response.status_code == 200
    assert response.get_json() == {"value": "-15.00"}
    # The statement id makes the PUT idempotent: a retry writes nothing more.
    again = api.put(f"/accounts/{account.id}/statements/ERP-1", json={"value": "-15.0"})
    assert again.get_json() == {"value": "-15.00"}
    assert again.headers["Idempotent-Replayed"] == "true"
    other = api.put(f"/accounts/{account.id}/statements/ERP-1", json={"value": "-20"})
    assert (other.status_code, error_code(other)) == (422, "idempotency_key_reused")
    fresh()
    assert credit.get_account(session, account.id).balance == Decimal("985.00")
    count = session.scalar(select(func.count()).where(StatementEntry.origin == "Statement"))
    assert count == 1
    zero = api.put(f"/accounts/{account.id}/statements/ERP-2", json={"value": "0"})
    assert (zero.status_code, error_code(zero)) == (400, "invalid_amount")


def test_holders(api, session, make_account, fresh):
    account = make_account()
    response = api.post(
        f"/accounts/{account.id}/holders", json={"claims": {"email": "Kid@Example.com"}}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["level"], body["claims"]) == (2, {"email": "kid@example.com"})
    assert body["createdAt"].endswith("Z")
    duplicate = api.post(
        f"/accounts/{account.id}/holders", json={"claims": {"email": "kid@example.com"}}
    )
    assert (duplicate.status_code, error_code(duplicate)) == (409, "duplicate_holder")
    bad = api.post(f"/accounts/{account.id}/holders", json={"claims": "kid"})
    assert bad.status_code == 400
    removed = api.delete(f"/accounts/{account.id}/holders/{body['id']}")
    assert (removed.status_code, removed.get_json()) == (200, {"id": body["id"]})
    assert api.delete(f"/accounts/{account.id}/holders/{body['id']}").status_code == 404
    fresh()
    main = session.scalar(select(Holder.id).where(Holder.account_id == account.id))
    refused = api.delete(f"/accounts/{account.id}/holders/{main}")
    assert (refused.status_code, error_code(refused)) == (409, "main_holder")


def test_search_accounts(api, make_account):
    accounts = [make_account(limit=str(100 * (i + 1))) for i in range(5)]
    api.delete(f"/accounts/{accounts[0].id}")
    body = api.get("/accounts").get_json()
    assert body["summary"] == {"count": 4}  # closed accounts only when asked for
    assert [a["id"] for a in body["data"]] == [a.id for a in accounts[1:]]
    closed = api.get("/accounts?status=Closed").get_json()
    assert [a["id"] for a in closed["data"]] == [accounts[0].id]
    page = api.get("/accounts?from=2&to=3&sort=-creditLimit").get_json()
    assert [a["creditLimit"] for a in page["data"]] == [400, 300]
    assert page["summary"]["count"] == 4
    by_email = api.get(f"/accounts?email={accounts[2].email.upper()}").get_json()
    assert [a["id"] for a in by_email["data"]] == [accounts[2].id]
    assert api.get("/accounts?from=0").status_code == 400
    assert api.get("/accounts?from=3&to=2").status_code == 400
    assert error_code(api.get("/accounts?status=Paid")) == "invalid_filter"
