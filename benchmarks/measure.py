"""The measurements: timed GETs, authorizations per second, the raw psycopg loop, the
import and the streamed export with the workers' memory."""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from .server import BenchError, Gunicorn, check

WARMUP = 3
SLOW_WARMUP = 5.0  # seconds: a warm-up this slow is the last one (the caches are warm by now)
MIN_TIMED = 5  # a slow request is still timed at least this many times …
BUDGET = 60.0  # … but no more once its timed requests add up to this many seconds


@dataclass
class Timing:
    """Milliseconds of N sequential requests (after the warm-ups)."""

    p50: float
    p95: float
    n: int
    size: int  # bytes of the last answer
    cut: bool = False  # fewer than asked: the time budget ran out

    def json(self) -> dict:
        data = {"p50_ms": round(self.p50, 2), "p95_ms": round(self.p95, 2), "n": self.n}
        return {**data, "budget_cut": True} if self.cut else data


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100), interpolated between the closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    k = (len(ordered) - 1) * q / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def timed_get(
    session: requests.Session,
    url: str,
    params: dict | None = None,
    headers: dict | None = None,
    repeat: int = 20,
) -> Timing:
    """3 warm-ups, then `repeat` timed requests one after the other; each must be a 200.

    A request of several seconds (Flask-Admin's search over a million rows) is warmed up
    once and timed MIN_TIMED times or for BUDGET seconds, whichever is more: `n` says how
    many were timed.
    """

    def get() -> tuple[float, requests.Response]:
        start = time.perf_counter()
        response = session.get(
            url, params=params, headers=headers, allow_redirects=False, timeout=600
        )
        seconds = time.perf_counter() - start
        return seconds, check(response)

    for _ in range(WARMUP):
        seconds, response = get()
        if seconds > SLOW_WARMUP:
            break
    times: list[float] = []
    while len(times) < repeat:
        if len(times) >= min(MIN_TIMED, repeat) and sum(times) > BUDGET:
            break
        seconds, response = get()
        times.append(seconds)
    ms = [t * 1000 for t in times]
    cut = len(ms) < repeat
    return Timing(statistics.median(ms), percentile(ms, 95), len(ms), len(response.content), cut)


# --- authorizations ----------------------------------------------------------------------------


@dataclass
class Rate:
    """Operations per second over a fixed duration, with their statuses."""

    per_second: float
    seconds: float
    statuses: Counter
    cpu_ms: float | None = None  # server CPU per answer (the portal's workers)
    client_cpu_ms: float | None = None  # the load threads' CPU per answer

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if isinstance(s, int) and 200 <= s < 300)

    @property
    def other(self) -> int:
        return sum(self.statuses.values()) - self.ok

    def json(self) -> dict:
        return {
            "per_second": round(self.per_second, 1),
            "seconds": round(self.seconds, 2),
            "ok": self.ok,
            "other": self.other,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            **({"cpu_ms_per_request": round(self.cpu_ms, 1)} if self.cpu_ms else {}),
            **(
                {"client_cpu_ms_per_request": round(self.client_cpu_ms, 1)}
                if self.client_cpu_ms
                else {}
            ),
        }


