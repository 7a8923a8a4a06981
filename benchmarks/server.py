"""gunicorn as users meet it (2 workers × 4 threads), started on a store and stopped after;
and the HTTP client side: logging in, and requests that must answer 200."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time

import psutil
import requests

from .store import BENCH, INSTANCE, ROOT, SECRET_KEY, Store

LOGS = BENCH / "logs"
PORTAL = "portal.wsgi:app"
PEER = "benchmarks.peer:create_app()"


class BenchError(RuntimeError):
    """A request the benchmark relies on did not answer what it must: the run stops."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """`gunicorn --workers 2 --threads 4` serving `app` on `store`, as a context manager."""

    def __init__(self, app: str, store: Store, name: str, probe: str = "/login"):
        self.app, self.store, self.name, self.probe = app, store, name, probe
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        LOGS.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "DATABASE_URL": self.store.url,
            "SECRET_KEY": SECRET_KEY,
            "PORTAL_INSTANCE_PATH": str(INSTANCE),
            "PYTHONUNBUFFERED": "1",
        }
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "600",  # a 100k-row import or a 1M-row export is one long request
            "--forwarded-allow-ips",
            "",
            "--no-control-socket",
            self.app,
        ]
        self.log = LOGS / f"{self.name}.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn {self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                if requests.get(self.base + self.probe, timeout=5).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise BenchError(f"gunicorn {self.name} did not answer in {timeout:.0f} s")

    def workers(self) -> list[psutil.Process]:
        """gunicorn's worker processes (children of the master)."""
        try:
            return psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def __exit__(self, *exc) -> None:
        self.stop()


def check(response: requests.Response, expected: tuple[int, ...] = (200,)) -> requests.Response:
    """The response, if its status is expected; otherwise the run stops naming it."""
    if response.status_code not in expected:
        body = response.text[:500]
        raise BenchError(
            f"{response.request.method} {response.url} answered {response.status_code} "
            f"(expected {'/'.join(map(str, expected))})\n{body}"
        )
    return response


_CSRF = re.compile(
    r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|'
    r'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"'
)


def login(base: str, email: str, password: str, landing: str) -> requests.Session:
    """A session logged in through the login form (GET /login, its csrf_token, POST)."""
    session = requests.Session()
    page = check(session.get(base + "/login", timeout=30))
    match = _CSRF.search(page.text)
    if not match:
        raise BenchError("no csrf_token in the login form")
    token = match.group(1) or match.group(2)
    form = {"csrf_token": token, "email": email, "password": password}
    check(session.post(base + "/login", data=form, allow_redirects=False, timeout=30), (302, 303))
    check(session.get(base + landing, allow_redirects=False, timeout=30))
    return session
