"""Invoices over HTTP: search with summary, read, change, cancel, pay, postpone."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from portal import credit

from .conftest import error_code

INVOICE_FIELDS = {
    "id",
    "friendlyId",
    "status",
    "value",
    "accountId",
    "creditValue",
    "createdAt",
    "updatedAt",
    "originalDueDate",
    "dueDate",
    "installment",
    "orderId",
    "transactionId",
    "numberOfInstallments",
    "creditAccountId",
}


def due_day(text: str) -> date:
    """The calendar day of a due date the API wrote (a date-time) in the store's timezone."""
    return datetime.fromisoformat(text).astimezone(ZoneInfo("America/Sao_Paulo")).date()


@pytest.fixture
def bought(make_account, purchase):
    """An account with one purchase of 300 in three installments: (account, hold)."""
    account = make_account(limit="1000")
    return account, purchase(account, "300", term="30/60/90", order_id="ORDER-1")


def test_get_invoice(api, bought):
    account, hold = bought
    response = api.get(f"/accounts/{account.id}/invoices/{hold.id}-02")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= INVOICE_FIELDS
    assert (
        body["status"],
        body["value"],
        body["installment"],
        body["numberOfInstallments"],
        body["transactionId"],
        body["orderId"],
        body["creditValue"],
    ) == ("Opened", 100, 2, 3, hold.id, "ORDER-1", 0)
    assert body["accountId"] == body["creditAccountId"] == account.id
    assert due_day(body["dueDate"]) > date.today() + timedelta(days=55)


def test_invoice_of_another_account_is_404(api, bought, make_account):
    _, hold = bought
    other = make_account()
    response = api.get(f"/accounts/{other.id}/invoices/{hold.id}-01")
    assert (response.status_code, error_code(response)) == (404, "invoice_not_found")


def test_search_summary_covers_the_whole_filtered_set(api, session, bought, purchase):
    account, hold = bought
    credit.pay_invoice(session, account.id, f"{hold.id}-01", actor="t")
    credit.cancel_invoice(session, account.id, f"{hold.id}-02", actor="t")
    purchase(account, "50.25")
    body = api.get(f"/invoices?creditAccountId={account.id}&from=1&to=1").get_json()
    assert len(body["data"]) == 1
    assert body["summary"] == {
        "count": 4,
        "total": 150.25,
        "totalPaid": 100,
        "totalCancelled": 100,
        "totalOverdue": 0,
        "countOverdue": 0,
    }
    assert b'"total":150.25' in api.get(f"/invoices?creditAccountId={account.id}").data


def test_search_filters(api, session, bought):
    account, hold = bought
    credit.pay_invoice(session, account.id, f"{hold.id}-01", actor="t")
    credit.change_invoice(
        session, account.id, f"{hold.id}-03", actor="t", observation="Call the buyer"
    )
    friendly = credit.get_invoice(session, account.id, f"{hold.id}-02").friendly_id

    def ids(query):
        response = api.get(f"/invoices?creditAccountId={account.id}&{query}")
        assert response.status_code == 200, response.data
        return [i["id"] for i in response.get_json()["data"]]

    assert ids("status=Paid") == [f"{hold.id}-01"]
    assert ids("status=Opened&sort=-dueDate") == [f"{hold.id}-03", f"{hold.id}-02"]
    assert ids(f"friendlyId={friendly}-2") == [f"{hold.id}-02"]
    assert ids("observation=call") == [f"{hold.id}-03"]
    assert ids("value=100.00&status=Cancelled") == []
    assert len(ids("value=100&status=Paid&op=or")) == 3
    today = date.today()
    assert ids(f"dueDateFrom={today + timedelta(days=80)}") == [f"{hold.id}-03"]
    assert len(ids(f"createdDateFrom={today - timedelta(days=1)}&createdDateTo={today}")) == 3
    assert ids(f"createdDateTo={today - timedelta(days=1)}") == []
    for bad in (
        "status=Late",
        "value=abc",
        "dueDateFrom=31/01/2024",
        "from=x",
        "createdDateTo=9999-12-31",
        "createdDateFrom=0001-01-01T00:00:00-05:00",
        "value=NaN",
        "value=1e999999",
    ):
        response = api.get(f"/invoices?creditAccountId={account.id}&{bad}")
        assert response.status_code == 400, bad