def _hammer(work, threads: int, seconds: float) -> Rate:
    """Run `work(index, rng, until)` in `threads` threads; each returns a Counter of
    outcomes. Counts what completed between the start and the last thread's end."""
    results: list[Counter] = [Counter() for _ in range(threads)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def run(index: int) -> None:
        try:
            setup = work.setup(index) if hasattr(work, "setup") else None
            barrier.wait()
            until = time.perf_counter() + seconds
            results[index] = work(index, random.Random(index), until, setup)
        except BaseException as error:
            errors.append(error)
            barrier.abort()

    pool = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise BenchError(f"a load thread failed: {errors[0]!r}") from errors[0]
    total = sum(results, Counter())
    done = sum(total.values())
    return Rate(done / elapsed, elapsed, total)


class _PortalAuthorizations:
    """POST /api/creditcontrol/accounts/<id>/transactions, 1.00 each, settle true.

    Sent with http.client on one kept-alive connection per thread: the load runs on the
    same two cores as the server it measures, and requests spends ~1.5 ms of CPU a POST
    where http.client spends ~0.5 (the raw loop's client is psycopg, as lean)."""

    def __init__(self, base: str, headers: dict, accounts: list[str]):
        self.address = urlsplit(base).netloc
        self.headers = {**headers, "Content-Type": "application/json"}
        self.accounts = accounts

    def setup(self, index: int) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.address, timeout=60)

    def __call__(self, index, rng, until, connection) -> Counter:
        counts: Counter = Counter()
        body = json.dumps({"value": 1, "settle": True, "installments": 1})
        while time.perf_counter() < until:
            account = self.accounts[rng.randrange(len(self.accounts))]
            path = f"/api/creditcontrol/accounts/{account}/transactions"
            try:
                connection.request("POST", path, body=body, headers=self.headers)
                response = connection.getresponse()
                response.read()
                counts[response.status] += 1
            except (OSError, http.client.HTTPException) as error:
                counts[type(error).__name__] += 1
                connection.close()  # the next request opens a new connection
        connection.close()
        return counts


def portal_authorizations(server: Gunicorn, headers, accounts, seconds, threads=32) -> Rate:
    """The rate, the gunicorn workers' CPU time per answer (user + system), and the load
    threads' own."""
    before, client_before = server_cpu(server), time.process_time()
    rate = _hammer(_PortalAuthorizations(server.base, headers, accounts), threads, seconds)
    done = sum(rate.statuses.values())
    if done:
        rate.cpu_ms = (server_cpu(server) - before) * 1000 / done
        rate.client_cpu_ms = (time.process_time() - client_before) * 1000 / done
    return rate


def server_cpu(server: Gunicorn) -> float:
    """Seconds of CPU the gunicorn workers have used so far."""
    total = 0.0
    for worker in server.workers():
        try:
            times = worker.cpu_times()
        except Exception:  # a worker restarting between the listing and the read
            continue
        total += times.user + times.system
    return total


RAW_TABLES = """
DROP TABLE IF EXISTS bench_raw_holds;
DROP TABLE IF EXISTS bench_raw_accounts;
CREATE TABLE bench_raw_accounts (
    id VARCHAR(80) PRIMARY KEY,
    balance NUMERIC(14, 2) NOT NULL,
    pre_authorized NUMERIC(14, 2) NOT NULL DEFAULT 0
);
CREATE TABLE bench_raw_holds (
    id BIGSERIAL PRIMARY KEY,
    account_id VARCHAR(80) NOT NULL REFERENCES bench_raw_accounts (id),
    value NUMERIC(14, 2) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"""


