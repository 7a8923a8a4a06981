"""Interest per installment: pricing, the hold that remembers it, settle, refunds.

The portal's own checkout prices an order on a term (monthly compound rate); values that
arrive from outside (API, PPP) are never charged interest again.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal import credit, people
from portal.credit.interest import price_installments, scale_installments
from portal.credit.money import split
from portal.models import Invoice, PreAuthorization

from ..ppp.conftest import payment_body

D = Decimal
CENT = D("0.01")

# 0.01 to 1,000,000.00; terms of 1 to 24 increasing due days (the term syntax: 0–999);
# monthly rates of 0 to 10 % with up to 4 decimals of the ratio (as the store saves them).
values = st.integers(min_value=1, max_value=100_000_000).map(lambda cents: D(cents) / 100)
offsets = st.lists(
    st.integers(min_value=1, max_value=999), min_size=1, max_size=24, unique=True
).map(sorted)
rates = st.integers(min_value=0, max_value=1000).map(lambda r: D(r) / 10000)


def _fits(days: list[int]) -> list[int]:
    """The first due days of a term that fit the 64 characters a stored term holds."""
    while len("/".join(map(str, days))) > 64:
        days = days[:-1]
    return days


stored_terms = offsets.map(_fits)


def _invoices(session, hold_id: str) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice)
            .where(Invoice.transaction_id == hold_id)
            .order_by(Invoice.installment)
            .execution_options(populate_existing=True)
        )
    )


def _priced_hold(session, account, principal="1000.00", term="30/60/90", rate="0.02", **kw):
    """What the checkout does: price on the term, authorize the total with its installments."""
    credit.save_term(session, term, "test", interest_rate=rate)
    priced = credit.price_order(session, principal, term)
    hold = credit.authorize(
        session,
        account.id,
        priced.total,
        actor="test",
        payment_term=term,
        installment_values=priced.values,
        **kw,
    )
    return hold, priced


# --- the formula -----------------------------------------------------------------------------


def test_the_worked_example_of_the_readme():
    # R$ 1.000,00 on 30/60/90 at 2 % a month: principals 333.34 / 333.33 / 333.33
    assert split(D("1000.00"), 3) == [D("333.34"), D("333.33"), D("333.33")]
    installments = price_installments(D("1000.00"), [30, 60, 90], D("0.02"))
    assert installments == [D("340.01"), D("346.80"), D("353.73")]
    assert sum(installments) == D("1040.54")
    # Whole months are exact powers: 333.34 × 1.02 = 340.0068, 333.33 × 1.02² = 346.796532,
    # 333.33 × 1.02³ = 353.73246264 — rounded half up to the cent.
    exact = [
        Fraction("333.34") * Fraction("1.02"),
        Fraction("333.33") * Fraction("1.02") ** 2,
        Fraction("333.33") * Fraction("1.02") ** 3,
    ]
    half_up = [Fraction(int(x * 100 + Fraction(1, 2)), 100) for x in exact]
    assert [Fraction(v) for v in installments] == half_up


@pytest.mark.parametrize(
    ("principal", "days", "rate", "expected"),
    [
        ("1000.00", [30], "0.01", ["1010.00"]),
        ("1000.00", [15], "0.02", ["1009.95"]),  # half a month: 1000 × √1.02 = 1009.9504…
        ("0.01", [30], "0.1", ["0.01"]),  # 0.011 rounds back to the cent
        ("0.05", [30], "0.1", ["0.06"]),  # 0.055: half up
        ("100.00", [30, 60], "0", ["50.00", "50.00"]),
        ("0.10", [1, 2, 3], "0.1", ["0.04", "0.03", "0.03"]),
    ],
)
def test_small_cases(principal, days, rate, expected):
    assert price_installments(D(principal), days, D(rate)) == [D(x) for x in expected]


@given(value=values, days=offsets, rate=rates)
def test_priced_installments_properties(value, days, rate):
    principals = split(value, len(days))
    installments = price_installments(value, days, rate)
    assert len(installments) == len(days)
    assert max(principals) - min(principals) <= CENT  # equal principals to the cent…
    assert principals == sorted(principals, reverse=True)  # …leftover cents first
    assert sum(principals) == value
    for installment, principal, d in zip(installments, principals, days, strict=True):
        assert installment == installment.quantize(CENT)
        assert installment >= principal
        # the formula, checked against floating point (off by at most half a cent)
        assert abs(float(installment) - float(principal) * (1 + float(rate)) ** (d / 30)) <= (
            0.005 + 1e-6
        )
    assert sum(installments) >= value
    if rate == 0:
        assert installments == split(value, len(days))


@given(value=values, days=offsets, rate=rates, data=st.data())
def test_rescaled_installments_sum_exactly_and_keep_their_shares(value, days, rate, data):
    installments = price_installments(value, days, rate)
    if sum(installments) < len(days) * CENT or min(installments) == 0:
        return  # a value too small for this many installments is refused before pricing
    cents = data.draw(st.integers(min_value=len(days), max_value=200_000_000))
    amount = D(cents) / 100
    parts = scale_installments(installments, amount)
    assert sum(parts) == amount and len(parts) == len(installments)
    assert all(part >= CENT for part in parts)
    total = sum(installments)
    shares = [Fraction(v) * Fraction(amount) / Fraction(total) for v in installments]
    off = [abs(Fraction(p) - s) for p, s in zip(parts, shares, strict=True)]
    if all(s >= Fraction(1, 100) for s in shares):
        assert max(off) < Fraction(1, 100)  # largest remainder: under a cent from its share
    if amount == total:
        assert parts == installments


def test_rescaling_ties_go_to_the_earliest_and_no_part_is_zero():
    installments = [D("340.01"), D("346.80"), D("353.73")]
    assert scale_installments(installments, D("520.27")) == [D("170.01"), D("173.40"), D("176.86")]
    assert scale_installments([D("0.01"), D("0.10")], D("0.02")) == [D("0.01"), D("0.01")]


# --- the store's terms and the checkout's price ------------------------------------------------


def test_price_order_uses_the_rate_of_the_term(session):
    credit.save_term(session, "30/60/90", "test", interest_rate="0.02")
    credit.save_term(session, "30", "test")
    today = credit.store_today(credit.get_settings(session))
    priced = credit.price_order(session, "1000", "30/60/90")
    assert priced.installments == [
        (1, D("340.01"), today + timedelta(days=30)),
        (2, D("346.80"), today + timedelta(days=60)),
        (3, D("353.73"), today + timedelta(days=90)),
    ]
    assert (priced.total, priced.interest, priced.monthly_rate) == (
        D("1040.54"),
        D("40.54"),
        D("0.02"),
    )
    assert priced.charges_interest and priced.count == 3
    plain = credit.price_order(session, "1000", "30")
    assert (plain.total, plain.interest, plain.charges_interest) == (D("1000.00"), 0, False)
    # a term the store does not list (or no longer offers) carries no interest
    assert credit.price_order(session, "1000", "30/60").total == D("1000.00")
    term = next(t for t in credit.active_terms(session) if t.days == "30/60/90")
    credit.remove_term(session, term.id, "test")
    assert credit.price_order(session, "1000", "30/60/90").total == D("1000.00")


# --- the hold and its settlement -----------------------------------------------------------------


def test_the_hold_covers_the_total_and_settles_into_exactly_the_installments(session, make_account):
    account = make_account(limit="2000")
    hold, priced = _priced_hold(session, account)
    assert hold.value == hold.original_value == D("1040.54")
    assert hold.installment_values == ["340.01", "346.80", "353.73"]
    assert credit.get_account(session, account.id).pre_authorized == D("1040.54")
    assert credit.settlement_plan(session, hold) == priced.installments
    credit.settle(session, account.id, hold.id, actor="test")
    invoices = _invoices(session, hold.id)
    assert [(i.installment, i.value, i.due_date) for i in invoices] == priced.installments
    assert hold.settled_value == sum(i.value for i in invoices) == D("1040.54")
    assert credit.get_account(session, account.id).balance == D("2000.00") - D("1040.54")
    assert credit.find_breaches(session) == []


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    principal=st.integers(min_value=100, max_value=10_000_000).map(lambda c: D(c) / 100),
    days=stored_terms,
    rate=rates,
)
def test_settled_invoices_sum_to_the_hold(session, make_account, principal, days, rate):
    term = "/".join(str(d) for d in days)
    account = make_account(limit="10000000")
    hold, priced = _priced_hold(session, account, principal, term, rate)
    assert hold.value == priced.total == sum(priced.values)
    credit.settle(session, account.id, hold.id, actor="test")
    invoices = _invoices(session, hold.id)
    assert [i.value for i in invoices] == priced.values
    assert sum(i.value for i in invoices) == hold.settled_value == hold.value
    assert credit.find_breaches(session) == []


def test_a_partial_settle_rescales_the_installments(session, make_account):
    account = make_account(limit="2000")
    hold, _ = _priced_hold(session, account)
    credit.settle(session, account.id, hold.id, "520.27", actor="test")
    invoices = _invoices(session, hold.id)
    assert [i.value for i in invoices] == [D("170.01"), D("173.40"), D("176.86")]
    assert hold.settled_value == D("520.27")
    assert credit.get_account(session, account.id).pre_authorized == 0
    assert credit.find_breaches(session) == []


def test_a_changed_hold_settles_its_installments_rescaled(session, make_account, settings):
    settings(max_pre_authorization_growth_rate="0.1")
    account = make_account(limit="5000")
    hold, _ = _priced_hold(session, account)
    credit.update_authorization(session, account.id, hold.id, "1100", actor="test")
    assert credit.settlement_plan(session, hold)[0][1] == D("359.44")
    credit.settle(session, account.id, hold.id, actor="test")
    values = [i.value for i in _invoices(session, hold.id)]
    assert values == [D("359.44"), D("366.62"), D("373.94")] and sum(values) == D("1100.00")
    assert credit.find_breaches(session) == []


def test_refunds_shrink_the_latest_due_installments_first(session, make_account):
    account = make_account(limit="2000")
    hold, _ = _priced_hold(session, account)
    credit.settle(session, account.id, hold.id, actor="test")
    credit.refund(session, account.id, hold.id, "400", actor="test")
    invoices = _invoices(session, hold.id)
    assert [(i.value, i.status) for i in invoices] == [
        (D("340.01"), "Opened"),
        (D("300.53"), "Opened"),  # 346.80 − (400 − 353.73)
        (D("0.00"), "Cancelled"),
    ]
    assert credit.get_account(session, account.id).balance == D("2000.00") - D("640.54")
    assert credit.find_breaches(session) == []


def test_a_retry_must_bring_the_same_installments(session, make_account):
    account = make_account(limit="5000")
    hold, priced = _priced_hold(session, account, transaction_id="ORDER-1")
    again = credit.authorize(
        session,
        account.id,
        priced.total,
        actor="test",
        payment_term="30/60/90",
        installment_values=priced.values,
        transaction_id="ORDER-1",
    )
    assert again.id == hold.id
    with pytest.raises(credit.Conflict) as refused:
        credit.authorize(
            session,
            account.id,
            priced.total,
            actor="test",
            payment_term="30/60/90",
            installment_values=["340.00", "346.81", "353.73"],
            transaction_id="ORDER-1",
        )
    assert refused.value.code == "duplicate_transaction"


@pytest.mark.parametrize(
    "installments",
    [["340.01", "346.80"], ["340.01", "346.80", "353.74"], ["0", "686.81", "353.73"]],
)
def test_installments_must_fit_the_term_and_sum_to_the_value(session, make_account, installments):
    account = make_account(limit="5000")
    with pytest.raises(credit.InvalidInput):
        credit.authorize(
            session,
            account.id,
            "1040.54",
            actor="test",
            payment_term="30/60/90",
            installment_values=installments,
        )
    assert session.scalar(select(PreAuthorization)) is None


# --- values from outside are never charged interest ------------------------------------------


def _headers(session, scope: str) -> dict[str, str]:
    key, token = people.create_api_key(session, "outside", [scope], actor="test")
    return {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}


def test_an_api_authorization_is_not_charged_interest(client, session, make_account):
    credit.save_term(session, "30/60/90", "test", interest_rate="0.02")
    account = make_account(limit="2000")
    headers = _headers(session, "transactions:write")
    base = f"/api/creditcontrol/accounts/{account.id}/transactions"
    body = {"value": 1000, "settle": True, "paymentTerm": "30/60/90"}
    created = client.post(base, json=body, headers=headers)
    assert created.status_code == 200, created.data
    tid = created.get_json()["id"]
    settled = client.put(f"{base}/{tid}/settlement", json={"value": 1000}, headers=headers)
    assert settled.status_code == 200, settled.data
    session.rollback()
    hold = session.get(PreAuthorization, tid)
    assert (hold.value, hold.installment_values) == (D("1000.00"), None)
    assert [i.value for i in _invoices(session, tid)] == [D("333.34"), D("333.33"), D("333.33")]
    assert credit.find_breaches(session) == []


def test_a_ppp_payment_is_not_charged_interest(client, session, make_account):
    credit.save_term(session, "30/60/90", "test", interest_rate="0.02")
    account = make_account(limit="2000")
    headers = _headers(session, "transactions:write")
    body = payment_body(account, 1000.0, payment_id="PAYINTEREST1", installments=3)
    assert client.post("/ppp/payments", json=body, headers=headers).get_json()["status"] == (
        "approved"
    )
    settle = {
        "transactionId": "TX-PAYINTEREST1",
        "requestId": "SETTLE-1",
        "paymentId": "PAYINTEREST1",
        "value": 1000.0,
        "authorizationId": "PAYINTEREST1",
    }
    response = client.post("/ppp/payments/PAYINTEREST1/settlements", json=settle, headers=headers)
    assert response.status_code == 200, response.data
    session.rollback()
    hold = session.get(PreAuthorization, "PAYINTEREST1")
    assert (hold.payment_term, hold.installment_values) == ("30/60/90", None)
    invoices = _invoices(session, "PAYINTEREST1")
    assert [i.value for i in invoices] == [D("333.34"), D("333.33"), D("333.33")]
    assert sum(i.value for i in invoices) == hold.settled_value == D("1000.00")
