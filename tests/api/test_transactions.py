"""Pre-authorizations over HTTP: create, create with id, update, cancel, settle, refund."""

from decimal import Decimal

from sqlalchemy import func, select

from portal import credit
from portal.models import Invoice, PreAuthorization, Refund

from .conftest import error_code


def _hold(api, account, value, **extra):
    return api.post(
        f"/accounts/{account.id}/transactions",
        json={"value": value, "settle": True, "installments": 1, **extra},
    )


def test_create_pre_authorization(api, session, make_account, fresh):
    account = make_account(limit="1000")
    response = _hold(api, account, 49.7, installments=3, orderId="ORD-9")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["value"], body["installments"], body["status"]) == (49.7, 3, "Authorized")
    assert "expirationDate" not in body
    fresh()
    hold = session.get(PreAuthorization, body["id"])
    assert (hold.payment_term, hold.order_id, hold.done_by) == ("30/60/90", "ORD-9", "apikey:test")
    assert credit.get_account(session, account.id).pre_authorized == Decimal("49.70")


def test_settle_false_gets_an_expiration_date(api, make_account):
    account = make_account()
    response = api.post(
        f"/accounts/{account.id}/transactions",
        json={
            "value": 10,
            "settle": False,
            "installments": 1,
            "expirationDate": "2030-11-25T00:00:00",
        },
    )
    # A date-time without a zone is read for its date part; the day is written back as its
    # start in the store's timezone (America/Sao_Paulo by default), in UTC.
    assert response.get_json()["expirationDate"] == "2030-11-25T03:00:00Z"
    bad = api.post(
        f"/accounts/{account.id}/transactions",
        json={"value": 10, "settle": False, "installments": 1, "expirationDate": "soon"},
    )
    assert (bad.status_code, error_code(bad)) == (400, "invalid_date")


def test_insufficient_credit_is_409(api, make_account):
    account = make_account(limit="100")
    response = _hold(api, account, 100.01)
    assert (response.status_code, error_code(response)) == (409, "insufficient_credit")
    assert _hold(api, account, 100).status_code == 200


def test_unknown_account_is_404(api):
    response = api.post(
        "/accounts/000_CPF/transactions", json={"value": 1, "settle": True, "installments": 1}
    )
    assert (response.status_code, error_code(response)) == (404, "account_not_found")


def test_put_creates_with_the_given_id_then_updates_the_value(
    api, session, make_account, settings, fresh
):
    settings(max_pre_authorization_growth_rate="0.1")
    account = make_account(limit="1000")
    url = f"/accounts/{account.id}/transactions/TX-1"
    created = api.put(url, json={"value": 50, "settle": True, "installments": 2})
    assert (created.status_code, created.get_json()["id"]) == (200, "TX-1")
    updated = api.put(url, json={"value": 55, "settle": True, "installments": 2})
    assert updated.get_json()["value"] == 55
    too_much = api.put(url, json={"value": 56, "settle": True, "installments": 2})
    assert (too_much.status_code, error_code(too_much)) == (409, "growth_exceeded")
    fresh()
    assert credit.get_account(session, account.id).pre_authorized == Decimal("55.00")
    bad_id = api.put(
        f"/accounts/{account.id}/transactions/bad id!",
        json={"value": 5, "settle": True, "installments": 1},
    )
    assert (bad_id.status_code, error_code(bad_id)) == (400, "invalid_transaction_id")


def test_cancel_pre_authorization(api, session, make_account, fresh):
    account = make_account(limit="100")
    tid = _hold(api, account, 60).get_json()["id"]
    response = api.delete(f"/accounts/{account.id}/transactions/{tid}")
    assert (response.status_code, response.get_json()["status"]) == (200, "Cancelled")
    fresh()
    assert credit.get_account(session, account.id).pre_authorized == 0
    assert api.delete(f"/accounts/{account.id}/transactions/NOPE").status_code == 404


def test_settle_issues_invoices(api, session, make_account, fresh):
    account = make_account(limit="1000")
    tid = _hold(api, account, 100, installments=3).get_json()["id"]
    response = api.put(f"/accounts/{account.id}/transactions/{tid}/settlement", json={"value": 100})
    assert response.status_code == 200
    assert response.get_json() == {"value": 100, "id": tid, "status": "Settled"}
    fresh()
    values = session.scalars(
        select(Invoice.value).where(Invoice.transaction_id == tid).order_by(Invoice.installment)
    ).all()
    assert values == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    cancel = api.delete(f"/accounts/{account.id}/transactions/{tid}")
    assert (cancel.status_code, error_code(cancel)) == (409, "invalid_transition")
    missing = api.put(f"/accounts/{account.id}/transactions/NOPE/settlement", json={"value": 1})
    assert (missing.status_code, error_code(missing)) == (404, "transaction_not_found")
    bad = api.put(f"/accounts/{account.id}/transactions/{tid}/settlement", json={"value": 0})
    assert (bad.status_code, error_code(bad)) == (400, "invalid_amount")


def test_refund(api, session, make_account, purchase, fresh):
    account = make_account(limit="1000")
    hold = purchase(account, "100")
    url = f"/accounts/{account.id}/transactions/{hold.id}/refunds"
    response = api.post(url, json={"value": 30}, headers={"Idempotency-Key": "RF-1"})
    assert response.status_code == 200
    assert (response.get_json()["value"], response.get_json()["id"]) == (30, "RF-1")
    too_much = api.post(url, json={"value": 70.01})
    assert (too_much.status_code, error_code(too_much)) == (409, "refund_exceeds_settled")
    fresh()
    assert credit.get_account(session, account.id).balance == Decimal("930.00")
    assert session.scalar(select(func.count()).select_from(Refund)) == 1
    unsettled = _hold(api, account, 5).get_json()["id"]
    refused = api.post(
        f"/accounts/{account.id}/transactions/{unsettled}/refunds", json={"value": 1}
    )
    assert (refused.status_code, error_code(refused)) == (409, "invalid_transition")
