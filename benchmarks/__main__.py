"""`make bench`: time the hot paths on a large SQLite store (100k accounts, 1M invoices).

Run: .venv/bin/python -m benchmarks [--accounts N] [--invoices M]. Prints one line per
measurement; nothing here is asserted, tests never time anything.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from flask_migrate import upgrade


@contextmanager
def timed(label: str, rows: int | None = None):
    """Print how long the block took (and rows per second when `rows` is given)."""
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    rate = f"  {rows / seconds:,.0f} rows/s" if rows else ""
    print(f"{label:<58} {seconds:8.3f} s{rate}", flush=True)


def main() -> None:
    """Build the store, then measure listing pages, export and import."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    args = parser.parse_args()

    from portal import create_app
    from portal.extensions import db

    from .data import build_store

    folder = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": str(folder),
        }
    )
    try:
        _import(folder, args.import_rows)  # first: before the big store fills the heap
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory)
            with timed(f"build store ({args.accounts:,} accounts, {args.invoices:,} invoices)"):
                build_store(db.session, args.accounts, args.invoices)
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
            _listings(db.session)
            _export(db.session, args.invoices)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _listings(session) -> None:
    from portal import listing

    cases = [
        ("accounts: first page, default sort", listing.ACCOUNTS, {}),
        ("accounts: search 'buyer4242'", listing.ACCOUNTS, {"q": "buyer4242"}),
        (
            "accounts: sort by -balance, page 200",
            listing.ACCOUNTS,
            {"sort": "-balance", "page": "200"},
        ),
        ("invoices: first page, default sort", listing.INVOICES, {}),
        (
            "invoices: status=Opened, dueDateTo=today, sort dueDate",
            listing.INVOICES,
            {"status": "Opened", "dueDateTo": time.strftime("%Y-%m-%d"), "sort": "dueDate"},
        ),
        ("invoices: friendlyId exact", listing.INVOICES, {"friendlyId": "00424242"}),
        ("invoices: search 'ORD4242'", listing.INVOICES, {"q": "ORD4242"}),
        ("invoices: one account", listing.INVOICES, {"creditAccountId": "00000004242_Other"}),
    ]
    for label, spec, args in cases:
        query = listing.parse(spec, args)
        listing.run(session, spec, query, count_cap=10_000)  # warm the cache
        with timed(f"page {label}"):
            listing.run(session, spec, query, count_cap=10_000)
        with timed("  totals of the whole filtered set"):
            listing.summarize(session, spec, query)


def _export(session, invoices: int) -> None:
    from portal import exports, listing

    query = listing.parse(listing.INVOICES, {})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = 0
    with timed(f"export {invoices:,} invoices to CSV (streamed)", invoices):
        for chunk in exports.export_csv(session, listing.INVOICES, query):
            size += len(chunk)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"{'  export size / peak memory growth':<58} {size / 1e6:8.1f} MB / {grown:.0f} MB")


def _import(folder: Path, rows: int) -> None:
    from validate_docbr import CPF

    from portal import create_app, uploads
    from portal.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'import.sqlite3'}",
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": str(folder),
        }
    )
    documents: set[str] = set()
    generator = CPF()
    while len(documents) < rows:
        documents.add(generator.generate())
    lines = ["E-mail;Documento;Tipo de documento;Limite de crédito;Tolerância"]
    lines += [f"buyer{i}@example.com;{d};CPF;1.234,56;0,1" for i, d in enumerate(documents)]
    content = ("\r\n".join(lines) + "\r\n").encode("cp1252")
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        with timed(f"import preview {rows:,} account rows (cp1252, ';', decimal comma)", rows):
            batch, _ = uploads.preview_upload(
                db.session, "accounts", "bench.csv", content, "bench", max_bytes=len(content) + 1
            )
        with timed(f"import apply {rows:,} account rows", rows):
            uploads.apply_batch(db.session, batch.id, "bench")


if __name__ == "__main__":
    main()
