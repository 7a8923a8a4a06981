"""Background jobs: one worker pass runs every registered job, in order, at one `now`.

The registry is `JOBS` below: a job is a name and a function `fn(session, now)` of the
domain layer that returns what it did, as an int or a small dict of ints (e.g.
``{"sent": 3, "failed": 0}``). To add a job, add ONE line to `JOBS`, naming the function
as "module:function" (imported when a pass runs, so this module imports none of them):

    Job("reminders", "portal.reminders:send_due_reminders"),

A job function must be safe to run by any number of workers at once and to be killed at
any point (see DESIGN.md, "Things that happen later"): claim work with `FOR UPDATE SKIP
LOCKED` on the account row (or a short committed lease on the job's own row), account
first, then run the normal domain operation, which re-reads what it changes under the
lock; commit per unit of work. It runs inside `clock_at(now)`, so `utcnow()` and
`store_today()` follow the pass's `now` (time travel: `flask jobs run --now …`).

`run_pass` runs the jobs once and records a `JobRun` (worker = host:pid, started and
finished at the real time, what each job did); a job that raises is logged, counted as an
error of the pass, and the next job runs. `work` runs passes until told to stop; the
`flask --app portal jobs worker` command stops it on SIGTERM / SIGINT after the current
job. `last_run` is what the dashboard shows.

`JobRun.counts` holds ``{"jobs": {name: int | {key: int}}, "errors": {name: "Type:
message"}}``, plus ``"now"`` (ISO) when the pass ran at an explicit moment and ``"stopped":
true`` when a stop request skipped the jobs after the current one.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from flask import current_app, has_app_context
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .credit.ledger import write_transaction
from .models import JobRun, clock_at, utcnow

log = logging.getLogger(__name__)

Count = int | Mapping[str, int]
JobFunction = Callable[[Session, datetime], "Count | None"]


@dataclass(frozen=True)
class Job:
    """A named job: `target` is a function `fn(session, now)` or its "module:function"."""

    name: str
    target: str | JobFunction

    def function(self) -> JobFunction:
        if callable(self.target):
            return self.target
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)


# Run in this order by every pass. Add a job with one line (keep "outbox" last: it sends the
# e-mails the jobs before it queued).
JOBS: list[Job] = [
    Job("expire", "portal.credit.transactions:expire_authorizations"),
    Job("settle", "portal.credit.transactions:settle_due_authorizations"),
    Job("reminders", "portal.reminders:send_reminders"),
    Job("scheduled_limits", "portal.credit.scheduled:apply_scheduled_limits"),
    Job("webhook_calendar", "portal.webhooks:webhook_calendar"),
    Job("webhooks", "portal.webhooks:deliver_webhooks"),
    Job("outbox_purge", "portal.outbox:purge_sent"),
    Job("outbox", "portal.jobs:send_outbox"),
]

RESERVED = frozenset({"jobs", "errors", "now", "stopped"})


def send_outbox(session: Session, now: datetime) -> dict[str, int]:
    """The outbox's e-mails that are due (nothing without MAIL_SERVER: they wait)."""
    from . import outbox

    sent, failed = outbox.send_pending(session, now=now)
    return {"sent": sent, "failed": failed}


class StopSignal(Protocol):
    """What `run_pass` and `work` check between jobs and while waiting (threading.Event
    fits; `StopFlag` is safe to set from a signal handler)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class StopFlag:
    """A stop request that a signal handler may set: a plain flag, no lock to deadlock on.

    `wait` sleeps in short slices, so a pass never starts more than `SLICE` seconds after
    the request.
    """

    SLICE = 0.2

    def __init__(self) -> None:
        self._set = False
        self.reason = ""

    def set(self, reason: str = "") -> None:
        self.reason = self.reason or reason
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        end = None if timeout is None else time.monotonic() + timeout
        while not self._set:
            left = self.SLICE if end is None else min(self.SLICE, end - time.monotonic())
            if left <= 0:
                break
            time.sleep(left)
        return self._set


@dataclass
class PassResult:
    """What one pass did: per job its count, the jobs that raised, whether it was stopped."""

    run_id: int
    worker: str
    now: datetime
    counts: dict[str, Count] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    stopped: bool = False
    seconds: float = 0.0

    def line(self) -> str:
        """One line for a log or a terminal: ``pass 7 at … : expire=0 settle=2 … errors=0``."""
        parts = [f"{key}={value}" for key, value in flat_counts(self.counts)]
        parts.append(f"errors={len(self.errors)}")
        text = f"jobs pass {self.run_id} at {self.now:%Y-%m-%d %H:%M:%S}Z: {' '.join(parts)}"
        text += f" ({self.seconds:.2f} s)"
        if self.errors:
            text += f"; failed: {', '.join(self.errors)}"
        if self.stopped:
            text += "; stopped before the remaining jobs"
        return text


def flat_counts(counts: Mapping[str, Count]) -> list[tuple[str, int]]:
    """("settle", 2), ("outbox.sent", 1) … in job order."""
    flat: list[tuple[str, int]] = []
    for name, count in counts.items():
        if isinstance(count, Mapping):
            flat.extend((f"{name}.{key}", value) for key, value in count.items())
        else:
            flat.append((name, count))
    return flat


def worker_name() -> str:
    """This process as a worker: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def check_registry(jobs: Sequence[Job]) -> None:
    """Refuse a registry with a duplicate or reserved name (a programming error)."""
    names = [job.name for job in jobs]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates or RESERVED & set(names):
        raise ValueError(f"job names must be unique and not {sorted(RESERVED)}: {names}")


