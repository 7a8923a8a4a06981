"""`make run` for real: honcho runs the Procfile, gunicorn answers, the jobs worker passes,
and one SIGINT (Ctrl-C) stops both, leaving no process behind.

The processes run on the test's database and a temporary instance folder (never the
developer's `instance/`), with an empty env file instead of a possible `.env`.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.models import JobRun

from .jobs.conftest import Output, process_env

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's bin: honcho, gunicorn and flask


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_with(marker: str) -> list[int]:
    """The live processes whose environment holds `marker` (Linux /proc; zombies have none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours
            continue
        if marker.encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def get(url: str, timeout: float) -> tuple[int, dict[str, str]]:
    """GET `url` once the server listens (retried until `timeout`)."""
    end = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, dict(response.headers)
        except OSError:  # refused (not listening yet), or a timeout: the workers still boot
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def test_make_run_serves_with_gunicorn_runs_the_worker_and_stops_on_ctrl_c(
    app, session, database_url, tmp_path
):
    assert (REPO / "Procfile").is_file() and "honcho start --port" in (
        REPO / "Makefile"
    ).read_text()
    port = free_port()
    instance = tmp_path / "instance"
    env = process_env(database_url, instance, PORTAL_JOBS_EVERY="1")
    for name in ("PORT", "WEB_BIND", "WEB_CONCURRENCY", "WEB_THREADS"):
        env.pop(name, None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # as `make run` sets it
    marker = f"PORTAL_INSTANCE_PATH={instance}"
    empty = tmp_path / "empty.env"
    empty.write_text("")
    honcho = subprocess.Popen(
        [str(BIN / "honcho"), "start", "--port", str(port), "--env", str(empty)],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # our SIGINT goes to honcho alone, as a terminal's would
    )
    output = Output(honcho)
    try:
        status, headers = get(f"http://127.0.0.1:{port}/login", timeout=60)
        assert status == 200
        assert headers.get("Server", "").startswith("gunicorn"), headers
        output.wait_for("Booting worker with pid", timeout=10)  # gunicorn's own log
        output.wait_for("a pass every 1 s", timeout=30)  # PORTAL_JOBS_EVERY honoured
        output.wait_for("INFO in jobs: jobs pass", timeout=30)
        started = output.wait_for("worker.1 started (pid=", timeout=5)
        worker_pid = int(re.search(r"pid=(\d+)", started).group(1))

        honcho.send_signal(signal.SIGINT)
        assert honcho.wait(timeout=20) == 130, output.text()  # honcho's answer to SIGINT
        output.close()
        log = output.text()
        assert re.search(r"web\.1\s+stopped \(rc=0\)", log), log
        assert re.search(r"worker\.1\s+stopped \(rc=0\)", log), log
        assert "stopped (SIGTERM) after" in log  # the worker finished its pass and said so
        assert "SIGKILL" not in log, log  # honcho did not have to force anything
        end = time.monotonic() + 5
        while (left := processes_with(marker)) and time.monotonic() < end:
            time.sleep(0.1)
        assert left == [], f"still running: {left}\n{log}"
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait(timeout=10)
        for pid in processes_with(marker):  # children of this test only (its instance path)
            os.kill(pid, signal.SIGKILL)
        output.close()

    # the worker used the test's database, not the developer's
    session.rollback()
    name = f"{socket.gethostname()}:{worker_pid}"[:120]
    runs = session.scalars(select(JobRun).where(JobRun.worker == name)).all()
    assert runs and all(run.counts.get("errors") == {} for run in runs if run.finished_at)
    assert not (instance / "portal.sqlite3").exists()  # DATABASE_URL, not instance/'s file
