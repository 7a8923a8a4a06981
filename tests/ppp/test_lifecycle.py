"""Settlements, cancellations and refunds of a payment, each idempotent on its requestId."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal import credit
from portal.models import IdempotencyRecord, Invoice, PreAuthorization, Refund


@pytest.fixture
def approved(ppp, make_account):
    """An approved payment of 300 in 3 installments on a 1000 account: (account, paymentId)."""
    account = make_account(limit="1000")
    response = ppp.pay(account, 300.0, payment_id="PAY-300", installments=3)
    assert response.get_json()["status"] == "approved", response.data
    return account, "PAY-300"


def _invoices(session):
    return list(session.scalars(select(Invoice).order_by(Invoice.id)))


def _settlement_records(session) -> int:
    """Settlements kept per requestId (each payment also keeps its request's fingerprint)."""
    return session.scalar(
        select(func.count())
        .select_from(IdempotencyRecord)
        .where(IdempotencyRecord.client == "ppp:settlements")
    )


def test_settlement_issues_one_invoice_per_installment(ppp, session, approved, fresh):
    account, payment_id = approved
    response = ppp.settle(payment_id, 300.0, request_id="REQ-1")
    assert response.status_code == 200, response.data
    assert response.get_json() == {
        "paymentId": payment_id,
        "settleId": payment_id,
        "value": 300.0,
        "code": None,
        "message": "Successfully settled",
        "requestId": "REQ-1",
    }
    assert b'"value":300.00' in response.data  # money written exactly
    fresh()
    invoices = _invoices(session)
    assert [i.id for i in invoices] == ["PAY-300-01", "PAY-300-02", "PAY-300-03"]
    assert sum(i.value for i in invoices) == Decimal("300.00")
    assert {i.order_id for i in invoices} == {"ORDER-PAY-300"}
    account = credit.get_account(session, account.id)
    assert (account.pre_authorized, account.balance) == (Decimal("0.00"), Decimal("700.00"))
    assert credit.find_breaches(session) == []


def test_settlement_retry_creates_no_more_invoices(ppp, session, approved, fresh):
    _, payment_id = approved
    first = ppp.settle(payment_id, 300.0, request_id="REQ-1")
    lowered = ppp.settle(payment_id, 250.0, request_id="REQ-2")  # a later, lower settlement
    retry = ppp.settle(payment_id, 300.0, request_id="REQ-1")  # the first one, delivered late
    assert first.status_code == lowered.status_code == retry.status_code == 200
    assert retry.data == first.data
    assert lowered.get_json()["value"] == 250.0
    fresh()
    assert len(_invoices(session)) == 3
    assert sum(i.value for i in _invoices(session)) == Decimal("250.00")
    assert session.get(PreAuthorization, payment_id).settled_value == Decimal("250.00")
    assert _settlement_records(session) == 2
    assert credit.find_breaches(session) == []


def test_request_id_reused_for_another_value_is_409(ppp, session, approved, fresh):
    _, payment_id = approved
    ppp.settle(payment_id, 300.0, request_id="REQ-1")
    reused = ppp.settle(payment_id, 100.0, request_id="REQ-1")
    assert reused.status_code == 409
    assert reused.get_json() == {
        "paymentId": payment_id,
        "settleId": None,
        "value": 0,
        "code": "request_id_reused",
        "message": reused.get_json()["message"],
        "requestId": "REQ-1",
    }
    fresh()
    assert sum(i.value for i in _invoices(session)) == Decimal("300.00")


def test_settlement_refusals(ppp, session, approved, fresh):
    _, payment_id = approved
    unknown = ppp.settle("NOPE", 10.0)
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "payment_not_found"
    assert unknown.get_json()["settleId"] is None
    no_request_id = ppp.post(f"/payments/{payment_id}/settlements", {"value": 10.0})
    assert no_request_id.status_code == 400
    assert no_request_id.get_json()["code"] == "invalid_request_id"
    zero = ppp.settle(payment_id, 0)
    assert (zero.status_code, zero.get_json()["code"]) == (400, "invalid_amount")
    too_much = ppp.settle(payment_id, 5000.0, request_id="BIG")  # 300 + the 10 % growth cap
    assert (too_much.status_code, too_much.get_json()["code"]) == (409, "growth_exceeded")
    assert too_much.get_json()["requestId"] == "BIG"
    above_cap = ppp.settle(payment_id, 330.01, request_id="CAP")
    assert (above_cap.status_code, above_cap.get_json()["code"]) == (409, "growth_exceeded")
    ppp.cancel(payment_id)
    cancelled = ppp.settle(payment_id, 300.0, request_id="LATE")
    assert (cancelled.status_code, cancelled.get_json()["code"]) == (409, "invalid_transition")
    fresh()
    assert _invoices(session) == []
    assert _settlement_records(session) == 0


def test_cancellation_releases_the_hold_and_is_idempotent(ppp, session, approved, fresh):
    account, payment_id = approved
    response = ppp.cancel(payment_id, request_id="C-1")
    assert response.status_code == 200, response.data
    assert response.get_json() == {
        "paymentId": payment_id,
        "cancellationId": payment_id,
        "code": None,
        "message": "Successfully cancelled",
        "requestId": "C-1",
    }
    again = ppp.cancel(payment_id, request_id="C-2")
    assert again.status_code == 200 and again.get_json()["cancellationId"] == payment_id
    fresh()
    assert session.get(PreAuthorization, payment_id).status == "Cancelled"
    assert credit.get_account(session, account.id).pre_authorized == Decimal("0.00")
    assert credit.find_breaches(session) == []


def test_settled_payment_cannot_be_cancelled(ppp, session, approved, fresh):
    _, payment_id = approved
    ppp.settle(payment_id, 300.0)
    response = ppp.cancel(payment_id, request_id="C-1")
    assert response.status_code == 409
    assert response.get_json() == {
        "paymentId": payment_id,
        "cancellationId": None,
        "code": "invalid_transition",
        "message": response.get_json()["message"],
        "requestId": "C-1",
    }
    fresh()
    assert session.get(PreAuthorization, payment_id).status == "Settled"
    unknown = ppp.cancel("NOPE")
    assert unknown.status_code == 404 and unknown.get_json()["cancellationId"] is None


def test_refund_gives_back_and_is_idempotent_on_request_id(ppp, session, approved, fresh):
    account, payment_id = approved
    ppp.settle(payment_id, 300.0)
    response = ppp.refund(payment_id, 120.0, request_id="R-1")
    assert response.status_code == 200, response.data
    assert response.get_json() == {
        "paymentId": payment_id,
        "refundId": "R-1",
        "value": 120.0,
        "code": None,
        "message": "Successfully refunded",
        "requestId": "R-1",
    }
    assert ppp.refund(payment_id, 120.0, request_id="R-1").data == response.data
    fresh()
    assert session.scalar(select(func.count()).select_from(Refund)) == 1
    assert credit.get_account(session, account.id).balance == Decimal("820.00")
    more = ppp.refund(payment_id, 200.0, request_id="R-2")
    assert (more.status_code, more.get_json()["code"]) == (409, "refund_exceeds_settled")
    assert more.get_json()["refundId"] is None and more.get_json()["value"] == 0
    reused = ppp.refund(payment_id, 10.0, request_id="R-1")
    assert (reused.status_code, reused.get_json()["code"]) == (409, "duplicate_refund")
    fresh()
    assert credit.find_breaches(session) == []


def test_refund_refusals(ppp, approved):
    _, payment_id = approved
    not_settled = ppp.refund(payment_id, 10.0)
    assert (not_settled.status_code, not_settled.get_json()["code"]) == (409, "invalid_transition")
    assert ppp.refund("NOPE", 10.0).status_code == 404
    bad = ppp.refund(payment_id, "ten")
    assert (bad.status_code, bad.get_json()["code"]) == (400, "invalid_amount")
    assert ppp.post(f"/payments/{payment_id}/refunds", [1]).status_code == 400


@pytest.mark.parametrize("payment_id", ["x" * 300, "%00", "caf%C3%A9"])
def test_odd_payment_ids_in_the_path_are_404(ppp, payment_id):
    response = ppp.post(f"/payments/{payment_id}/settlements", {"requestId": "R", "value": 1.0})
    assert response.status_code == 404 and response.is_json
