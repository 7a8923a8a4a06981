"""Scheduled limit changes: applied by the jobs pass at the start of their day in the store's
timezone, through change_limit, in the name of who scheduled them, exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal import credit, jobs
from portal.credit import scheduled
from portal.credit.permissions import Grant
from portal.extensions import db
from portal.models import Account, AuditEvent, ScheduledLimitChange, StatementEntry, clock_at

OWNER = "owner@store.example"
DAY = date(2031, 5, 10)  # São Paulo is UTC-3 all year: the day starts at 03:00Z
SCHEDULED_AT = datetime(2031, 5, 9, 15, 0, tzinfo=UTC)  # 12:00 in São Paulo, the day before
JUST_BEFORE = datetime(2031, 5, 10, 2, 59, 59, tzinfo=UTC)  # 23:59:59 on the 9th there
JUST_AFTER = datetime(2031, 5, 10, 3, 0, 1, tzinfo=UTC)  # 00:00:01 on the 10th there


@pytest.fixture(autouse=True)
def sao_paulo(settings):
    settings(timezone="America/Sao_Paulo")


def schedule(session, account, value="2500", *, day=DAY, actor=OWNER, **kwargs):
    with clock_at(SCHEDULED_AT):
        return credit.schedule_limit(
            session,
            account.id,
            value,
            effective_on=day,
            reason=kwargs.pop("reason", "season"),
            actor=actor,
            **kwargs,
        )


def status(session, change_id) -> str:
    session.rollback()
    return session.get(ScheduledLimitChange, change_id, populate_existing=True).status


def test_applied_at_the_start_of_its_day_in_sao_paulo(session, make_account):
    account = make_account(limit="1000")
    change = schedule(session, account, "2500", tolerance="0.1")
    assert credit.apply_scheduled_limits(session, JUST_BEFORE)["applied"] == 0
    assert status(session, change.id) == "pending"
    assert credit.get_account(session, account.id).credit_limit == Decimal("1000.00")

    counts = credit.apply_scheduled_limits(session, JUST_AFTER)
    assert counts == {"applied": 1, "failed": 0, "skipped": 0}
    session.rollback()
    fresh = credit.get_account(session, account.id)
    assert fresh.credit_limit == Decimal("2500.00") and fresh.tolerance == Decimal("0.1")
    done = session.get(ScheduledLimitChange, change.id)
    assert done.status == "applied" and done.resolved_at == JUST_AFTER and done.error == ""
    # a second pass finds nothing to do
    assert credit.apply_scheduled_limits(session, JUST_AFTER + timedelta(hours=1))["applied"] == 0
    assert credit.find_breaches(session) == []


def test_applied_in_the_name_of_the_owner_who_scheduled_it(session, make_account):
    account = make_account(limit="1000")
    schedule(session, account, "1800", reason="Black Friday", tolerance="0.05")
    credit.apply_scheduled_limits(session, JUST_AFTER)
    session.rollback()
    entry = session.scalars(
        select(StatementEntry)
        .where(StatementEntry.account_id == account.id, StatementEntry.origin == "Credit")
        .order_by(StatementEntry.id.desc())
    ).first()
    assert entry.value == Decimal("800.00")
    assert entry.done_by == OWNER and entry.description == "Black Friday"
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.account_id == account.id, AuditEvent.action.like("account.change_%"))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.actor, e.reason) for e in events] == [
        ("account.change_limit", OWNER, "Black Friday"),
        ("account.change_tolerance", OWNER, "Black Friday"),
    ]
    assert events[0].details["old"] == "1000.00" and events[0].details["new"] == "1800.00"
    assert credit.find_breaches(session) == []


def test_the_jobs_pass_runs_it_and_the_cli_travels_in_time(session, make_account, runner):
    """Through the registry: `flask jobs run --now` (no offset: the store's local time)."""
    first, second = make_account(limit="1000"), make_account(limit="1000")
    early = schedule(session, first, "3000")
    later = schedule(session, second, "4000", day=DAY + timedelta(days=1))
    result = runner.invoke(args=["jobs", "run", "--now", "2031-05-09T23:59:59"])
    assert "scheduled_limits.applied=0" in result.output, result.output
    assert status(session, early.id) == "pending"
    result = runner.invoke(args=["jobs", "run", "--now", "2031-05-10T00:00:00"])
    assert "scheduled_limits.applied=1" in result.output, result.output
    assert status(session, early.id) == "applied" and status(session, later.id) == "pending"
    pass_result = jobs.run_pass(session, JUST_AFTER + timedelta(days=1))
    assert pass_result.counts["scheduled_limits"] == {"applied": 1, "failed": 0, "skipped": 0}
    assert status(session, later.id) == "applied"
    assert credit.get_account(session, second.id).credit_limit == Decimal("4000.00")
    assert credit.find_breaches(session) == []


def test_a_cancelled_change_is_never_applied(session, make_account):
    account = make_account(limit="1000")
    change = schedule(session, account, "5000")
    credit.cancel_scheduled(session, account.id, change.id, actor=OWNER)
    assert credit.apply_scheduled_limits(session, JUST_AFTER)["applied"] == 0
    assert status(session, change.id) == "cancelled"
    assert credit.get_account(session, account.id).credit_limit == Decimal("1000.00")
    with pytest.raises(credit.Conflict) as refused:
        credit.cancel_scheduled(session, account.id, change.id, actor=OWNER)
    assert refused.value.code == "invalid_transition"


def test_a_change_cancelled_after_the_pass_listed_it_is_not_applied(
    app, session, make_account, monkeypatch
):
    """The pass lists the accounts with due changes, then re-reads under each account's
    lock: a change cancelled in between (by another request) is no longer there."""
    account = make_account(limit="1000")
    change = schedule(session, account, "5000")
    original = scheduled._apply_next

    def cancel_elsewhere():
        with app.app_context():
            try:
                credit.cancel_scheduled(db.session, account.id, change.id, actor="someone-else")
            finally:
                db.session.remove()

    def cancelled_first(*args):
        other = threading.Thread(target=cancel_elsewhere)
        other.start()
        other.join(timeout=60)
        monkeypatch.setattr(scheduled, "_apply_next", original)
        return original(*args)

    monkeypatch.setattr(scheduled, "_apply_next", cancelled_first)
    counts = credit.apply_scheduled_limits(session, JUST_AFTER)
    assert counts == {"applied": 0, "failed": 0, "skipped": 0}
    assert status(session, change.id) == "cancelled"
    assert credit.get_account(session, account.id).credit_limit == Decimal("1000.00")


def test_an_account_locked_elsewhere_is_left_whole_for_the_next_pass(app, session, make_account):
    """PostgreSQL: a request holding the account row makes the pass skip the account (SKIP
    LOCKED), with all its due changes, so they still apply in the order of their days."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no row locks: BEGIN IMMEDIATE serialises the writers")
    account = make_account(limit="1000")
    schedule(session, account, "3000", day=DAY)
    schedule(session, account, "2000", day=DAY + timedelta(days=1))
    session.rollback()
    with db.engine.connect() as other:
        other.execute(
            select(Account).where(Account.id == account.id).with_for_update()
        ).all()  # another request holds the account
        counts = credit.apply_scheduled_limits(session, JUST_AFTER + timedelta(days=1))
        assert counts == {"applied": 0, "failed": 0, "skipped": 1}
        other.rollback()
    counts = credit.apply_scheduled_limits(session, JUST_AFTER + timedelta(days=1))
    assert counts == {"applied": 2, "failed": 0, "skipped": 0}
    session.rollback()
    assert credit.get_account(session, account.id).credit_limit == Decimal("2000.00")
    assert credit.find_breaches(session) == []


def test_a_change_refused_on_its_day_is_marked_and_the_pass_goes_on(session, make_account):
    closed, open_ = make_account(limit="1000"), make_account(limit="1000")
    failing = schedule(session, closed, "9000")
    working = schedule(session, open_, "2000")
    credit.close_account(session, closed.id, actor=OWNER, reason="shop closed")
    counts = credit.apply_scheduled_limits(session, JUST_AFTER)
    assert counts == {"applied": 1, "failed": 1, "skipped": 0}
    session.rollback()
    failed = session.get(ScheduledLimitChange, failing.id)
    assert failed.status == "failed" and failed.error.startswith("account_closed:")
    assert failed.resolved_at == JUST_AFTER
    assert credit.get_account(session, closed.id).credit_limit == Decimal("1000.00")
    assert status(session, working.id) == "applied"
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "account.scheduled_limit_failed")
    ).one()
    assert event.actor == "system" and event.account_id == closed.id
    assert event.details["error"] == "account_closed"
    # reopened, it stays failed: the owner schedules again or changes the limit
    credit.reopen_account(session, closed.id, actor=OWNER)
    assert credit.apply_scheduled_limits(session, JUST_AFTER)["applied"] == 0
    assert credit.find_breaches(session) == []


def test_changes_missed_for_days_apply_in_order(session, make_account):
    """A worker that was down applies every due change, oldest day first: the last wins."""
    account = make_account(limit="1000")
    schedule(session, account, "3000", day=DAY)
    schedule(session, account, "2000", day=DAY + timedelta(days=1))
    counts = credit.apply_scheduled_limits(session, JUST_AFTER + timedelta(days=5))
    assert counts["applied"] == 2
    session.rollback()
    assert credit.get_account(session, account.id).credit_limit == Decimal("2000.00")
    values = session.scalars(
        select(StatementEntry.value)
        .where(StatementEntry.account_id == account.id, StatementEntry.origin == "Credit")
        .order_by(StatementEntry.id)
    ).all()
    assert values == [Decimal("1000.00"), Decimal("2000.00"), Decimal("-1000.00")]  # opening
    assert credit.find_breaches(session) == []


def test_scheduling_rules(session, make_account):
    account = make_account(limit="1000")
    with clock_at(SCHEDULED_AT):
        today = DAY - timedelta(days=1)

        def refused(**kwargs):
            arguments = {"effective_on": DAY, "reason": "why", "actor": OWNER, **kwargs}
            value = arguments.pop("value", "2000")
            with pytest.raises(credit.CreditError) as error:
                credit.schedule_limit(session, account.id, value, **arguments)
            return error.value.code, error.value.field

        assert refused(effective_on=today) == ("date_not_in_future", "effective_on")
        assert refused(effective_on=today - timedelta(days=3)) == (
            "date_not_in_future",
            "effective_on",
        )
        assert refused(effective_on=today + timedelta(days=367)) == ("date_too_far", "effective_on")
        assert refused(effective_on="2031-5-10") == ("invalid_date", "effective_on")
        assert refused(effective_on=datetime(2031, 5, 10, tzinfo=UTC)) == (
            "invalid_date",
            "effective_on",
        )
        assert refused(value="-1") == ("invalid_amount", "credit_limit")
        assert refused(value="10.001") == ("invalid_amount", "credit_limit")
        assert refused(value="abc") == ("invalid_amount", "credit_limit")
        assert refused(tolerance="11") == ("invalid_rate", "tolerance")
        assert refused(reason="   ") == ("reason_required", "reason")
        assert refused(reason="x" * 501) == ("too_long", "reason")
        assert refused(grant=Grant.for_role("finance")) == ("forbidden", "credit_limit")
        with pytest.raises(credit.NotFound):
            credit.schedule_limit(session, "nope", "1", effective_on=DAY, reason="why", actor=OWNER)
        first = credit.schedule_limit(
            session, account.id, "2000", effective_on="2031-05-10", reason="why", actor=OWNER
        )
        assert first.effective_on == DAY and first.tolerance is None
        assert refused() == ("duplicate_schedule", "effective_on")  # one pending per day
        far = credit.schedule_limit(
            session,
            account.id,
            "0",
            effective_on=today + timedelta(days=366),
            reason="w",
            actor="x",
        )
        with pytest.raises(credit.CreditError) as forbidden:
            credit.cancel_scheduled(
                session, account.id, first.id, actor="ana", grant=Grant.for_role("finance")
            )
        assert forbidden.value.code == "forbidden"
        credit.cancel_scheduled(session, account.id, first.id, actor=OWNER)
        again = credit.schedule_limit(  # the day is free again once cancelled
            session, account.id, "2100", effective_on=DAY, reason="why", actor=OWNER
        )
        credit.close_account(session, account.id, actor=OWNER, reason="closed")
        assert refused(effective_on=DAY + timedelta(days=2)) == ("account_closed", None)
    assert [c.id for c in credit.pending_changes(session, account.id)] == [again.id, far.id]
    with pytest.raises(credit.NotFound):
        credit.cancel_scheduled(session, make_account().id, again.id, actor=OWNER)
    with pytest.raises(credit.NotFound):
        credit.pending_changes(session, "nope")
    for wrong in ("abc", "99999999999999", -1, None):
        with pytest.raises(credit.NotFound):
            credit.cancel_scheduled(session, account.id, wrong, actor=OWNER)


def test_pending_changes_soonest_first_and_the_history_newest_first(session, make_account):
    account = make_account(limit="1000")
    later = schedule(session, account, "3000", day=DAY + timedelta(days=10))
    sooner = schedule(session, account, "2000", day=DAY)
    gone = schedule(session, account, "2500", day=DAY + timedelta(days=5))
    credit.cancel_scheduled(session, account.id, gone.id, actor=OWNER)
    assert [c.id for c in credit.pending_changes(session, account.id)] == [sooner.id, later.id]
    history = credit.scheduled_changes(session, account.id)
    assert [c.id for c in history] == [gone.id, sooner.id, later.id]
    audited = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.target_type == "ScheduledLimitChange")
        .order_by(AuditEvent.id)
    ).all()
    assert audited == ["account.schedule_limit"] * 3 + ["account.cancel_scheduled_limit"]


def test_two_workers_at_once_apply_each_change_once(app, session, make_account):
    """Workers racing over the same due changes (PostgreSQL: SKIP LOCKED on the account
    row; SQLite: one writer at a time): every change applied exactly once."""
    accounts = [make_account(limit="1000") for _ in range(12)]
    for number, account in enumerate(accounts):
        schedule(session, account, str(2000 + number))
        schedule(session, account, str(3000 + number), day=DAY + timedelta(days=1))
    ids = [a.id for a in accounts]
    session.rollback()
    workers = 4
    barrier = threading.Barrier(workers)
    results: list = [None] * workers

    def work(i):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = credit.apply_scheduled_limits(db.session, JUST_AFTER + timedelta(1))
            except Exception as error:  # reported, not lost in the thread
                results[i] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["failed"] for r in results) == 0
    # Each pass may skip an account another holds; whatever was skipped ran in that one.
    assert sum(r["applied"] for r in results) == 2 * len(ids), results
    session.rollback()
    assert (
        session.scalar(
            select(func.count())
            .select_from(ScheduledLimitChange)
            .where(ScheduledLimitChange.status != "applied")
        )
        == 0
    )
    credits = session.scalar(
        select(func.count())
        .select_from(StatementEntry)
        .where(StatementEntry.origin == "Credit", StatementEntry.done_by == OWNER)
    )
    assert credits == 2 * len(ids)
    for number, account_id in enumerate(ids):
        assert credit.get_account(session, account_id).credit_limit == 3000 + number
    assert credit.find_breaches(session) == []
