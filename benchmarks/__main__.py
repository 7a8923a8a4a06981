"""`make bench`: what users hit, timed over HTTP, on SQLite and PostgreSQL (issue 14).

For each engine the store (N accounts, M invoices, plus one account with 10k invoices for
My Credits) is built once and cached by size (benchmarks/store.py). The portal is served
by gunicorn (2 workers × 4 threads) as in production, and so is a Flask-Admin peer over the
same models and database (benchmarks/peer.py). Then:

- lists: the back-office invoices and accounts lists (first page, page 1000, filter + sort,
  search hit, search miss, exact id), their totals, the account page, My Credits, the
  dashboard and the API search: 3 warm-ups, then --repeat requests one after the other,
  p50 / p95; each list beside its Flask-Admin equivalent. Every request must answer 200:
  anything else stops the run.
- export: /admin/invoices/export.csv streamed, rows/s, and the gunicorn worker's RSS growth
  (sampled every 100 ms).
- auth: POST …/transactions from 32 threads for --seconds, on one hot account and spread
  over 1,000 accounts, on a copy of the store; on PostgreSQL beside a raw psycopg loop
  doing the same row work. Then `flask --app portal credit verify` on the copy, and no
  account below its floor.
- import: 100k new accounts through the API (dry run + apply) into an empty database.

One table is printed and written to bench/results/<UTC time>.md and .json. Nothing here
is a test: tests never import benchmarks. Run: .venv/bin/python -m benchmarks --help.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

import requests

from . import measure, report
from .peer import AccountView, InvoiceView, sort_index
from .report import Row
from .server import PEER, PORTAL, BenchError, Gunicorn, login
from .store import INSTANCE, SECRET_KEY, Store, drop, empty_store, ensure_store, libpq, portal_app
from .store import work_copy as copy_of

PARTS = ("lists", "export", "auth", "import")
AUTH_ACCOUNTS = 1000
ROOM = Decimal(1_000_000_000)  # credit given to the authorization accounts: none is refused


def main() -> None:
    args = _arguments()
    logging.disable(logging.INFO)  # Alembic's "Running upgrade …" for every store
    started = time.perf_counter()
    rows: list[Row] = []
    notes: list[str] = []
    phases: dict[str, float] = {}
    csv = None
    for engine in args.engines:
        begun = time.perf_counter()
        store = ensure_store(engine, args.accounts, args.invoices)
        phases[f"{engine} store"] = time.perf_counter() - begun
        if store.built_seconds is not None:
            notes.append(f"{engine}: store built in {store.built_seconds:.0f} s")
        if {"lists", "export"} & args.only:
            begun = time.perf_counter()
            rows += _served(store, args)
            phases[f"{engine} lists+export"] = time.perf_counter() - begun
        if "auth" in args.only:
            begun = time.perf_counter()
            auth_rows, auth_notes = _authorizations(store, args)
            rows += auth_rows
            notes += auth_notes
            phases[f"{engine} auth"] = time.perf_counter() - begun
        if "import" in args.only:
            begun = time.perf_counter()
            if csv is None:
                csv = measure.accounts_csv(args.import_rows)
            rows.append(_import(engine, csv, args.import_rows))
            phases[f"{engine} import"] = time.perf_counter() - begun
    total = time.perf_counter() - started
    notes.append(
        "wall time: "
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.items())
        + f"; total {total:.0f} s"
    )
    print()
    print(report.table(rows))
    print()
    for note in notes:
        print("-", note)
    run = {
        "accounts": args.accounts,
        "invoices": args.invoices,
        "engines": args.engines,
        "repeat": args.repeat,
        "seconds": args.seconds,
        "only": sorted(args.only),
        "import_rows": args.import_rows,
        "phases_seconds": {k: round(v, 1) for k, v in phases.items()},
    }
    md, js = report.write(rows, run, notes)
    print(f"\nwritten: {md}, {js}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument(
        "--engines", default="sqlite,postgresql", help="comma list: sqlite, postgresql"
    )
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per measurement")
    parser.add_argument("--seconds", type=float, default=10, help="each authorization run")
    parser.add_argument(
        "--only",
        action="append",
        help=f"{', '.join(PARTS)} (repeatable or a comma list; default: all)",
    )
    parser.add_argument("--import-rows", type=int, default=100_000)
    args = parser.parse_args()
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if unknown := set(args.engines) - {"sqlite", "postgresql"}:
        parser.error(f"unknown engine(s): {', '.join(sorted(unknown))}")
    only = {p.strip() for item in (args.only or [",".join(PARTS)]) for p in item.split(",")}
    if unknown := only - set(PARTS) - {""}:
        parser.error(f"unknown --only part(s): {', '.join(sorted(unknown))}")
    args.only = only - {""}
    if args.repeat < 1 or args.accounts < 1 or args.invoices < 1:
        parser.error("--repeat, --accounts and --invoices must be positive")
    return args


# --- lists, pages and export -------------------------------------------------------------------


def _served(store: Store, args) -> list[Row]:
    """The portal and the peer on the cached store: lists, pages, then the export."""
    engine, rows = store.engine, []
    meta = store.meta
    with (
        Gunicorn(PORTAL, store, f"{engine}-portal") as portal,
        Gunicorn(PEER, store, f"{engine}-peer", probe="/admin/") as peer,
    ):
        owner = login(portal.base, meta["owner"]["email"], meta["owner"]["password"], "/admin")
        if "lists" in args.only:
            customer = login(
                portal.base,
                meta["customer"]["email"],
                meta["customer"]["password"],
                "/my-credits",
            )
            client = requests.Session()
            rows += _lists(store, args, portal, peer, owner, client, customer)
            client.close()
            customer.close()
        if "export" in args.only:
            result = measure.export(portal, owner, "/admin/invoices/export.csv")
            expected = args.invoices + meta["heavy_invoices"]
            if result["rows"] != expected:
                raise BenchError(f"the export has {result['rows']} rows, not {expected}")
            rows.append(_show(Row("export all invoices (CSV, streamed)", engine, "export", result)))
        owner.close()
    return rows


def _cases(args, meta: dict) -> list[tuple]:
    """(kind, label, portal path, params, headers, peer path or None, peer params)."""
    a = 4242 % args.accounts
    account_id = f"{a:011d}_Other"
    company = f"Company {a}"
    i = 4242 % args.invoices
    order, friendly = f"ORD{i}", f"{i:08d}"
    today = date.today()
    tomorrow = (today + timedelta(days=1)).isoformat()
    invoice_pages = -(-(args.invoices + meta["heavy_invoices"]) // InvoiceView.page_size)
    account_pages = -(-(args.accounts + 1) // AccountView.page_size)
    ip, ap = min(1000, invoice_pages), min(1000, account_pages)
    opened = {"status": "Opened", "dueDateTo": today.isoformat(), "sort": "-value"}
    peer_opened = {
        "flt0_status_equals": "Opened",
        "flt1_due_date_smaller_than": tomorrow,
        "sort": sort_index(InvoiceView, "value"),
        "desc": 1,
    }
    open_accounts = {"status": "Open", "sort": "-credit_limit"}
    peer_open_accounts = {
        "flt0_status_equals": "Open",
        "sort": sort_index(AccountView, "credit_limit"),
        "desc": 1,
    }
    htmx = {"HX-Request": "true"}
    inv, acc = "/admin/invoices", "/admin/accounts"
    pinv, pacc = "/admin/invoices/", "/admin/accounts/"
    return [
        ("list", "invoices: first page", inv, {}, None, pinv, {}),
        ("list", f"invoices: page {ip}", inv, {"page": ip}, None, pinv, {"page": ip - 1}),
        ("list", "invoices: Opened, due ≤ today, by -value", inv, opened, None, pinv, peer_opened),
        (
            "search",
            f"invoices: search hit '{order}'",
            inv,
            {"q": order},
            None,
            pinv,
            {"search": order},
        ),
        (
            "search",
            f"invoices: search hit '{company}'",
            inv,
            {"q": company},
            None,
            pinv,
            {"search": company},
        ),
        (
            "search",
            "invoices: search miss 'zzqxj'",
            inv,
            {"q": "zzqxj"},
            None,
            pinv,
            {"search": "zzqxj"},
        ),
        (
            "search",
            f"invoices: exact friendly id '{friendly}'",
            inv,
            {"q": friendly},
            None,
            pinv,
            {"search": friendly},
        ),
        ("search", f"invoices: search '{order}', htmx table", inv, {"q": order}, htmx, None, None),
        ("totals", "invoices totals: all", f"{inv}/totals", {}, None, None, None),
        (
            "totals",
            "invoices totals: Opened, due ≤ today",
            f"{inv}/totals",
            opened,
            None,
            None,
            None,
        ),
        (
            "totals",
            f"invoices totals: search '{company}'",
            f"{inv}/totals",
            {"q": company},
            None,
            None,
            None,
        ),
        ("list", "accounts: first page", acc, {}, None, pacc, {}),
        ("list", f"accounts: page {ap}", acc, {"page": ap}, None, pacc, {"page": ap - 1}),
        (
            "list",
            "accounts: Open, by -credit limit",
            acc,
            open_accounts,
            None,
            pacc,
            peer_open_accounts,
        ),
        (
            "search",
            f"accounts: search hit '{company}'",
            acc,
            {"q": company},
            None,
            pacc,
            {"search": company},
        ),
        (
            "search",
            "accounts: search miss 'zzqxj'",
            acc,
            {"q": "zzqxj"},
            None,
            pacc,
            {"search": "zzqxj"},
        ),
        (
            "search",
            f"accounts: exact id '{account_id}'",
            acc,
            {"q": account_id},
            None,
            pacc,
            {"search": account_id},
        ),
        ("totals", "accounts totals: all", f"{acc}/totals", {}, None, None, None),
        ("totals", "accounts totals: Open", f"{acc}/totals", {"status": "Open"}, None, None, None),
        (
            "totals",
            f"accounts totals: search '{company}'",
            f"{acc}/totals",
            {"q": company},
            None,
            None,
            None,
        ),
    ]


def _lists(store, args, portal, peer, owner, client, customer) -> list[Row]:
    meta, engine, rows = store.meta, store.engine, []
    for kind, label, path, params, headers, peer_path, peer_params in _cases(args, meta):
        mine = measure.timed_get(owner, portal.base + path, params, headers, args.repeat)
        theirs = None
        if peer_path is not None:
            theirs = measure.timed_get(
                client, peer.base + peer_path, peer_params, None, args.repeat
            )
        rows.append(_show(Row(label, engine, kind, mine.json(), theirs.json() if theirs else None)))
    a = f"{4242 % args.accounts:011d}_Other"
    heavy = meta["heavy_account"]
    api = store.api_headers
    pages = [
        (owner, f"account page ({a})", f"/admin/accounts/{a}", {}, None),
        (
            owner,
            f"account page, {meta['heavy_invoices']:,} invoices",
            f"/admin/accounts/{heavy}",
            {},
            None,
        ),
        (customer, f"My Credits, {meta['heavy_invoices']:,} invoices", "/my-credits", {}, None),
        (owner, "dashboard /admin", "/admin", {}, None),
        (
            client,
            "API invoices search: one account",
            "/api/creditcontrol/invoices",
            {"creditAccountId": a},
            api,
        ),
        (
            client,
            f"API invoices search: q=ORD{4242 % args.invoices}",
            "/api/creditcontrol/invoices",
            {"q": f"ORD{4242 % args.invoices}"},
            api,
        ),
        (
            client,
            f"API accounts search: q=Company {4242 % args.accounts}",
            "/api/creditcontrol/accounts",
            {"q": f"Company {4242 % args.accounts}"},
            api,
        ),
    ]
    for session, label, path, params, headers in pages:
        timing = measure.timed_get(session, portal.base + path, params, headers, args.repeat)
        rows.append(_show(Row(label, engine, "page", timing.json())))
    return rows


def _show(row: Row) -> Row:
    print(" | ".join(row.cells()), flush=True)
    return row


# --- authorizations ----------------------------------------------------------------------------


def _authorizations(store: Store, args) -> tuple[list[Row], list[str]]:
    """Hot and spread, on a copy of the store (dropped after): the cache stays as built."""
    engine = store.engine
    print(f"[{engine}] copying the store for the authorizations …", flush=True)
    work = copy_of(store, "auth")
    try:
        accounts = _make_room(work)
        shapes = {"hot": accounts[:1], "spread": accounts}
        rows = []
        with Gunicorn(PORTAL, work, f"{engine}-auth") as portal:
            if engine == "postgresql":
                measure.prepare_raw(libpq(work.url), accounts)
            for shape, ids in shapes.items():
                rate = measure.portal_authorizations(portal, work.api_headers, ids, args.seconds)
                raw = None
                if engine == "postgresql":
                    raw = measure.raw_authorizations(libpq(work.url), ids, args.seconds)
                label = (
                    "authorizations/s: one hot account"
                    if shape == "hot"
                    else f"authorizations/s: spread over {len(ids):,} accounts"
                )
                rows.append(
                    _show(
                        Row(
                            label,
                            engine,
                            "auth",
                            rate.json(),
                            raw.json() if raw else None,
                            extra={"shape": shape, "accounts": len(ids)},
                        )
                    )
                )
        notes = _check_ledger(work, accounts, sum(r.portal["ok"] for r in rows))
    finally:
        drop(work)
    return rows, notes


def _make_room(work: Store) -> list[str]:
    """1,000 open accounts (the first is the hot one) get ROOM more credit, posted as a
    Credit entry like any limit change, and their overdue holds forgiven: nothing is
    refused for lack of credit or an overdue invoice."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Account, StatementEntry

    app = portal_app(work.url)
    with app.app_context():
        ids = list(
            db.session.scalars(
                select(Account.id)
                .where(Account.status == "Open", Account.id != work.meta["heavy_account"])
                .order_by(Account.id)
                .limit(AUTH_ACCOUNTS)
            )
        )
        tomorrow = date.today() + timedelta(days=1)
        for account in db.session.scalars(select(Account).where(Account.id.in_(ids))):
            account.credit_limit += ROOM
            account.balance += ROOM
            account.hold_forgiven_before = tomorrow
            db.session.add(
                StatementEntry(
                    account_id=account.id,
                    origin="Credit",
                    value=ROOM,
                    description="bench: room for the authorizations",
                    done_by="bench",
                )
            )
        db.session.commit()
        db.engine.dispose()
    return ids