def prepare_raw(dsn: str, accounts: list[str]) -> None:
    """Scratch tables beside the portal's: the same accounts, their balances copied."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(RAW_TABLES)
        conn.execute(
            "INSERT INTO bench_raw_accounts (id, balance) "
            "SELECT id, balance FROM accounts WHERE id = ANY(%s)",
            (accounts,),
        )
        conn.execute("ANALYZE bench_raw_accounts")


class _RawLoop:
    """BEGIN; SELECT … FOR UPDATE; INSERT a hold; UPDATE the balance; COMMIT — per thread
    its own connection."""

    def __init__(self, dsn: str, accounts: list[str]):
        self.dsn, self.accounts = dsn, accounts

    def setup(self, index: int):
        import psycopg

        return psycopg.connect(self.dsn)

    def __call__(self, index, rng, until, conn) -> Counter:
        counts: Counter = Counter()
        value = 1
        while time.perf_counter() < until:
            account = self.accounts[rng.randrange(len(self.accounts))]
            row = conn.execute(
                "SELECT balance, pre_authorized FROM bench_raw_accounts WHERE id = %s FOR UPDATE",
                (account,),
            ).fetchone()
            if row[0] - row[1] < value:
                conn.rollback()
                counts["refused"] += 1
                continue
            conn.execute(
                "INSERT INTO bench_raw_holds (account_id, value) VALUES (%s, %s)", (account, value)
            )
            conn.execute(
                "UPDATE bench_raw_accounts SET balance = balance - %s, "
                "pre_authorized = pre_authorized + %s WHERE id = %s",
                (value, value, account),
            )
            conn.commit()
            counts[200] += 1
        conn.close()
        return counts


def raw_authorizations(dsn: str, accounts, seconds, threads=32) -> Rate:
    return _hammer(_RawLoop(dsn, accounts), threads, seconds)


# --- memory of gunicorn's workers --------------------------------------------------------------


class RssSampler:
    """The RSS of each gunicorn worker every 100 ms, on a thread, while the block runs."""

    def __init__(self, server: Gunicorn, interval: float = 0.1):
        self.server, self.interval = server, interval
        self.samples: dict[int, list[int]] = {}
        self._stop = threading.Event()

    def _sample(self) -> None:
        for worker in self.server.workers():
            try:
                self.samples.setdefault(worker.pid, []).append(worker.memory_info().rss)
            except Exception:  # a worker restarting between the listing and the read
                continue

    def baseline(self, seconds: float = 1.0) -> dict[int, int]:
        """Each worker's RSS before: the highest of `seconds` of samples."""
        self.samples = {}
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            self._sample()
            time.sleep(self.interval)
        before = {pid: max(values) for pid, values in self.samples.items()}
        self.samples = {}
        return before

    def __enter__(self) -> RssSampler:
        self.before = self.baseline()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def growth_mb(self) -> float:
        """The largest growth of one worker over its RSS before, in MB."""
        grown = [
            max(values) - self.before.get(pid, min(values))
            for pid, values in self.samples.items()
            if values
        ]
        return max(grown, default=0) / 1e6


def export(server: Gunicorn, session: requests.Session, path: str) -> dict:
    """Stream a CSV export; rows per second and the serving worker's RSS growth."""
    with RssSampler(server) as rss:
        start = time.perf_counter()
        response = check(session.get(server.base + path, stream=True, timeout=600))
        size = lines = 0
        for chunk in response.iter_content(1 << 20):
            size += len(chunk)
            lines += chunk.count(b"\n")
        seconds = time.perf_counter() - start
    rows = max(lines - 1, 0)  # the header line
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "megabytes": round(size / 1e6, 1),
        "rss_growth_mb": round(rss.growth_mb(), 1),
        "rss_before_mb": {str(pid): round(v / 1e6, 1) for pid, v in rss.before.items()},
    }


def import_accounts(server: Gunicorn, headers: dict, content: bytes, rows: int) -> dict:
    """POST the CSV to the API (the dry run), then apply it; both timed."""
    session = requests.Session()
    session.headers.update(headers)
    start = time.perf_counter()
    preview = check(
        session.post(
            server.base + "/api/portal/imports/accounts",
            data=content,
            headers={"Content-Type": "text/csv"},
            timeout=600,
        ),
        (201,),
    ).json()
    previewed = time.perf_counter()
    if preview["counts"].get("create") != rows:
        raise BenchError(f"the import preview does not create {rows} accounts: {preview['counts']}")
    applied = check(
        session.post(
            f"{server.base}/api/portal/imports/{preview['id']}/apply", json={}, timeout=600
        )
    ).json()
    done = time.perf_counter()
    if applied["status"] != "applied":
        raise BenchError(f"the import was not applied: {applied}")
    return {
        "rows": rows,
        "preview_seconds": round(previewed - start, 2),
        "apply_seconds": round(done - previewed, 2),
        "seconds": round(done - start, 2),
        "rows_per_second": round(rows / (done - start)),
    }


def accounts_csv(rows: int) -> bytes:
    """`rows` new accounts as a Brazilian spreadsheet saves them: cp1252, ';', decimal comma."""
    from validate_docbr import CPF

    documents: set[str] = set()
    generator = CPF()
    while len(documents) < rows:
        documents.add(generator.generate())
    lines = ["E-mail;Documento;Tipo de documento;Limite de crédito;Tolerância"]
    lines += [f"buyer{i}@example.com;{d};CPF;1.234,56;0,1" for i, d in enumerate(documents)]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")
