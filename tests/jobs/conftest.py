"""Helpers for the jobs tests: holds made in the past, and worker subprocesses."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal import credit, jobs
from portal.models import Invoice, PreAuthorization, StatementEntry, clock_at

REPO = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).parent / "flask")
PAST = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday: every hold made then is due now
CORE = [job for job in jobs.JOBS if job.name in ("expire", "settle")]


@pytest.fixture
def past_holds(session, make_account):
    """past_holds(accounts=3, per_account=4, expiring=1) -> (settle ids, expire ids).

    Holds authorized at PAST: settle=true ones (1–3 installments) are due for automatic
    settlement, settle=false ones expired long ago.
    """

    def make(accounts=3, per_account=4, expiring=1, prefix="H"):
        settle_ids, expire_ids = [], []
        with clock_at(PAST):
            for a in range(accounts):
                account = make_account(limit="100000")
                for h in range(per_account):
                    hold = credit.authorize(
                        session,
                        account.id,
                        "100.00",
                        actor="test",
                        transaction_id=f"{prefix}{a}-{h}",
                        installments=1 + h % 3,
                    )
                    settle_ids.append(hold.id)
                for e in range(expiring):
                    hold = credit.authorize(
                        session,
                        account.id,
                        "10.00",
                        actor="test",
                        transaction_id=f"{prefix}{a}-X{e}",
                        settle=False,
                    )
                    expire_ids.append(hold.id)
        return settle_ids, expire_ids

    return make


def assert_settled_once(session, settle_ids, expire_ids=()) -> None:
    """Every hold settled (or expired) exactly once; the ledger holds."""
    session.rollback()
    holds = {h.id: h for h in session.scalars(select(PreAuthorization))}
    assert {holds[t].status for t in settle_ids} == {"Settled"}
    assert {holds[t].status for t in expire_ids} <= {"Expired"}
    per_hold = dict(
        session.execute(
            select(Invoice.transaction_id, func.count()).group_by(Invoice.transaction_id)
        ).all()
    )
    expected = {t: holds[t].installments for t in settle_ids}
    assert {t: per_hold.get(t) for t in settle_ids} == expected
    invoices = session.scalar(select(func.count()).select_from(Invoice))
    entries = session.scalar(
        select(func.count()).select_from(StatementEntry).where(StatementEntry.origin == "Invoice")
    )
    assert invoices == entries == sum(holds[t].installments for t in settle_ids)
    assert credit.find_breaches(session) == []


def settled_count(session) -> int:
    session.rollback()
    settled = PreAuthorization.status == "Settled"
    return session.scalar(select(func.count()).select_from(PreAuthorization).where(settled))


# --- worker subprocesses -----------------------------------------------------------------


def process_env(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment of a portal process on the test's database (never the repo's)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTAL_", "MAKE", "MFLAGS", "FLASK_")) and k != "DATABASE_URL"
    }
    instance.mkdir(parents=True, exist_ok=True)
    env.update(
        DATABASE_URL=database_url,
        PORTAL_INSTANCE_PATH=str(instance),
        SECRET_KEY="test-secret-not-for-production",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


class Output:
    """The lines a subprocess prints (stdout and stderr merged), read by a thread."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self._stream = process.stdout
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line)
            self._new.put(line)

    def wait_for(self, text: str, timeout: float) -> str:
        """The first line (already read or still to come) that contains `text`."""
        for line in list(self.lines):
            if text in line:
                return line
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                line = self._new.get(timeout=left)
            except queue.Empty:
                break
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {timeout} s:\n{self.text()}")

    def text(self) -> str:
        return "".join(self.lines)[-6000:]

    def close(self) -> None:
        """Once the process has ended: read what is left and close the pipe."""
        self._thread.join(timeout=10)
        self._stream.close()


@contextlib.contextmanager
def worker_process(env: dict[str, str], *args: str) -> Iterator[tuple[subprocess.Popen, Output]]:
    """A `flask --app portal jobs worker` process; killed (if still running) on exit."""
    process = subprocess.Popen(
        [FLASK, "--app", "portal", "jobs", "worker", *args],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(process)
    try:
        yield process, output
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        output.close()


def wait_until(condition: Callable[[], bool], timeout: float, what: str, step=0.02) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
