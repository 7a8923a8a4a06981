"""Bulk invoice operations: the plan counts what the change does, the change is
all-or-nothing, and the row actions offered are exactly those the engine accepts."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal import credit, listing
from portal.credit.invoice_bulk import MAX_BULK
from portal.models import Invoice, StatementEntry


@pytest.fixture
def two_accounts(session, make_account, purchase):
    first, second = make_account(limit="1000"), make_account(limit="1000")
    purchase(first, "300", term="30/60/90")
    purchase(second, "100", term="30/60")
    return first, second


def _all(session):
    return select(Invoice)


def _entries(session) -> int:
    return session.scalar(select(func.count()).select_from(StatementEntry))


def test_plan_counts_and_sums_what_is_still_open(session, two_accounts):
    first, _second = two_accounts
    invoice = session.scalars(select(Invoice).where(Invoice.account_id == first.id)).first()
    credit.pay_invoice(session, first.id, invoice.id, "40", actor="t")
    plan = credit.plan_bulk(session, _all(session), "pay")
    assert (plan.count, plan.open_amount, plan.allowed) == (5, Decimal("360.00"), True)


def test_plan_names_the_invoices_that_block_it(session, two_accounts):
    first, _second = two_accounts
    invoice = session.scalars(select(Invoice).where(Invoice.account_id == first.id)).first()
    credit.cancel_invoice(session, first.id, invoice.id, actor="t")
    plan = credit.plan_bulk(session, _all(session), "pay")
    assert not plan.allowed and plan.blocked_count == 1
    assert plan.blocked == ((invoice.friendly_id, "Cancelled"),)
    assert credit.plan_bulk(session, _all(session), "observation").allowed


def test_apply_pays_across_accounts_in_one_transaction(session, two_accounts):
    first, second = two_accounts
    query = listing.parse(listing.INVOICES, {"status": "Opened"})
    selection = listing.where(listing.INVOICES, query)
    result = credit.apply_bulk(
        session, selection, "pay", actor="t", expected_count="5", expected_amount="400.00"
    )
    assert (result.count, result.open_amount) == (5, Decimal("400.00"))
    assert credit.get_account(session, first.id).balance == Decimal("1000.00")
    assert credit.get_account(session, second.id).balance == Decimal("1000.00")
    assert credit.find_breaches(session) == []


def test_one_refusal_changes_nothing(session, two_accounts):
    first, second = two_accounts
    last = session.scalars(select(Invoice).order_by(Invoice.account_id.desc(), Invoice.id.desc()))
    blocker = last.first()
    credit.pay_invoice(session, blocker.account_id, blocker.id, actor="t")
    entries, balances = _entries(session), [first.balance, second.balance]
    with pytest.raises(
        credit.Conflict, match=f"Invoice {blocker.friendly_id}: The invoice is Paid"
    ):
        credit.apply_bulk(session, _all(session), "cancel", actor="t")
    session.expire_all()
    assert _entries(session) == entries
    assert [credit.get_account(session, a.id).balance for a in (first, second)] == balances
    assert session.scalar(select(func.count()).where(Invoice.status == "Cancelled")) == 0


@pytest.mark.parametrize(
    ("expected_count", "expected_amount", "code"),
    [("4", "400.00", "selection_changed"), ("5", "399.99", "selection_changed")],
)
def test_a_changed_selection_is_refused(
    session, two_accounts, expected_count, expected_amount, code
):
    with pytest.raises(credit.Conflict) as refused:
        credit.apply_bulk(
            session,
            _all(session),
            "pay",
            actor="t",
            expected_count=expected_count,
            expected_amount=expected_amount,
        )
    assert refused.value.code == code
    assert session.scalar(select(func.count()).where(Invoice.status == "Paid")) == 0


def test_bad_requests(session, two_accounts):
    with pytest.raises(credit.InvalidInput, match="Choose a bulk action"):
        credit.plan_bulk(session, _all(session), "delete")
    with pytest.raises(credit.InvalidInput, match="No invoice is selected"):
        credit.apply_bulk(session, _all(session).where(Invoice.id == "none"), "pay", actor="t")
    with pytest.raises(credit.InvalidInput, match="too long"):
        credit.apply_bulk(session, _all(session), "observation", actor="t", observation="x" * 1001)
    assert MAX_BULK >= 1000


def _attempt(session, invoice, action) -> bool:
    """Whether the engine accepts the row action on the invoice (rolled back either way)."""
    args = (session, invoice.account_id, invoice.id)
    operations = {
        "pay": lambda: credit.pay_invoice(*args, actor="t"),
        "cancel": lambda: credit.cancel_invoice(*args, actor="t"),
        "reopen": lambda: credit.reopen_invoice(*args, actor="t"),
        "postpone": lambda: credit.postpone_invoice(*args, 1, actor="t"),
        "annotate": lambda: credit.annotate_invoice(*args, actor="t", observation="x"),
    }
    try:
        with credit.ledger.write_transaction(session):
            operations[action]()
            raise _Undo
    except _Undo:
        return True
    except credit.CreditError:
        return False


class _Undo(Exception):
    pass


@pytest.mark.parametrize("state", ["open", "part-paid", "paid", "cancelled", "postponed-max"])
@pytest.mark.parametrize("postponing", [True, False])
def test_offered_actions_are_exactly_those_the_engine_accepts(
    session, two_accounts, settings, state, postponing
):
    first, _second = two_accounts
    store = settings(postponement_enabled=True, postponement_limit=1)
    invoice = session.scalars(select(Invoice).where(Invoice.account_id == first.id)).first()
    args = (session, first.id, invoice.id)
    if state == "part-paid":
        credit.pay_invoice(*args, "10", actor="t")
    elif state == "paid":
        credit.pay_invoice(*args, actor="t")
    elif state == "cancelled":
        credit.cancel_invoice(*args, actor="t")
    elif state == "postponed-max":
        credit.postpone_invoice(*args, 1, actor="t")
    store = settings(postponement_enabled=postponing)
    session.refresh(invoice)
    offered = credit.allowed_actions(invoice, store)
    accepted = {
        action
        for action in ("pay", "cancel", "reopen", "postpone", "annotate")
        if _attempt(session, invoice, action)
    }
    assert offered == accepted