def run_pass(
    session: Session,
    now: datetime | None = None,
    *,
    jobs: Sequence[Job] | None = None,
    worker: str | None = None,
    stop: StopSignal | None = None,
) -> PassResult:
    """Run every job once at `now` (default: the current time) and record the pass.

    The `JobRun` row is committed first (a pass that dies leaves it unfinished) and
    completed at the end with what each job did. A job that raises is logged and counted
    as an error, its transaction rolled back, and the next job runs. When `stop` is set,
    the pass ends after the current job and is recorded as stopped.
    """
    jobs = JOBS if jobs is None else jobs
    check_registry(jobs)
    explicit = now is not None
    moment = _aware(now) if now is not None else utcnow()
    began = time.monotonic()
    result = PassResult(run_id=0, worker=worker or worker_name(), now=moment)
    result.run_id = _open_run(session, result.worker)
    for job in jobs:
        if stop is not None and stop.is_set():
            result.stopped = True
            break
        try:
            with clock_at(moment):
                counted = job.function()(session, moment)
            if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
                raise RuntimeError("the job left changes uncommitted (write in write_transaction)")
            result.counts[job.name] = _plain(counted)
        except Exception as error:  # one job's failure must not stop the others
            _rollback(session)
            log.exception("job %s failed (pass %s)", job.name, result.run_id)
            summary = str(error).strip().splitlines()[0] if str(error).strip() else ""
            result.errors[job.name] = f"{type(error).__name__}: {summary}"[:300]
    result.seconds = time.monotonic() - began
    _close_run(session, result, explicit)
    return result


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("now must carry a timezone")
    return moment.astimezone(UTC)


def _plain(counted) -> Count:
    """A job's answer as JSON-ready counts: an int, or {key: int}."""
    if counted is None:
        return 0
    if isinstance(counted, Mapping):
        return {str(key): int(value) for key, value in counted.items()}
    return int(counted)


def _rollback(session: Session) -> None:
    try:
        session.rollback()
    except Exception:  # the connection itself is gone: the next use reconnects
        log.warning("rollback after a failed job failed too", exc_info=True)


def _open_run(session: Session, worker: str) -> int:
    with write_transaction(session):
        run = JobRun(worker=worker, started_at=datetime.now(UTC), counts={})
        session.add(run)
        session.flush()
        return run.id


def _close_run(session: Session, result: PassResult, explicit: bool) -> None:
    counts: dict = {"jobs": result.counts, "errors": result.errors}
    if explicit:
        counts["now"] = result.now.isoformat()
    if result.stopped:
        counts["stopped"] = True
    finished = datetime.now(UTC)
    with write_transaction(session):
        session.execute(
            update(JobRun)
            .where(JobRun.id == result.run_id)
            .values(finished_at=finished, counts=counts)
            .execution_options(synchronize_session=False)
        )
        _forget_old_runs(session, finished)


def _forget_old_runs(session: Session, finished: datetime) -> None:
    """Delete records of passes older than JOBS_KEEP_DAYS, a batch per pass (SKIP LOCKED:
    two workers never wait for each other here)."""
    days = int(current_app.config.get("JOBS_KEEP_DAYS", 30)) if has_app_context() else 30
    old = (
        select(JobRun.id)
        .where(JobRun.started_at < finished - timedelta(days=days))
        .order_by(JobRun.id)
        .limit(1000)
        .with_for_update(skip_locked=True)  # rendered by PostgreSQL only
    )
    ids = list(session.scalars(old))
    if ids:
        session.execute(
            delete(JobRun).where(JobRun.id.in_(ids)).execution_options(synchronize_session=False)
        )


def work(
    session: Session,
    *,
    every: float,
    stop: StopSignal,
    jobs: Sequence[Job] | None = None,
    worker: str | None = None,
    passes: int | None = None,
    on_pass: Callable[[PassResult], None] | None = None,
) -> int:
    """Run a pass every `every` seconds (start to start) until `stop` is set, or `passes`
    passes have run; log one line per pass. A pass that fails as a whole (the database is
    unreachable) is logged and tried again at the next tick. Returns the passes run."""
    count = 0
    while not stop.is_set():
        began = time.monotonic()
        try:
            result = run_pass(session, jobs=jobs, worker=worker, stop=stop)
        except Exception:
            _rollback(session)
            log.exception("jobs pass failed; trying again in %s s", every)
        else:
            log.info(result.line())
            if on_pass is not None:
                on_pass(result)
        finally:
            session.close()  # hand the connection back between passes
        count += 1
        if passes is not None and count >= passes:
            break
        stop.wait(max(0.0, every - (time.monotonic() - began)))
    return count


# --- for the dashboard -------------------------------------------------------------------


@dataclass(frozen=True)
class LastRun:
    """The most recent finished pass of any worker."""

    worker: str
    started_at: datetime
    finished_at: datetime
    counts: dict[str, Count]  # per job, in the order they ran
    errors: dict[str, str]  # job name -> "ExceptionType: message"
    now: datetime | None  # the explicit moment it ran at (`jobs run --now`), else None
    stopped: bool

    @property
    def ok(self) -> bool:
        return not self.errors


def last_run(session: Session) -> LastRun | None:
    """The most recent finished pass (by start), or None when no pass ever finished."""
    run = session.scalars(
        select(JobRun)
        .where(JobRun.finished_at.is_not(None))
        .order_by(JobRun.started_at.desc(), JobRun.id.desc())
        .limit(1)
    ).first()
    if run is None:
        return None
    data = run.counts or {}
    moment = data.get("now")
    return LastRun(
        worker=run.worker,
        started_at=run.started_at,
        finished_at=run.finished_at,
        counts=dict(data.get("jobs") or {}),
        errors=dict(data.get("errors") or {}),
        now=datetime.fromisoformat(moment) if moment else None,
        stopped=bool(data.get("stopped")),
    )
