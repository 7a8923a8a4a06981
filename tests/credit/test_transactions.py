"""Pre-authorizations, settlement, settled-value changes and refunds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal import credit
from portal.models import Invoice, PreAuthorization, StatementEntry


def _snapshot(session, account):
    session.expire_all()
    entries = session.scalar(select(func.count()).select_from(StatementEntry))
    holds = session.scalar(select(func.count()).select_from(PreAuthorization))
    invoices = session.scalar(select(func.count()).select_from(Invoice))
    fresh = credit.get_account(session, account.id)
    return (fresh.balance, fresh.pre_authorized, entries, holds, invoices)


def test_authorize_holds_credit_without_ledger_entry(session, make_account):
    account = make_account(limit="1000")
    hold = credit.authorize(session, account.id, "250.50", actor="t", transaction_id="T1")
    assert (hold.status, hold.value, hold.installments, hold.payment_term) == (
        "Authorized",
        Decimal("250.50"),
        1,
        "30",
    )
    assert account.balance == Decimal("1000.00")
    assert account.pre_authorized == Decimal("250.50")
    assert account.available_credit == Decimal("749.50")


def test_insufficient_credit_is_refused_and_changes_nothing(session, make_account):
    account = make_account(limit="100")
    credit.authorize(session, account.id, "60", actor="t")
    before = _snapshot(session, account)
    with pytest.raises(credit.Conflict) as error:
        credit.authorize(session, account.id, "40.01", actor="t")
    assert error.value.code == "insufficient_credit"
    assert _snapshot(session, account) == before
    credit.authorize(session, account.id, "40.00", actor="t")  # exactly the rest is fine


def test_tolerance_only_counts_when_store_enables_it(session, make_account, settings):
    account = make_account(limit="100", tolerance="0.2")
    with pytest.raises(credit.Conflict):
        credit.authorize(session, account.id, "110", actor="t")
    settings(tolerance_enabled=True)
    credit.authorize(session, account.id, "120", actor="t")
    with pytest.raises(credit.Conflict):
        credit.authorize(session, account.id, "0.01", actor="t")


def test_closed_account_authorizes_nothing(session, make_account):
    account = make_account()
    credit.close_account(session, account.id, actor="t", reason="closed for the test")
    with pytest.raises(credit.Conflict) as error:
        credit.authorize(session, account.id, "1", actor="t")
    assert error.value.code == "account_closed"


def test_account_on_hold_until_hold_lifted(session, make_account, purchase, settings):
    settings(overdue_hold_days=10)
    account = make_account(limit="1000")
    purchase(account, "100")
    invoice = session.scalars(select(Invoice)).one()
    invoice.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=11)
    session.commit()
    assert credit.is_on_hold(session, account)
    with pytest.raises(credit.Conflict) as error:
        credit.authorize(session, account.id, "1", actor="t")
    assert error.value.code == "account_on_hold"
    with pytest.raises(credit.InvalidInput):
        credit.lift_hold(session, account.id, actor="owner", reason="")
    credit.lift_hold(session, account.id, actor="owner", reason="promised to pay")
    assert not credit.is_on_hold(session, account)
    credit.authorize(session, account.id, "1", actor="t")
    with pytest.raises(credit.Conflict) as error:
        credit.lift_hold(session, account.id, actor="owner", reason="again")
    assert error.value.code == "not_on_hold"


def test_paying_the_overdue_invoice_releases_the_hold(session, make_account, purchase, settings):
    settings(overdue_hold_days=0)
    account = make_account(limit="1000")
    purchase(account, "100")
    invoice = session.scalars(select(Invoice)).one()
    invoice.due_date = invoice.due_date - timedelta(days=60)
    session.commit()
    assert credit.is_on_hold(session, account)
    credit.pay_invoice(session, account.id, invoice.id, actor="t")
    assert not credit.is_on_hold(session, account)


def test_dependent_cap(session, make_account, purchase):
    account = make_account(limit="1000")
    credit.add_holder(session, account.id, "kid@example.com", actor="t", spending_cap="100")
    purchase(account, "60", holder_email="kid@example.com")
    before = _snapshot(session, account)
    with pytest.raises(credit.Conflict) as error:
        credit.authorize(session, account.id, "40.01", actor="t", holder_email="kid@example.com")
    assert error.value.code == "dependent_cap_exceeded"
    assert _snapshot(session, account) == before
    credit.authorize(session, account.id, "40", actor="t", holder_email="kid@example.com")
    credit.authorize(session, account.id, "500", actor="t")  # the main holder is not capped
    with pytest.raises(credit.Conflict) as error:
        credit.authorize(session, account.id, "1", actor="t", holder_email="stranger@example.com")
    assert error.value.code == "not_a_holder"


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.001", "", None, "Infinity", True])
def test_bad_amounts_are_refused(session, make_account, value):
    account = make_account()
    before = _snapshot(session, account)
    with pytest.raises(credit.InvalidInput) as error:
        credit.authorize(session, account.id, value, actor="t")
    assert error.value.code == "invalid_amount"
    assert _snapshot(session, account) == before


@pytest.mark.parametrize(
    ("installments", "term"),
    [
        (0, None),
        (25, None),
        ("x", None),
        (2, "30/60/90"),
        (None, "60/30"),
        (None, "30//60"),
        (None, "abc"),
    ],
)
def test_bad_installments_and_terms(session, make_account, installments, term):
    account = make_account()
    with pytest.raises(credit.InvalidInput):
        credit.authorize(
            session, account.id, "10", actor="t", installments=installments, payment_term=term
        )


def test_authorize_is_idempotent_on_transaction_id(session, make_account):
    account = make_account(limit="100")
    first = credit.authorize(session, account.id, "30", actor="t", transaction_id="ORDER-1")
    again = credit.authorize(session, account.id, "30", actor="t", transaction_id="ORDER-1")
    assert again.id == first.id and account.pre_authorized == Decimal("30.00")
    with pytest.raises(credit.Conflict) as error:
        credit.authorize(session, account.id, "31", actor="t", transaction_id="ORDER-1")
    assert error.value.code == "duplicate_transaction"
    other = credit.open_account(
        session,
        document="11144477735",
        document_type="CPF",
        email="o@example.com",
        credit_limit="100",
        actor="t",
    )
    with pytest.raises(credit.Conflict):
        credit.authorize(session, other.id, "30", actor="t", transaction_id="ORDER-1")


def test_update_authorization_rechecks_and_caps_growth(session, make_account, settings):
    settings(max_pre_authorization_growth_rate="0.1")
    account = make_account(limit="200")
    hold = credit.authorize(session, account.id, "100", actor="t")
    with pytest.raises(credit.Conflict) as error:
        credit.update_authorization(session, account.id, hold.id, "110.01", actor="t")
    assert error.value.code == "growth_exceeded"
    credit.update_authorization(session, account.id, hold.id, "110", actor="t")
    assert account.pre_authorized == Decimal("110.00")
    credit.authorize(session, account.id, "90", actor="t")
    credit.update_authorization(session, account.id, hold.id, "50", actor="t")
    assert account.pre_authorized == Decimal("140.00")
    with pytest.raises(credit.Conflict) as error:
        credit.update_authorization(session, account.id, hold.id, "110.01", actor="t")
    assert error.value.code == "growth_exceeded"


def test_update_authorization_insufficient(session, make_account, settings):
    settings(max_pre_authorization_growth_rate="1")
    account = make_account(limit="150")
    hold = credit.authorize(session, account.id, "100", actor="t")
    with pytest.raises(credit.Conflict) as error:
        credit.update_authorization(session, account.id, hold.id, "150.01", actor="t")
    assert error.value.code in ("insufficient_credit", "growth_exceeded")
    credit.update_authorization(session, account.id, hold.id, "150", actor="t")


def test_cancel_releases_hold_once(session, make_account):
    account = make_account(limit="100")
    hold = credit.authorize(session, account.id, "30", actor="t")
    credit.cancel_authorization(session, account.id, hold.id, actor="t")
    credit.cancel_authorization(session, account.id, hold.id, actor="t")  # retry: no change
    assert account.pre_authorized == Decimal("0.00") and hold.status == "Cancelled"
    with pytest.raises(credit.Conflict):
        credit.settle(session, account.id, hold.id, "30", actor="t")
    with pytest.raises(credit.Conflict):
        credit.update_authorization(session, account.id, hold.id, "10", actor="t")


def test_expire_only_lapsed_holds(session, make_account):
    account = make_account(limit="100")
    today = credit.store_today(credit.get_settings(session))
    old = credit.authorize(
        session,
        account.id,
        "10",
        actor="t",
        settle=False,
        expiration_date=today,
    )
    old.expiration_date = today - timedelta(days=1)  # time passes
    session.commit()
    fresh = credit.authorize(session, account.id, "20", actor="t", settle=False)
    assert fresh.expiration_date == today + timedelta(days=30)
    assert credit.expire_authorizations(session) == 1
    assert (old.status, fresh.status) == ("Expired", "Authorized")
    assert account.pre_authorized == Decimal("20.00")


def test_settle_issues_one_invoice_per_installment(session, make_account):
    account = make_account(limit="1000")
    hold = credit.authorize(
        session,
        account.id,
        "100.00",
        actor="t",
        transaction_id="ABC",
        payment_term="30/60/90",
        order_id="ORD-9",
    )
    credit.settle(session, account.id, "ABC", "100.00", actor="t")
    invoices = session.scalars(select(Invoice).order_by(Invoice.installment)).all()
    today = credit.store_today(credit.get_settings(session))
    assert [
        (i.id, i.value, i.due_date, i.installment, i.number_of_installments, i.order_id)
        for i in invoices
    ] == [
        ("ABC-01", Decimal("33.34"), today + timedelta(days=30), 1, 3, "ORD-9"),
        ("ABC-02", Decimal("33.33"), today + timedelta(days=60), 2, 3, "ORD-9"),
        ("ABC-03", Decimal("33.33"), today + timedelta(days=90), 3, 3, "ORD-9"),
    ]
    assert all(len(i.friendly_id) == 8 and i.friendly_id.isdigit() for i in invoices)
    assert len({i.friendly_id for i in invoices}) == 3
    assert (hold.status, account.pre_authorized, account.balance) == (
        "Settled",
        Decimal("0.00"),
        Decimal("900.00"),
    )
    credit.settle(session, account.id, "ABC", "100.00", actor="t")  # retry: nothing new
    assert session.scalar(select(func.count()).select_from(Invoice)) == 3
    assert credit.find_breaches(session) == []


def test_settle_for_more_than_held_is_rechecked(session, make_account):
    account = make_account(limit="54")
    hold = credit.authorize(session, account.id, "50", actor="t")
    with pytest.raises(credit.Conflict) as error:  # within the 10 % growth cap, not the credit
        credit.settle(session, account.id, hold.id, "55.00", actor="t")
    assert error.value.code == "insufficient_credit"
    credit.settle(session, account.id, hold.id, "54.00", actor="t")
    assert account.balance == Decimal("0.00")


@pytest.mark.parametrize("value", ["55.01", "2500"])
def test_settle_never_exceeds_the_growth_cap(session, make_account, value):
    account = make_account(limit="100000")
    hold = credit.authorize(session, account.id, "50", actor="t")
    with pytest.raises(credit.Conflict) as error:
        credit.settle(session, account.id, hold.id, value, actor="t")
    assert error.value.code == "growth_exceeded"
    credit.settle(session, account.id, hold.id, "55.00", actor="t")  # 50 + 10 %
    with pytest.raises(credit.Conflict) as error:  # nor when changing the settled value
        credit.settle(session, account.id, hold.id, value, actor="t")
    assert error.value.code == "growth_exceeded"
    assert account.balance == Decimal("99945.00")


def test_lower_settled_value_shrinks_latest_invoices_first(session, make_account, purchase):
    account = make_account(limit="1000")
    hold = purchase(account, "90", term="30/60/90")
    credit.settle(session, account.id, hold.id, "50", actor="t")
    values = session.scalars(select(Invoice.value).order_by(Invoice.installment)).all()
    assert values == [Decimal("30.00"), Decimal("20.00"), Decimal("0.00")]
    statuses = session.scalars(select(Invoice.status).order_by(Invoice.installment)).all()
    assert statuses == ["Opened", "Opened", "Cancelled"]
    assert account.balance == Decimal("950.00")
    assert credit.find_breaches(session) == []


def test_higher_settled_value_issues_new_invoice(session, make_account, purchase):
    account = make_account(limit="1000")
    hold = purchase(account, "90", term="30/60")
    credit.settle(session, account.id, hold.id, "95", actor="t")
    invoices = session.scalars(select(Invoice).order_by(Invoice.installment)).all()
    assert [(i.id, i.value) for i in invoices][-1] == (f"{hold.id}-03", Decimal("5.00"))
    assert account.balance == Decimal("905.00")
    credit.change_limit(session, account.id, "50", actor="t", reason="lowered")
    with pytest.raises(credit.Conflict) as error:
        credit.settle(session, account.id, hold.id, "99", actor="t")  # within the cap
    assert error.value.code == "insufficient_credit"
    assert credit.find_breaches(session) == []


def test_refund_partial_total_and_beyond(session, make_account, purchase):
    account = make_account(limit="1000")
    hold = purchase(account, "100", term="30/60")
    first_invoice = session.get(Invoice, f"{hold.id}-01")
    credit.pay_invoice(session, account.id, first_invoice.id, actor="t")
    credit.refund(session, account.id, hold.id, "30", actor="t", refund_id="R1")
    assert session.get(Invoice, f"{hold.id}-02").value == Decimal("20.00")
    again = credit.refund(session, account.id, hold.id, "30", actor="t", refund_id="R1")
    assert again.id == "R1" and account.balance == Decimal("980.00")
    with pytest.raises(credit.Conflict) as error:
        credit.refund(session, account.id, hold.id, "70.01", actor="t")
    assert error.value.code == "refund_exceeds_settled"
    credit.refund(session, account.id, hold.id, "70", actor="t")  # 20 shrinks, 50 credited
    assert session.get(Invoice, f"{hold.id}-02").status == "Cancelled"
    assert account.balance == Decimal("1050.00")
    with pytest.raises(credit.Conflict):
        credit.refund(session, account.id, hold.id, "0.01", actor="t")
    assert credit.find_breaches(session) == []


def test_refund_requires_settled(session, make_account):
    account = make_account()
    hold = credit.authorize(session, account.id, "10", actor="t")
    with pytest.raises(credit.Conflict) as error:
        credit.refund(session, account.id, hold.id, "10", actor="t")
    assert error.value.code == "invalid_transition"


def test_settle_due_authorizations_after_business_days(session, make_account, settings):
    settings(settle_after_business_days=5)
    account = make_account()
    hold = credit.authorize(session, account.id, "10", actor="t")
    assert credit.settle_due_authorizations(session) == 0
    hold.created_at = hold.created_at - timedelta(days=15)
    session.commit()
    assert credit.settle_due_authorizations(session) == 1
    assert hold.status == "Settled"


def test_business_days_skip_weekends_and_holidays():
    from datetime import date

    from portal.credit.settings import add_business_days

    # Fri 2026-04-17; Tue 04-21 is Tiradentes (a Brazilian holiday).
    assert add_business_days(date(2026, 4, 17), 2, "BR") == date(2026, 4, 22)
    assert add_business_days(date(2026, 4, 17), 2, "US") == date(2026, 4, 21)


def test_installment_plan_and_purchase_refusal(session, make_account, settings):
    account = make_account(limit="100")
    today = credit.store_today(credit.get_settings(session))
    assert credit.installment_plan(session, "100", "30/60/90") == [
        (1, Decimal("33.34"), today + timedelta(days=30)),
        (2, Decimal("33.33"), today + timedelta(days=60)),
        (3, Decimal("33.33"), today + timedelta(days=90)),
    ]
    assert credit.purchase_refusal(session, account.id, "100") is None
    assert credit.purchase_refusal(session, account.id, "100.01").code == "insufficient_credit"
    assert credit.purchase_refusal(session, account.id, "x").code == "invalid_amount"
    assert credit.purchase_refusal(session, "nope", "1").code == "account_not_found"
    credit.add_holder(session, account.id, "kid@example.com", actor="t", spending_cap="10")
    assert (
        credit.purchase_refusal(session, account.id, "11", holder_email="kid@example.com").code
        == "dependent_cap_exceeded"
    )
    assert credit.purchase_refusal(session, account.id, "11", holder_email=account.email) is None
    credit.close_account(session, account.id, actor="t", reason="closed for the test")
    assert credit.purchase_refusal(session, account.id, "1").code == "account_closed"


@pytest.mark.parametrize("raw", ["1e40", "1e99999999", "NaN", "-1e-30", "0.000000001"])
def test_absurd_numbers_are_refused_quickly(session, make_account, raw):
    account = make_account()
    with pytest.raises(credit.InvalidInput):
        credit.authorize(session, account.id, raw, actor="t")
    with pytest.raises(credit.InvalidInput):
        credit.authorize(session, account.id, "1", actor="t", installments=raw)
    with pytest.raises(credit.InvalidInput):
        credit.update_settings(session, {"postponement_limit": raw}, "t")


def test_expiration_in_the_past_is_refused(session, make_account):
    account = make_account()
    yesterday = credit.store_today(credit.get_settings(session)) - timedelta(days=1)
    with pytest.raises(credit.InvalidInput) as error:
        credit.authorize(
            session, account.id, "1", actor="t", settle=False, expiration_date=yesterday
        )
    assert error.value.code == "invalid_expiration_date"


def test_dependent_cap_sums_are_exact_to_the_cent(session, make_account):
    # On SQLite, SUM(NUMERIC) is a binary float: 0.10 + 0.20 = 0.30000000000000004.
    account = make_account(limit="1000")
    credit.add_holder(session, account.id, "kid@example.com", actor="t", spending_cap="100")
    for value in ("0.10", "0.20"):
        credit.authorize(session, account.id, value, actor="t", holder_email="kid@example.com")
    credit.authorize(session, account.id, "99.70", actor="t", holder_email="kid@example.com")
    assert credit.spending_cap(session, account.id, "kid@example.com").left == Decimal("0.00")