def test_account_invoices(api, bought, make_account, purchase):
    account, hold = bought
    purchase(make_account(), "10")
    body = api.get(f"/accounts/{account.id}/invoices").get_json()
    assert [i["id"] for i in body["data"]] == [f"{hold.id}-0{n}" for n in (1, 2, 3)]
    assert body["summary"] == {
        "count": 3,
        "total": 300,
        "totalPaid": 0,
        "totalCancelled": 0,
        "totalOverdue": 0,
        "countOverdue": 0,
    }
    assert api.get("/accounts/000_CPF/invoices").status_code == 404


def test_change_invoice(api, session, bought, fresh):
    account, hold = bought
    url = f"/accounts/{account.id}/invoices/{hold.id}-01"
    response = api.put(
        url,
        json={
            "status": "Paid",
            "observation": "paid by wire",
            "paymentLink": "https://pay.example.com/1",
        },
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["observation"], body["paymentLink"]) == (
        "Paid",
        "paid by wire",
        "https://pay.example.com/1",
    )
    assert body["resolvedAt"].endswith("Z")
    assert api.put(url, json={"status": "Cancelled"}).get_json()["status"] == "Cancelled"
    assert api.put(url, json={"status": "Opened"}).get_json()["status"] == "Opened"
    fresh()
    assert credit.get_account(session, account.id).balance == Decimal("700.00")
    bad = api.put(url, json={"status": "Late"})
    assert (bad.status_code, error_code(bad)) == (400, "invalid_status")
    link = api.put(url, json={"status": "Opened", "paymentLink": "ftp://x"})
    assert (link.status_code, error_code(link)) == (400, "invalid_payment_link")


def test_cancel_invoice(api, session, bought, fresh):
    account, hold = bought
    url = f"/accounts/{account.id}/invoices/{hold.id}-01"
    response = api.delete(url)
    assert (response.status_code, response.get_json()["status"]) == (200, "Cancelled")
    again = api.delete(url)
    assert (again.status_code, error_code(again)) == (409, "invalid_transition")
    fresh()
    assert credit.get_account(session, account.id).balance == Decimal("800.00")


def test_pay_invoice_in_full_and_in_part(api, session, bought, fresh):
    account, hold = bought
    url = f"/accounts/{account.id}/invoices/{hold.id}-01/payments"
    part = api.post(url, json={"value": 40})
    assert part.status_code == 200
    assert (part.get_json()["status"], part.get_json()["remaining"]) == ("Opened", 60)
    over = api.post(url, json={"value": 60.01})
    assert (over.status_code, error_code(over)) == (400, "overpayment")
    rest = api.post(url)  # no body: pay what remains
    assert rest.get_json()["status"] == "Paid"
    paid = api.post(url)
    assert (paid.status_code, error_code(paid)) == (409, "invalid_transition")
    fresh()
    assert credit.get_account(session, account.id).balance == Decimal("800.00")
    missing = api.post(f"/accounts/{account.id}/invoices/NOPE-01/payments")
    assert (missing.status_code, error_code(missing)) == (404, "invoice_not_found")


def test_postpone_invoice(api, bought, settings):
    account, hold = bought
    url = f"/accounts/{account.id}/invoices/{hold.id}-01/postponement"
    disabled = api.put(url, json={"dueDays": 5})
    assert (disabled.status_code, error_code(disabled)) == (409, "postponement_disabled")
    settings(postponement_enabled=True, postponement_limit=1, max_postponement_days=10)
    before = api.get(f"/accounts/{account.id}/invoices/{hold.id}-01").get_json()
    response = api.put(url, json={"dueDays": 5})
    assert response.status_code == 200
    body = response.get_json()
    assert due_day(body["dueDate"]) == due_day(before["dueDate"]) + timedelta(days=5)
    assert body["originalDueDate"] == before["originalDueDate"]
    again = api.put(url, json={"dueDays": 5})
    assert (again.status_code, error_code(again)) == (409, "postponement_limit")
    bad = api.put(
        f"/accounts/{account.id}/invoices/{hold.id}-02/postponement", json={"dueDays": 2.5}
    )
    assert (bad.status_code, error_code(bad)) == (400, "invalid_days")
