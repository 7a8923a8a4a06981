"""Invoices: pay, partial pay, cancel, reopen, postpone, annotate."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal import credit
from portal.models import Invoice, StatementEntry


@pytest.fixture
def invoice(session, make_account, purchase):
    account = make_account(limit="1000")
    purchase(account, "100")
    return session.scalars(select(Invoice)).one()


def _origins(session, invoice):
    return [
        (e.origin, e.value)
        for e in session.scalars(
            select(StatementEntry)
            .where(StatementEntry.invoice_id == invoice.id)
            .order_by(StatementEntry.id)
        )
    ]


def test_pay_in_full_restores_credit(session, invoice):
    credit.pay_invoice(session, invoice.account_id, invoice.id, actor="t")
    assert invoice.status == "Paid" and invoice.resolved_at is not None
    assert invoice.account.balance == Decimal("1000.00")
    assert _origins(session, invoice) == [
        ("Invoice", Decimal("-100.00")),
        ("Payment", Decimal("100.00")),
    ]


def test_partial_payments_keep_it_open(session, invoice):
    credit.pay_invoice(session, invoice.account_id, invoice.id, "30", actor="t")
    assert (invoice.status, invoice.remaining) == ("Opened", Decimal("70.00"))
    with pytest.raises(credit.InvalidInput) as error:
        credit.pay_invoice(session, invoice.account_id, invoice.id, "70.01", actor="t")
    assert error.value.code == "overpayment"
    credit.pay_invoice(session, invoice.account_id, invoice.id, "70", actor="t")
    assert invoice.status == "Paid"
    assert credit.find_breaches(session) == []


def test_payment_is_idempotent_on_payment_id(session, invoice):
    credit.pay_invoice(session, invoice.account_id, invoice.id, "10", actor="t", payment_id="P1")
    credit.pay_invoice(session, invoice.account_id, invoice.id, "10", actor="t", payment_id="P1")
    assert invoice.paid_amount == Decimal("10.00")
    with pytest.raises(credit.Conflict) as error:
        credit.pay_invoice(
            session, invoice.account_id, invoice.id, "11", actor="t", payment_id="P1"
        )
    assert error.value.code == "duplicate_payment"


def test_cancel_restores_what_was_still_open(session, invoice):
    credit.pay_invoice(session, invoice.account_id, invoice.id, "40", actor="t")
    credit.cancel_invoice(session, invoice.account_id, invoice.id, actor="t")
    assert invoice.status == "Cancelled" and invoice.account.balance == Decimal("1000.00")
    with pytest.raises(credit.Conflict) as error:
        credit.pay_invoice(session, invoice.account_id, invoice.id, actor="t")
    assert error.value.code == "invalid_transition"
    with pytest.raises(credit.Conflict):
        credit.cancel_invoice(session, invoice.account_id, invoice.id, actor="t")
    assert credit.find_breaches(session) == []


def test_reopen_paid_and_cancelled(session, invoice):
    credit.pay_invoice(session, invoice.account_id, invoice.id, actor="t")
    credit.reopen_invoice(session, invoice.account_id, invoice.id, actor="t")
    assert (invoice.status, invoice.remaining) == ("Opened", Decimal("100.00"))
    assert invoice.account.balance == Decimal("900.00")
    with pytest.raises(credit.Conflict):
        credit.reopen_invoice(session, invoice.account_id, invoice.id, actor="t")
    credit.cancel_invoice(session, invoice.account_id, invoice.id, actor="t")
    credit.reopen_invoice(session, invoice.account_id, invoice.id, actor="t")
    assert invoice.account.balance == Decimal("900.00")
    assert credit.find_breaches(session) == []


def test_change_invoice_paid_to_cancelled_goes_through_opened(session, invoice):
    credit.change_invoice(
        session,
        invoice.account_id,
        invoice.id,
        actor="t",
        status="Paid",
        observation="paid by PIX",
        payment_link="https://pay.example/1",
    )
    credit.change_invoice(session, invoice.account_id, invoice.id, actor="t", status="Cancelled")
    assert invoice.status == "Cancelled" and invoice.observation == "paid by PIX"
    assert [o for o, _ in _origins(session, invoice)] == [
        "Invoice",
        "Payment",
        "Reopen",
        "Cancellation",
    ]
    with pytest.raises(credit.InvalidInput):
        credit.change_invoice(session, invoice.account_id, invoice.id, actor="t", status="Late")
    with pytest.raises(credit.InvalidInput):
        credit.change_invoice(
            session, invoice.account_id, invoice.id, actor="t", payment_link="javascript:alert(1)"
        )


def test_postpone_follows_store_policy(session, invoice, settings):
    with pytest.raises(credit.Conflict) as error:
        credit.postpone_invoice(session, invoice.account_id, invoice.id, 5, actor="t")
    assert error.value.code == "postponement_disabled"
    settings(postponement_enabled=True, postponement_limit=1, max_postponement_days=10)
    with pytest.raises(credit.Conflict) as error:
        credit.postpone_invoice(session, invoice.account_id, invoice.id, 11, actor="t")
    assert error.value.code == "postponement_too_long"
    with pytest.raises(credit.InvalidInput):
        credit.postpone_invoice(session, invoice.account_id, invoice.id, "2.5", actor="t")
    due = invoice.due_date
    credit.postpone_invoice(session, invoice.account_id, invoice.id, 10, actor="t")
    assert invoice.due_date == due + timedelta(days=10) and invoice.original_due_date == due
    with pytest.raises(credit.Conflict) as error:
        credit.postpone_invoice(session, invoice.account_id, invoice.id, 1, actor="t")
    assert error.value.code == "postponement_limit"


def test_invoice_of_another_account_is_not_found(session, invoice, make_account):
    other = make_account()
    with pytest.raises(credit.NotFound) as error:
        credit.pay_invoice(session, other.id, invoice.id, actor="t")
    assert error.value.code == "invoice_not_found"


def test_amount_due_adds_late_fee_and_daily_interest(session, invoice, settings):
    store = settings(late_fee_rate="0.02", daily_interest_rate="0.001")
    today = date(2026, 1, 31)
    invoice.due_date = date(2026, 1, 21)
    assert credit.is_overdue(invoice, today)
    assert credit.amount_due(invoice, store, today) == Decimal("103.00")  # 100 × (1+.02+.01)
    assert credit.amount_due(invoice, store, date(2026, 1, 21)) == Decimal("100.00")
