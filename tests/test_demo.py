"""The demo store (`flask seed-demo`) tells one story: six months of events, each at its
own moment and in order, through the credit engine, with a ledger that holds together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from portal import credit
from portal.models import (
    Account,
    AuditEvent,
    Holder,
    Invoice,
    Payment,
    PreAuthorization,
    StatementEntry,
    StoreSettings,
    User,
    clock_at,
    utcnow,
)


def _store_date(settings, moment):
    return moment.astimezone(ZoneInfo(settings.timezone)).date()


def test_clock_at_moves_every_timestamp_and_the_store_today():
    moment = datetime(2024, 3, 1, 2, 30, tzinfo=UTC)  # still 29 February in São Paulo
    settings = StoreSettings(timezone="America/Sao_Paulo")
    with clock_at(moment):
        assert utcnow() == moment
        assert credit.store_today(settings).isoformat() == "2024-02-29"
        with clock_at(moment + timedelta(days=1)):
            assert credit.store_today(settings).isoformat() == "2024-03-01"
        assert utcnow() == moment
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=1)


def test_the_demo_store_tells_one_story(runner, session):
    """The store as `make run` creates it on an empty database (one seed: it takes seconds)."""
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    seeded = utcnow()
    assert result.exit_code == 0, result.output
    assert "Demo logins" in result.output
    for role in ("owner", "finance", "support", "customer"):
        assert f"\n{role:9} " in result.output
    assert credit.find_breaches(session) == []
    _every_event_is_at_its_own_moment(session, seeded)
    _accounts_on_hold_have_an_invoice_overdue_beyond_the_threshold(session)
    _the_store_has_every_kind_of_customer(session)


def _every_event_is_at_its_own_moment(session, seeded):
    settings = credit.get_settings(session)
    entries = list(session.scalars(select(StatementEntry).order_by(StatementEntry.id)))
    assert all(entry.created_at <= seeded for entry in entries), "nothing happens in the future"
    first = min(entry.created_at for entry in entries)
    assert seeded - timedelta(days=200) < first < seeded - timedelta(days=150)
    holds = session.scalars(select(PreAuthorization)).all()
    assert len({(hold.created_at.year, hold.created_at.month) for hold in holds}) >= 6

    by_account: dict[str, list[StatementEntry]] = {}
    for entry in entries:
        by_account.setdefault(entry.account_id, []).append(entry)
    for account_entries in by_account.values():
        moments = [entry.created_at for entry in account_entries]
        assert moments == sorted(moments), "an account's entries are in time order with ids"

    invoice_entries = {e.invoice_id: e for e in entries if e.origin == "Invoice"}
    for invoice in session.scalars(select(Invoice)):
        hold = session.get(PreAuthorization, invoice.transaction_id)
        issued = _store_date(settings, invoice.created_at)
        offset = int(hold.payment_term.split("/")[invoice.installment - 1])
        assert hold.created_at <= hold.resolved_at == invoice.created_at, invoice.id
        assert invoice_entries[invoice.id].created_at == invoice.created_at
        assert invoice.original_due_date == issued + timedelta(days=offset), invoice.id
        assert issued <= invoice.due_date
        account = session.get(Account, invoice.account_id)
        assert account.created_at < invoice.created_at
    for entry in entries:
        if entry.invoice_id and entry.origin != "Invoice":  # payments, cancellations
            assert entry.created_at > invoice_entries[entry.invoice_id].created_at, entry.id
    late = on_time = 0
    for payment in session.scalars(select(Payment)):
        invoice = session.get(Invoice, payment.invoice_id)
        assert payment.created_at > invoice.created_at
        if _store_date(settings, payment.created_at) > invoice.due_date:
            late += 1
        else:
            on_time += 1
    assert 0 < late < on_time / 3, "most pay on time, a few late"


def _accounts_on_hold_have_an_invoice_overdue_beyond_the_threshold(session):
    settings = credit.get_settings(session)
    cutoff = credit.store_today(settings) - timedelta(days=settings.overdue_hold_days)
    accounts = session.scalars(select(Account)).all()
    on_hold = [account for account in accounts if credit.is_on_hold(session, account, settings)]
    assert len(on_hold) >= 3
    for account in on_hold:
        overdue = session.scalar(
            select(func.count()).where(
                Invoice.account_id == account.id,
                Invoice.status == "Opened",
                Invoice.due_date < cutoff,
            )
        )
        assert overdue, account.id
    lifted = [account for account in accounts if account.hold_forgiven_before is not None]
    assert len(lifted) == 1 and lifted[0] not in on_hold
    lift = session.scalar(select(AuditEvent).where(AuditEvent.action == "account.lift_hold"))
    assert lift.account_id == lifted[0].id and lift.reason and lift.actor == "owner@demo.example"


def _the_store_has_every_kind_of_customer(session):
    accounts = session.scalars(select(Account)).all()
    statuses = set(session.scalars(select(Invoice.status)))
    assert statuses == {"Opened", "Paid", "Cancelled"}
    linked = session.scalars(
        select(Invoice.payment_link).where(Invoice.status == "Opened", Invoice.payment_link != "")
    ).all()
    assert len(linked) >= 5 and all(link.startswith("https://pay.example.com/") for link in linked)
    assert session.scalar(select(func.count()).where(Invoice.observation != "")) >= 3
    assert sum(account.status == "Closed" for account in accounts) == 2
    assert sum(account.utilization >= 0.85 for account in accounts) >= 2
    assert sum(account.tolerance > 0 for account in accounts) >= 3
    dependents = session.scalars(select(Holder).where(Holder.level == 2)).all()
    assert len({holder.account_id for holder in dependents}) >= 2
    assert any(holder.spending_cap is not None for holder in dependents)
    origins = set(session.scalars(select(StatementEntry.origin)))
    assert {"Credit", "Invoice", "Payment", "Cancellation", "Statement"} <= origins
    changes = select(func.count()).where(
        StatementEntry.origin == "Credit", StatementEntry.statement_value.is_not(None)
    )
    assert session.scalar(changes) >= 1, "a limit changed after the account opened"
    assert session.scalar(select(func.count()).where(PreAuthorization.status == "Cancelled"))


def _snapshot(session, instance_path: str) -> dict:
    tables = (Account, Holder, Invoice, Payment, PreAuthorization, StatementEntry, User)
    counts = {
        table.__name__: session.scalar(select(func.count()).select_from(table)) for table in tables
    }
    counts["audit"] = session.scalar(select(func.max(AuditEvent.id)))
    counts["logins"] = (Path(instance_path) / "demo-logins.txt").read_text()
    return counts


def test_seed_demo_if_empty_twice_changes_nothing_the_second_time(app, runner, session):
    first = runner.invoke(args=["seed-demo", "--if-empty", "--accounts", "6"])
    assert first.exit_code == 0, first.output
    before = _snapshot(session, app.instance_path)
    second = runner.invoke(args=["seed-demo", "--if-empty", "--accounts", "6"])
    assert second.exit_code == 0, second.output
    session.rollback()
    assert _snapshot(session, app.instance_path) == before
    assert second.output == first.output
    assert before["Account"] == 6
