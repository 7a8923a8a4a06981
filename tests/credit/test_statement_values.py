"""Limit and tolerance changes are kept as the API's statement reports them (VTEX's guide):
Δlimit × (1 + tolerance) and Δtolerance × limit; the opening limit is not reported. The
ledger itself stays the limit less what is owed."""

from decimal import Decimal

from sqlalchemy import select

from portal import credit, uploads
from portal.models import StatementEntry


def _entries(session, account):
    return session.execute(
        select(StatementEntry.origin, StatementEntry.value, StatementEntry.statement_value)
        .where(StatementEntry.account_id == account.id)
        .order_by(StatementEntry.id)
    ).all()


def test_limit_changes_are_reported_with_the_tolerance(session, make_account):
    account = make_account(limit="10000", tolerance="0.1")
    credit.change_limit(session, account.id, "9000", actor="o", reason="down")
    credit.change_limit(session, account.id, "12000", actor="o", reason="up")
    credit.change_limit(session, account.id, "12000", actor="o", reason="same")  # no entry
    assert _entries(session, account) == [
        ("Credit", Decimal("10000.00"), None),  # the opening limit: not in the API's statement
        ("Credit", Decimal("-1000.00"), Decimal("-1100.00")),
        ("Credit", Decimal("3000.00"), Decimal("3300.00")),
    ]
    assert account.balance == Decimal("12000.00") and account.api_balance == 0
    assert credit.find_breaches(session) == []


def test_tolerance_changes_move_no_money(session, make_account):
    account = make_account(limit="5000", tolerance="0.1")
    credit.change_tolerance(session, account.id, "0", actor="o", reason="down")
    credit.change_tolerance(session, account.id, "0.25", actor="o", reason="up")
    assert _entries(session, account)[1:] == [
        ("Tolerance", Decimal("0.00"), Decimal("-500.00")),
        ("Tolerance", Decimal("0.00"), Decimal("1250.00")),
    ]
    details = session.scalars(
        select(StatementEntry.details).where(StatementEntry.origin == "Tolerance")
    ).all()
    assert details[0] == {"old": "0.1", "new": "0", "limit": "5000.00"}
    assert account.balance == Decimal("5000.00")
    assert credit.find_breaches(session) == []


def test_an_import_changing_limit_and_tolerance_reports_both(session, make_account):
    account = make_account(limit="1000", tolerance="0")
    text = (
        "Email,Document,Document Type,Credit limit,Tolerance rate\n"
        f"{account.email},{account.document},CPF,2000,0.1\n"
        "new@example.com,39053344705,CPF,500,0\n"
    )
    batch, _ = uploads.preview_upload(session, "accounts", "a.csv", text.encode(), "owner")
    uploads.apply_batch(session, batch.id, "owner")
    assert _entries(session, account)[1:] == [
        ("Credit", Decimal("1000.00"), Decimal("1000.00")),  # at the old tolerance (0 %)
        ("Tolerance", Decimal("0.00"), Decimal("200.00")),  # on the new limit
    ]
    opened = credit.get_account(session, "39053344705_CPF")
    assert _entries(session, opened) == [("Credit", Decimal("500.00"), None)]
    assert credit.find_breaches(session) == []
