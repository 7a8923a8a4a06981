"""`flask jobs run --now …`: settlement after the store's business days, expiry of holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal import credit, jobs
from portal.credit.settings import add_business_days
from portal.credit.transactions import _settle_cutoff
from portal.models import Invoice, JobRun, PreAuthorization, clock_at

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
# Friday 2026-04-17, 10:00 in São Paulo. Then a weekend, Tiradentes (Tuesday 04-21, a
# Brazilian national holiday), and five business days end on Monday 04-27.
BOUGHT = datetime(2026, 4, 17, 10, 0, tzinfo=SAO_PAULO)


def _run(runner, now: str) -> str:
    result = runner.invoke(args=["jobs", "run", "--now", now])
    assert result.exit_code == 0, result.output
    return result.output


def _hold(session, tid: str) -> PreAuthorization:
    session.rollback()
    return session.get(PreAuthorization, tid)


def test_a_hold_is_settled_after_five_business_days_skipping_a_weekend_and_tiradentes(
    runner, session, make_account, settings
):
    settings(settle_after_business_days=5, holiday_country="BR", timezone="America/Sao_Paulo")
    account = make_account(limit="1000")
    with clock_at(BOUGHT):
        credit.authorize(
            session, account.id, "300", actor="checkout", transaction_id="T1", installments=3
        )
    # not on the weekend, not on the holiday, not on the fourth business day (Fri 04-24),
    # not late on Sunday 04-26 in São Paulo (already Monday in UTC)
    for moment in ("2026-04-19T12:00", "2026-04-21T12:00", "2026-04-24T23:59", "2026-04-27T02:00Z"):
        assert "settle=0" in _run(runner, moment), moment
        assert _hold(session, "T1").status == "Authorized"
    output = _run(runner, "2026-04-27T00:01")  # Monday 04-27 in the store's timezone
    assert "settle=1" in output and "errors=0" in output
    hold = _hold(session, "T1")
    assert hold.status == "Settled" and hold.settled_value == Decimal("300.00")
    assert hold.resolved_at == datetime(2026, 4, 27, 3, 1, tzinfo=UTC)  # the pass's now
    due = session.scalars(select(Invoice.due_date).order_by(Invoice.installment)).all()
    assert due == [date(2026, 5, 27), date(2026, 6, 26), date(2026, 7, 26)]
    assert "settle=0" in _run(runner, "2026-04-28T09:00")  # once
    assert credit.get_account(session, account.id).balance == Decimal("700.00")
    assert credit.find_breaches(session) == []
    run = session.scalars(select(JobRun).order_by(JobRun.id.desc())).first()
    assert run.counts["now"] == "2026-04-28T12:00:00+00:00"


def test_a_hold_made_late_in_the_evening_counts_from_its_store_day(
    runner, session, make_account, settings
):
    settings(settle_after_business_days=1, holiday_country="BR", timezone="America/Sao_Paulo")
    account = make_account(limit="1000")
    # Monday 04-20, 22:30 in São Paulo is already Tuesday (the holiday) in UTC
    with clock_at(datetime(2026, 4, 20, 22, 30, tzinfo=SAO_PAULO)):
        credit.authorize(session, account.id, "10", actor="checkout", transaction_id="LATE")
    assert "settle=0" in _run(runner, "2026-04-21T20:00")  # the holiday
    assert "settle=1" in _run(runner, "2026-04-22T08:00")  # the next business day


def test_a_settle_false_hold_expires_after_its_expiration_date(
    runner, session, make_account, settings
):
    settings(timezone="America/Sao_Paulo")
    account = make_account(limit="1000")
    with clock_at(BOUGHT):
        credit.authorize(
            session,
            account.id,
            "40",
            actor="checkout",
            transaction_id="KEEP",
            settle=False,
            expiration_date=date(2026, 4, 20),
        )
        credit.authorize(
            session, account.id, "60", actor="checkout", transaction_id="DEFAULT", settle=False
        )  # expires 30 days later: 2026-05-17
    assert credit.get_account(session, account.id).pre_authorized == Decimal("100.00")
    output = _run(runner, "2026-04-20T23:59")  # its last day
    assert "expire=0" in output and "settle=0" in output
    assert _hold(session, "KEEP").status == "Authorized"
    assert "expire=1" in _run(runner, "2026-04-21T00:00")
    assert (_hold(session, "KEEP").status, _hold(session, "DEFAULT").status) == (
        "Expired",
        "Authorized",
    )
    assert "expire=1" in _run(runner, "2026-05-18T00:00")
    assert credit.get_account(session, account.id).pre_authorized == Decimal("0.00")
    assert session.scalar(select(Invoice.id)) is None  # expired holds bill nothing
    assert credit.find_breaches(session) == []


def test_credit_run_jobs_is_the_same_command(runner, session):
    result = runner.invoke(args=["credit", "run-jobs", "--now", "2026-04-22T09:00:00-03:00"])
    assert result.exit_code == 0, result.output
    assert "jobs pass 1 at 2026-04-22 12:00:00Z: expire=0 settle=0" in result.output
    assert jobs.last_run(session).now == datetime(2026, 4, 22, 12, 0, tzinfo=UTC)


def test_jobs_run_refuses_a_bad_moment(runner):
    result = runner.invoke(args=["jobs", "run", "--now", "next tuesday"])
    assert result.exit_code == 2 and "ISO date-time" in result.output


@pytest.mark.parametrize("days", [0, 1, 2, 5, 12])
@pytest.mark.parametrize("country", ["BR", "US"])
def test_the_cutoff_agrees_with_add_business_days(days, country):
    """Holds of store day D are due on `today` iff add_business_days(D, days) <= today."""
    zone = ZoneInfo("America/Sao_Paulo")
    for today in (date(2026, 4, 17) + timedelta(n) for n in range(20)):
        cutoff = _settle_cutoff(today, days, country, zone)
        for back in range(30):
            made = today - timedelta(back)
            due = add_business_days(made, days, country) <= today
            first = datetime.combine(made, time(0, 0), zone)
            last = datetime.combine(made, time(23, 59, 59), zone)
            assert (first < cutoff, last < cutoff) == (due, due), (today, made, days, country)
