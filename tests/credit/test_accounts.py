"""Accounts, limits, tolerance, holders: rules and refusals."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal import credit
from portal.models import Account, AuditEvent, Holder, StatementEntry
from tests.conftest import VALID_CPFS


def _counts(session):
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Account, Holder, StatementEntry, AuditEvent)
    )


def test_open_account_writes_credit_entry_and_main_holder(session, make_account):
    account = make_account(limit="1500.00", tolerance="0.2", email="Buyer+Tag_1.x@Example.COM")
    assert account.email == "buyer+tag_1.x@example.com"
    assert account.balance == Decimal("1500.00")
    assert account.id == f"{account.document}_CPF"
    entries = session.scalars(select(StatementEntry).where(StatementEntry.account_id == account.id))
    assert [(e.origin, e.value) for e in entries] == [("Credit", Decimal("1500.00"))]
    assert [(h.email, h.level) for h in account.holders] == [(account.email, 1)]


def test_open_account_accepts_formatted_cnpj(session):
    account = credit.open_account(
        session,
        document="11.222.333/0001-81",
        document_type="cnpj",
        email="co@example.com",
        credit_limit="10",
        actor="t",
    )
    assert (account.document, account.document_type) == ("11222333000181", "CNPJ")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"document": "52998224724"}, "invalid_document"),  # wrong check digit
        ({"document": "111.111.111-11"}, "invalid_document"),
        ({"document": "", "document_type": "CNPJ"}, "invalid_document"),
        ({"document_type": "RG"}, "invalid_document_type"),
        ({"email": "not-an-email"}, "invalid_email"),
        ({"credit_limit": "-1"}, "invalid_amount"),
        ({"credit_limit": "abc"}, "invalid_amount"),
        ({"credit_limit": "10.005"}, "invalid_amount"),
        ({"credit_limit": "NaN"}, "invalid_amount"),
        ({"tolerance": "-0.1"}, "invalid_rate"),
    ],
)
def test_open_account_refuses_bad_input_and_writes_nothing(session, changes, code):
    before = _counts(session)
    data = {
        "document": VALID_CPFS[0],
        "document_type": "CPF",
        "email": "a@example.com",
        "credit_limit": "100",
        "tolerance": "0",
    } | changes
    with pytest.raises(credit.InvalidInput) as error:
        credit.open_account(session, actor="t", **data)
    assert error.value.code == code
    assert _counts(session) == before


def test_duplicate_document_and_email_are_refused(session, make_account):
    account = make_account(email="dup@example.com")
    before = _counts(session)
    with pytest.raises(credit.Conflict) as error:
        credit.open_account(
            session,
            document=account.document,
            document_type="CPF",
            email="other@example.com",
            credit_limit="1",
            actor="t",
        )
    assert error.value.code == "duplicate_document"
    with pytest.raises(credit.Conflict) as error:
        credit.open_account(
            session,
            document=VALID_CPFS[1],
            document_type="CPF",
            email="DUP@example.com",
            credit_limit="1",
            actor="t",
        )
    assert error.value.code == "duplicate_email"
    assert _counts(session) == before


def test_change_limit_requires_reason_and_posts_difference(session, make_account):
    account = make_account(limit="1000")
    with pytest.raises(credit.InvalidInput) as error:
        credit.change_limit(session, account.id, "2000", actor="t", reason="  ")
    assert error.value.code == "reason_required"
    credit.change_limit(session, account.id, "400", actor="owner@x", reason="risk review")
    assert account.credit_limit == Decimal("400.00") and account.balance == Decimal("400.00")
    last = session.scalars(select(StatementEntry).order_by(StatementEntry.id.desc())).first()
    assert (last.origin, last.value, last.done_by) == ("Credit", Decimal("-600.00"), "owner@x")
    audit = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "account.change_limit")
    ).one()
    assert audit.reason == "risk review" and audit.details == {"old": "1000.00", "new": "400.00"}


def test_limit_below_debt_makes_balance_negative(session, make_account, purchase):
    account = make_account(limit="1000")
    purchase(account, "800")
    credit.change_limit(session, account.id, "500", actor="t", reason="cut")
    assert account.balance == Decimal("-300.00")
    assert credit.find_breaches(session) == []


def test_change_tolerance_requires_reason(session, make_account):
    account = make_account()
    with pytest.raises(credit.InvalidInput):
        credit.change_tolerance(session, account.id, "0.3", actor="t", reason="")
    credit.change_tolerance(session, account.id, "0.3", actor="t", reason="good payer")
    assert account.tolerance == Decimal("0.3")


def test_close_and_reopen(session, make_account):
    account = make_account()
    credit.close_account(session, account.id, actor="t", reason="closed for the test")
    with pytest.raises(credit.Conflict) as error:
        credit.close_account(session, account.id, actor="t", reason="closed for the test")
    assert error.value.code == "invalid_transition"
    credit.reopen_account(session, account.id, actor="t")
    assert account.status == "Open"
    with pytest.raises(credit.Conflict):
        credit.reopen_account(session, account.id, actor="t")


def test_unknown_account_is_not_found(session):
    with pytest.raises(credit.NotFound) as error:
        credit.change_limit(session, "nope_CPF", "1", actor="t", reason="x")
    assert error.value.code == "account_not_found"


def test_holders_add_cap_remove(session, make_account):
    account = make_account()
    holder = credit.add_holder(session, account.id, "Kid@Example.com", actor="t", spending_cap="50")
    assert (holder.email, holder.level, holder.spending_cap) == (
        "kid@example.com",
        2,
        Decimal("50.00"),
    )
    with pytest.raises(credit.Conflict) as error:
        credit.add_holder(session, account.id, "kid@example.com", actor="t")
    assert error.value.code == "duplicate_holder"
    credit.set_holder_cap(session, account.id, holder.id, None, actor="t")
    assert holder.spending_cap is None
    main = next(h for h in account.holders if h.level == 1)
    with pytest.raises(credit.Conflict) as error:
        credit.remove_holder(session, account.id, main.id, actor="t")
    assert error.value.code == "main_holder"
    credit.remove_holder(session, account.id, holder.id, actor="t")
    with pytest.raises(credit.NotFound):
        credit.remove_holder(session, account.id, holder.id, actor="t")


def test_update_account_email_moves_main_holder(session, make_account):
    account = make_account(email="old@example.com")
    other = make_account(email="taken@example.com")
    with pytest.raises(credit.Conflict) as error:
        credit.update_account(session, account.id, email=other.email, actor="t")
    assert error.value.code == "duplicate_email"
    credit.update_account(session, account.id, email="New@example.com", name="ACME", actor="t")
    assert account.email == "new@example.com" and account.name == "ACME"
    assert [h.email for h in account.holders if h.level == 1] == ["new@example.com"]


def test_adjust_balance(session, make_account):
    account = make_account(limit="100")
    credit.adjust_balance(session, account.id, "-15", actor="t", reason="fee")
    assert account.balance == Decimal("85.00")
    with pytest.raises(credit.InvalidInput):
        credit.adjust_balance(session, account.id, "0", actor="t")
    assert credit.find_breaches(session) == []


def test_statement_entries_are_append_only(session, make_account):
    make_account()
    entry = session.scalars(select(StatementEntry)).first()
    entry.value = Decimal("1")
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
    session.rollback()
