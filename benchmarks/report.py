"""The results table: one row per request and engine, its target from issue 14 and whether
it was met; printed, and written as Markdown and JSON to bench/results/<UTC time>.md|.json."""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from .store import BENCH, ROOT

RESULTS = BENCH / "results"
LIST_MS = 50  # every list page, page 1000 included, p95
SEARCH_MS = 50  # a search, p95
SEARCH_FASTER = 20  # … and this many times faster than Flask-Admin (p50 against p50)
TOTALS_MS = {"postgresql": 100, "sqlite": 250}
AUTH_SHARE = {"hot": 0.30, "spread": 0.15}  # PostgreSQL: portal ÷ raw psycopg loop
AUTH_SQLITE_HOT = 150  # per second, one account
IMPORT_SECONDS = 5  # 100k account rows, SQLite, preview + apply
EXPORT_RATE = 80_000  # rows per second …
EXPORT_RSS_MB = 50  # … while a worker grows by less than this


@dataclass
class Row:
    request: str
    engine: str
    kind: str  # list, search, totals, page, auth, import, export
    portal: dict
    peer: dict | None = None
    extra: dict = field(default_factory=dict)
    target: str = "—"
    met: bool | None = None

    def __post_init__(self) -> None:
        self.target, self.met = _target(self)

    # --- the table's cells ---

    def portal_cell(self) -> str:
        if "p50_ms" in self.portal:
            return _ms(self.portal)
        if self.kind == "auth":
            rate = self.portal
            text = f"{rate['per_second']:,.0f}/s"
            if rate.get("cpu_ms_per_request"):
                text += f", {rate['cpu_ms_per_request']:.0f} ms CPU each"
            return text + (f" ({rate['other']} not 2xx)" if rate["other"] else "")
        if self.kind == "import":
            p = self.portal
            return f"{p['seconds']:.1f} s ({p['preview_seconds']:.1f} + {p['apply_seconds']:.1f})"
        if self.kind == "export":
            return f"{self.portal['rows_per_second']:,} rows/s, +{self.portal['rss_growth_mb']} MB"
        return "?"

    def peer_cell(self) -> str:
        if not self.peer:
            return "—"
        if "p50_ms" in self.peer:
            return _ms(self.peer)
        return f"raw {self.peer['per_second']:,.0f}/s"

    def ratio(self) -> float | None:
        if not self.peer:
            return None
        if "p50_ms" in self.peer:
            return self.portal["p50_ms"] / self.peer["p50_ms"] if self.peer["p50_ms"] else None
        return self.portal["per_second"] / self.peer["per_second"]

    def ratio_cell(self) -> str:
        ratio = self.ratio()
        if ratio is None:
            return "—"
        if self.kind == "auth":
            return f"{ratio:.0%}"
        return f"{ratio:.3f}" if ratio < 0.1 else f"{ratio:.2f}"

    def result_cell(self) -> str:
        return {True: "met", False: "**missed**", None: ""}[self.met]

    def cells(self) -> list[str]:
        return [
            self.request,
            self.engine,
            self.portal_cell(),
            self.peer_cell(),
            self.ratio_cell(),
            self.target,
            self.result_cell(),
        ]


HEADER = ["request", "engine", "portal p50 / p95", "peer p50 / p95", "ratio", "target", ""]


def _ms(timing: dict) -> str:
    text = f"{timing['p50_ms']:.1f} / {timing['p95_ms']:.1f} ms"
    return text + f" (n={timing['n']})" if timing.get("budget_cut") else text


def _target(row: Row) -> tuple[str, bool | None]:
    p, ratio = row.portal, row.ratio()
    if row.kind == "list":
        ok = p["p95_ms"] <= LIST_MS and (ratio is None or ratio <= 1)
        return f"p95 ≤ {LIST_MS} ms" + (", ≤ peer" if row.peer else ""), ok
    if row.kind == "search":
        ok = p["p95_ms"] <= SEARCH_MS and (ratio is None or ratio <= 1 / SEARCH_FASTER)
        return f"p95 ≤ {SEARCH_MS} ms" + (f", ≥ {SEARCH_FASTER}× peer" if row.peer else ""), ok
    if row.kind == "totals":
        limit = TOTALS_MS[row.engine]
        return f"p95 ≤ {limit} ms", p["p95_ms"] <= limit
    if row.kind == "auth":
        shape = row.extra["shape"]
        clean = p["other"] == 0
        if row.engine == "postgresql" and ratio is not None:
            share = AUTH_SHARE[shape]
            return f"≥ {share:.0%} of raw, all 2xx", ratio >= share and clean
        if row.engine == "sqlite" and shape == "hot":
            return f"≥ {AUTH_SQLITE_HOT}/s, all 2xx", p["per_second"] >= AUTH_SQLITE_HOT and clean
        return "all 2xx", clean
    if row.kind == "import" and row.engine == "sqlite":
        return f"≤ {IMPORT_SECONDS} s", p["seconds"] <= IMPORT_SECONDS
    if row.kind == "export":
        ok = p["rows_per_second"] >= EXPORT_RATE and p["rss_growth_mb"] < EXPORT_RSS_MB
        return f"≥ {EXPORT_RATE // 1000}k rows/s, RSS +< {EXPORT_RSS_MB} MB", ok
    return "—", None


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table (also readable as plain text)."""
    lines = [HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]

    def fmt(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [fmt(HEADER), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(row.cells()) for row in rows]
    return "\n".join(out)


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return ""


def write(rows: list[Row], run: dict, notes: list[str]) -> tuple[str, str]:
    """bench/results/<UTC time>.md and .json; returns their paths."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run = {
        **run,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {_cpus()} CPUs",
    }
    met = sum(row.met is True for row in rows)
    judged = sum(row.met is not None for row in rows)
    md = [
        f"# Benchmark {stamp}",
        "",
        f"{run['accounts']:,} accounts, {run['invoices']:,} invoices; "
        f"{run['repeat']} timed requests each after 3 warm-ups (p50 / p95); "
        f"authorizations for {run['seconds']} s with 32 client threads; "
        f"gunicorn 2 workers × 4 threads. Ratio: portal ÷ peer (p50; for authorizations "
        f"portal ÷ raw psycopg loop). Commit {run['commit']}, {run['machine']}.",
        "",
        table(rows),
        "",
        f"Targets met: {met} of {judged}.",
        "",
        *(f"- {note}" for note in notes),
        "",
    ]
    md_path = RESULTS / f"{stamp}.md"
    md_path.write_text("\n".join(md))
    json_path = RESULTS / f"{stamp}.json"
    payload = {"run": run, "notes": notes, "rows": [asdict(row) for row in rows]}
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return str(md_path.relative_to(ROOT)), str(json_path.relative_to(ROOT))


def _cpus() -> int:
    import os

    return os.cpu_count() or 0