def _check_ledger(work: Store, accounts: list[str], answered: int) -> list[str]:
    """`credit verify` on the copy, every account at or above its floor, and one hold per
    2xx answer; a breach stops the run."""
    from sqlalchemy import func, select

    from portal import credit
    from portal.extensions import db
    from portal.models import Account, PreAuthorization

    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    env = {
        **os.environ,
        "DATABASE_URL": work.url,
        "SECRET_KEY": SECRET_KEY,
        "PORTAL_INSTANCE_PATH": str(INSTANCE),
    }
    verify = subprocess.run(
        [flask, "--app", "portal", "credit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    app = portal_app(work.url)
    with app.app_context():
        enabled = credit.get_settings(db.session).tolerance_enabled
        rows = db.session.scalars(select(Account).where(Account.id.in_(accounts)))
        below = [a.id for a in rows if a.available_balance(enabled) < 0]
        holds = db.session.scalar(
            select(func.count()).where(PreAuthorization.done_by == "apikey:bench")
        )
        db.session.close()
        db.engine.dispose()
    engine = work.engine
    if verify.returncode != 0:
        raise BenchError(
            f"{engine}: credit verify failed after the authorizations:\n"
            f"{(verify.stdout + verify.stderr)[-3000:]}"
        )
    if below:
        raise BenchError(f"{engine}: accounts below their floor: {below[:10]}")
    if holds != answered:
        raise BenchError(f"{engine}: {holds} holds written for {answered} 2xx answers")
    return [
        f"{engine}: after the authorizations `credit verify` is clean "
        f"({verify.stdout.strip()}), no account below its floor, {holds:,} holds for "
        f"{answered:,} 2xx answers"
    ]


# --- import ------------------------------------------------------------------------------------


def _import(engine: str, content: bytes, rows: int) -> Row:
    print(f"[{engine}] importing {rows:,} accounts into an empty database …", flush=True)
    store = empty_store(engine, "import")
    try:
        with Gunicorn(PORTAL, store, f"{engine}-import") as portal:
            result = measure.import_accounts(portal, store.api_headers, content, rows)
    finally:
        drop(store)
    return _show(Row(f"import {rows:,} accounts (API: dry run + apply)", engine, "import", result))


if __name__ == "__main__":
    try:
        main()
    except BenchError as error:
        print(f"\nbench failed: {error}", file=sys.stderr)
        sys.exit(1)
