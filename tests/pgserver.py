"""Throwaway PostgreSQL server for the test suite.

``postgres_url()`` returns a SQLAlchemy URL for a PostgreSQL server the tests may use:

* ``TEST_POSTGRES_URL`` from the environment, when set;
* otherwise a private server started from the Debian binaries in
  ``/usr/lib/postgresql/*/bin`` (one per process, stopped and deleted at exit);
* ``None`` when PostgreSQL is not installed.

``create_database(url, name)`` (re)creates an empty database on that server and
returns the URL that points at it.

initdb and pg_ctl refuse to run as root, so as root they run as the ``postgres``
user (``runuser``) on a data folder that user owns. The server listens on
127.0.0.1 on a free port, trusts every local connection and skips fsync: for tests only.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from urllib.parse import urlsplit, urlunsplit

__all__ = ["create_database", "find_pg_bin", "postgres_url"]

_lock = threading.Lock()
_cached_url: str | None = None
_started = False


def find_pg_bin() -> str | None:
    """The bin folder of the highest installed PostgreSQL version with initdb and pg_ctl."""

    def version(path: str) -> tuple[int, ...]:
        name = os.path.basename(os.path.dirname(path))
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    candidates = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(os.path.join(d, "initdb"), os.X_OK)
        and os.access(os.path.join(d, "pg_ctl"), os.X_OK)
    ]
    return max(candidates, key=version) if candidates else None


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str], timeout: float = 60) -> None:
    # cwd="/": as the postgres user, a cwd such as /root is unreadable and initdb balks.
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    proc = subprocess.run(
        _as_postgres(cmd),
        cwd="/",
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed with exit code {proc.returncode}:\n{proc.stdout}"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(bindir: str) -> str:
    initdb = os.path.join(bindir, "initdb")
    pg_ctl = os.path.join(bindir, "pg_ctl")

    datadir = tempfile.mkdtemp(prefix="pgtest-")  # mode 0700, as initdb wants
    if os.geteuid() == 0:
        shutil.chown(datadir, user="postgres", group="postgres")
    owner_pid = os.getpid()
    running = False

    def cleanup() -> None:
        if os.getpid() != owner_pid:  # a forked child must not stop its parent's server
            return
        if running:
            with contextlib.suppress(Exception):
                _run([pg_ctl, "-D", datadir, "-m", "immediate", "-w", "stop"], timeout=30)
        shutil.rmtree(datadir, ignore_errors=True)

    atexit.register(cleanup)

    _run(
        [
            initdb,
            "-D",
            datadir,
            "--auth=trust",
            "-U",
            "postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        timeout=120,
    )

    logfile = os.path.join(datadir, "log")
    last_error: Exception | None = None
    for _attempt in range(3):  # the free port may be taken between probe and bind
        port = _free_port()
        options = (
            f"-F -p {port} -k {datadir} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        try:
            _run([pg_ctl, "-D", datadir, "-o", options, "-w", "-t", "60", "-l", logfile, "start"])
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            try:
                with open(logfile, encoding="utf-8", errors="replace") as fh:
                    tail = fh.read()[-2000:]
            except OSError:
                tail = ""
            last_error = RuntimeError(f"{exc}\n--- server log ---\n{tail}")
            # pg_ctl may have timed out with the server still starting: make sure it is gone.
            with contextlib.suppress(Exception):
                _run([pg_ctl, "-D", datadir, "-m", "immediate", "-w", "stop"], timeout=30)
            continue
        running = True
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    raise RuntimeError(f"could not start PostgreSQL in {datadir}") from last_error


def postgres_url() -> str | None:
    """URL of a PostgreSQL server for tests, or None when none is available."""
    global _cached_url, _started
    env_url = os.environ.get("TEST_POSTGRES_URL")
    if env_url:
        return env_url
    with _lock:
        if not _started:
            bindir = find_pg_bin()
            if bindir is not None:
                _cached_url = _start_server(bindir)
            _started = True
        return _cached_url


def _libpq_url(url: str) -> str:
    """SQLAlchemy's ``postgresql+psycopg://`` → libpq's ``postgresql://``."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def create_database(url: str, name: str) -> str:
    """Drop and re-create database ``name`` on the server of ``url``; return its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(_libpq_url(url), autocommit=True, connect_timeout=10) as conn:
        ident = sql.Identifier(name)
        if conn.info.server_version >= 130000:
            # FORCE closes sessions a previous, crashed test run may have left open.
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        else:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))
