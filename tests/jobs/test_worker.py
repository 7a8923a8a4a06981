"""One pass of the worker: the registry, the JobRun record, errors, stop requests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal import credit, jobs
from portal.credit.ledger import write_transaction
from portal.models import JobRun, PreAuthorization, utcnow

from .conftest import CORE, PAST, assert_settled_once

NOW = datetime(2026, 4, 22, 12, 0, tzinfo=UTC)


def _runs(session) -> list[JobRun]:
    session.rollback()
    return list(session.scalars(select(JobRun).order_by(JobRun.id)))


def test_a_pass_runs_every_job_in_order_at_its_now_and_records_it(session):
    seen = []

    def first(session, now):
        seen.append(("first", now, utcnow()))
        return 2

    def second(session, now):
        seen.append(("second", now, utcnow()))
        return {"sent": 1, "failed": 0}

    result = jobs.run_pass(
        session, NOW, jobs=[jobs.Job("first", first), jobs.Job("second", second)], worker="w:1"
    )
    assert seen == [("first", NOW, NOW), ("second", NOW, NOW)]  # utcnow() follows `now`
    assert result.counts == {"first": 2, "second": {"sent": 1, "failed": 0}}
    assert result.errors == {} and not result.stopped
    assert "first=2 second.sent=1 second.failed=0 errors=0" in result.line()
    (run,) = _runs(session)
    assert run.id == result.run_id and run.worker == "w:1"
    assert run.finished_at >= run.started_at > NOW  # real times, not the travelled moment
    assert run.counts == {
        "jobs": {"first": 2, "second": {"sent": 1, "failed": 0}},
        "errors": {},
        "now": NOW.isoformat(),
    }
    last = jobs.last_run(session)
    assert (last.worker, last.counts, last.errors, last.now, last.ok) == (
        "w:1",
        {"first": 2, "second": {"sent": 1, "failed": 0}},
        {},
        NOW,
        True,
    )


def test_a_job_that_raises_is_an_error_and_the_pass_goes_on(session, make_account, caplog):
    account = make_account(limit="100")

    def broken(session, now):
        with write_transaction(session):
            session.get(type(account), account.id).credit_limit = 5
            session.flush()
            raise RuntimeError("boom\nsecond line")

    def after(session, now):
        return 7

    registry = [
        jobs.Job("broken", broken),
        jobs.Job("missing", "portal.nowhere:job"),
        *CORE,
        jobs.Job("after", after),
    ]
    result = jobs.run_pass(session, jobs=registry)
    assert result.errors == {
        "broken": "RuntimeError: boom",
        "missing": "ModuleNotFoundError: No module named 'portal.nowhere'",
    }
    assert result.counts == {"expire": 0, "settle": 0, "after": 7}
    assert "errors=2 (" in result.line() and result.line().endswith("; failed: broken, missing")
    assert "job broken failed" in caplog.text
    (run,) = _runs(session)
    assert run.finished_at is not None and run.counts["errors"] == result.errors
    assert not jobs.last_run(session).ok
    assert credit.get_account(session, account.id).credit_limit == 100  # nothing half-done


def test_a_job_leaving_uncommitted_changes_is_an_error_and_they_are_dropped(session, make_account):
    account = make_account(limit="100")

    def sloppy(session, now):
        session.get(type(account), account.id).email = "changed@example.com"

    result = jobs.run_pass(session, jobs=[jobs.Job("sloppy", sloppy)])
    assert "uncommitted" in result.errors["sloppy"]
    assert credit.get_account(session, account.id).email != "changed@example.com"


def test_a_stop_request_ends_the_pass_after_the_current_job(session):
    stop = threading.Event()
    ran = []

    def first(session, now):
        ran.append("first")
        stop.set()  # as the signal handler does while a job runs
        return 1

    def second(session, now):
        ran.append("second")
        return 1

    result = jobs.run_pass(
        session, jobs=[jobs.Job("first", first), jobs.Job("second", second)], stop=stop
    )
    assert ran == ["first"] and result.stopped and result.counts == {"first": 1}
    (run,) = _runs(session)
    assert run.finished_at is not None and run.counts["stopped"] is True
    assert jobs.last_run(session).stopped


def test_work_runs_passes_until_stopped(session):
    stop = threading.Event()
    results = []
    count = jobs.work(
        session,
        every=0,
        stop=stop,
        jobs=[jobs.Job("noop", lambda session, now: 0)],
        passes=3,
        on_pass=results.append,
    )
    assert count == 3 and len(results) == 3 and len(_runs(session)) == 3
    stop.set()
    assert jobs.work(session, every=0, stop=stop, jobs=[]) == 0


def test_the_registry_refuses_duplicate_and_reserved_names(session):
    job = jobs.Job("settle", lambda session, now: 0)
    with pytest.raises(ValueError):
        jobs.run_pass(session, jobs=[job, job])
    with pytest.raises(ValueError):
        jobs.run_pass(session, jobs=[jobs.Job("errors", lambda session, now: 0)])
    jobs.check_registry(jobs.JOBS)  # what every pass runs is valid
    assert [j.name for j in jobs.JOBS][:2] == ["expire", "settle"]
    assert jobs.JOBS[-1].name == "outbox"
    for job in jobs.JOBS:
        assert callable(job.function()), job


def test_last_run_is_the_latest_finished_pass(session):
    assert jobs.last_run(session) is None
    jobs.run_pass(session, jobs=[jobs.Job("a", lambda session, now: 1)], worker="old")
    with write_transaction(session):  # a pass that died: never finished
        session.add(JobRun(worker="dead", started_at=datetime.now(UTC), counts={}))
    last = jobs.last_run(session)
    assert last.worker == "old" and last.counts == {"a": 1} and last.now is None


def test_old_records_are_forgotten(app, session):
    with write_transaction(session):
        session.add(
            JobRun(
                worker="ancient",
                started_at=datetime.now(UTC) - timedelta(days=31),
                finished_at=datetime.now(UTC) - timedelta(days=31),
                counts={},
            )
        )
    jobs.run_pass(session, jobs=[])
    assert [run.worker for run in _runs(session)] == [jobs.worker_name()]


def test_the_domain_loops_skip_holds_changed_meanwhile(session, past_holds):
    settle_ids, expire_ids = past_holds(accounts=2, per_account=3, expiring=1)
    hold = session.get(PreAuthorization, settle_ids[0])
    credit.cancel_authorization(session, hold.account_id, hold.id, actor="test")
    credit.settle(session, hold.account_id, settle_ids[1], actor="test")
    now = PAST + timedelta(days=60)
    assert credit.expire_authorizations(session, now) == 2
    assert credit.settle_due_authorizations(session, now) == 4
    assert credit.settle_due_authorizations(session, now) == 0
    assert credit.expire_authorizations(session, now) == 0
    assert_settled_once(session, settle_ids[1:], expire_ids)


def test_a_refused_hold_is_logged_and_the_loop_goes_on(session, past_holds, caplog):
    settle_ids, _ = past_holds(accounts=1, per_account=3, expiring=0)
    # lowered below one cent per installment: settling it is refused (invalid_installments)
    hold = session.get(PreAuthorization, settle_ids[2])
    assert hold.installments == 3
    credit.update_authorization(session, hold.account_id, hold.id, "0.02", actor="test")
    assert credit.settle_due_authorizations(session, PAST + timedelta(days=60)) == 2
    assert f"settle of transaction {settle_ids[2]} refused: [invalid_installments]" in caplog.text
    session.rollback()
    assert session.get(PreAuthorization, settle_ids[2]).status == "Authorized"
