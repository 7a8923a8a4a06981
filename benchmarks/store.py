"""The stores the benchmark serves: built once per engine and size, reused while complete.

- SQLite: bench/cache/store-<accounts>-<invoices>.sqlite3.
- PostgreSQL: database bench_<accounts>_<invoices> on the server of TEST_POSTGRES_URL, else
  on the throwaway server the test suite starts (tests/pgserver.py): that one is deleted
  when the benchmark exits, so there the store is built again on every run.

A store is complete when its `bench_meta` table holds the row written last by `_build`
(after the data, the logins and ANALYZE); anything else is dropped and built again. The
row keeps the logins and the API key the benchmark uses; a copy of it is written beside
the cache as bench/cache/<engine>-<accounts>-<invoices>.json.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CACHE = BENCH / "cache"
WORK = BENCH / "work"
INSTANCE = CACHE / "instance"  # the portal's instance folder in the benchmark (no config.py)
SECRET_KEY = "bench-secret-key-not-for-production"
STORE_VERSION = 1  # bump when build_store or the logins change: cached stores are rebuilt
HEAVY_INVOICES = 10_000
META_TABLE = "CREATE TABLE IF NOT EXISTS bench_meta (key VARCHAR(40) PRIMARY KEY, value TEXT)"

OWNER = {"email": "owner@bench.example", "password": "bench-owner-password"}
CUSTOMER_PASSWORD = "bench-customer-password"


@dataclass
class Store:
    """A database the portal can serve, with the logins and API key made in it."""

    engine: str  # "sqlite" or "postgresql"
    url: str  # SQLAlchemy URL (also the portal's DATABASE_URL)
    meta: dict = field(default_factory=dict)
    built_seconds: float | None = None  # None: reused from the cache

    @property
    def api_headers(self) -> dict[str, str]:
        key = self.meta["api_key"]
        return {"X-VTEX-API-AppKey": key["key"], "X-VTEX-API-AppToken": key["token"]}


def portal_app(url: str):
    """The portal bound to `url`, for building and checking in this process."""
    from portal import create_app

    INSTANCE.mkdir(parents=True, exist_ok=True)
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY, "INSTANCE_PATH": str(INSTANCE)}
    )


# --- PostgreSQL server -----------------------------------------------------------------------


def postgres_server() -> str:
    """URL of the PostgreSQL server (TEST_POSTGRES_URL or the test suite's throwaway one)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.pgserver import postgres_url

    url = postgres_url()
    if url is None:
        raise SystemExit("PostgreSQL: set TEST_POSTGRES_URL or install postgresql (initdb).")
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def on_database(server: str, name: str) -> str:
    """The URL of database `name` on the server of `server`."""
    return urlunsplit(urlsplit(server)._replace(path="/" + name))


def libpq(url: str) -> str:
    """SQLAlchemy's postgresql+psycopg:// URL as psycopg.connect() takes it."""
    return "postgresql://" + url.split("://", 1)[1]


def create_database(server: str, name: str, template: str | None = None) -> str:
    """(Re)create database `name`, empty or as a copy of `template`; return its URL."""
    if template is None:
        from tests.pgserver import create_database as create

        return create(server, name)
    import psycopg
    from psycopg import sql

    with psycopg.connect(libpq(server), autocommit=True) as conn:
        _drop(conn, name)
        # A template must have no session: end any left (none is expected).
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (template,),
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return on_database(server, name)


def drop_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(libpq(server), autocommit=True) as conn:
        _drop(conn, name)


def _drop(conn, name: str) -> None:
    from psycopg import sql

    force = " WITH (FORCE)" if conn.info.server_version >= 130000 else ""
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}" + force).format(sql.Identifier(name)))


# --- the cached store ------------------------------------------------------------------------


def _read_meta(url: str) -> dict | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            raw = conn.execute(text("SELECT value FROM bench_meta WHERE key = 'store'")).scalar()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    meta = json.loads(raw) if raw else None
    return meta if meta and meta.get("version") == STORE_VERSION else None


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def ensure_store(engine: str, accounts: int, invoices: int) -> Store:
    """The cached store of this engine and size, built first when missing or incomplete."""
    if engine == "sqlite":
        CACHE.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{CACHE / f'store-{accounts}-{invoices}.sqlite3'}"
        meta = _read_meta(url) if _sqlite_path(url).exists() else None
        if meta is None:
            _remove_sqlite(_sqlite_path(url))
    else:
        server = postgres_server()
        name = f"bench_{accounts}_{invoices}"
        url = on_database(server, name)
        meta = _read_meta(url)
        if meta is None:
            url = create_database(server, name)
    store = Store(engine, url, meta or {})
    if meta is not None:
        _upgrade(url)  # a migration added since the build: the portal needs it
        print(f"[{engine}] reusing the store {_where(store)}", flush=True)
        return store
    print(f"[{engine}] building the store {_where(store)} …", flush=True)
    start = time.perf_counter()
    store.meta = _build(url, accounts, invoices)
    store.built_seconds = time.perf_counter() - start
    store.meta["build_seconds"] = round(store.built_seconds, 1)
    _write_meta(url, store.meta)
    print(f"[{engine}] built in {store.built_seconds:.1f} s", flush=True)
    return store


def _where(store: Store) -> str:
    if store.engine == "sqlite":
        return str(_sqlite_path(store.url).relative_to(ROOT))
    return urlsplit(store.url).path.lstrip("/")


def _upgrade(url: str) -> None:
    from flask_migrate import upgrade

    from portal.extensions import db

    app = portal_app(url)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()


def _build(url: str, accounts: int, invoices: int) -> dict:
    from flask_migrate import upgrade

    from portal.extensions import db

    from .data import HEAVY_ACCOUNT, HEAVY_EMAIL, build_store

    app = portal_app(url)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        build_store(db.session, accounts, invoices, heavy_invoices=HEAVY_INVOICES)
        meta = _logins(db.session, customer=HEAVY_EMAIL)
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        else:
            db.session.close()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        db.engine.dispose()
    return {
        "version": STORE_VERSION,
        "accounts": accounts,
        "invoices": invoices,
        "heavy_account": HEAVY_ACCOUNT,
        "heavy_invoices": HEAVY_INVOICES,
        **meta,
        "customer": {"email": HEAVY_EMAIL, "password": CUSTOMER_PASSWORD},
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _logins(session, customer: str | None = None) -> dict:
    """The owner login, a customer login for `customer` (a holder's e-mail) and an API key
    with every scope."""
    from portal import people

    people.create_user(
        session, OWNER["email"], "owner", actor="bench", password=OWNER["password"], name="Bench"
    )
    if customer:
        people.create_user(session, customer, "customer", actor="bench", password=CUSTOMER_PASSWORD)
    key, token = people.create_api_key(session, "bench", list(people.SCOPES), actor="bench")
    return {"owner": dict(OWNER), "api_key": {"key": key.key, "token": token}}


def _write_meta(url: str, meta: dict) -> None:
    """Mark the store complete (the last write of a build) and copy the logins beside it."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(META_TABLE))
            conn.execute(text("DELETE FROM bench_meta"))
            conn.execute(
                text("INSERT INTO bench_meta (key, value) VALUES ('store', :value)"),
                {"value": json.dumps(meta)},
            )
    finally:
        engine.dispose()
    engine_name = "sqlite" if url.startswith("sqlite") else "postgresql"
    side = CACHE / f"{engine_name}-{meta['accounts']}-{meta['invoices']}.json"
    side.parent.mkdir(parents=True, exist_ok=True)
    side.write_text(json.dumps({"url": url, **meta}, indent=2) + "\n")


# --- copies and empty databases --------------------------------------------------------------


def work_copy(store: Store, name: str) -> Store:
    """A copy of the store to write to (the cache stays as built): SQLite's backup API, or
    CREATE DATABASE … TEMPLATE on PostgreSQL (nothing may be connected to the store)."""
    if store.engine == "sqlite":
        WORK.mkdir(parents=True, exist_ok=True)
        target = WORK / f"{name}.sqlite3"
        _remove_sqlite(target)
        source = sqlite3.connect(_sqlite_path(store.url))
        copy = sqlite3.connect(target)
        with copy:
            source.backup(copy)
        copy.close()
        source.close()
        return Store(store.engine, f"sqlite:///{target}", store.meta)
    server = postgres_server()
    template = urlsplit(store.url).path.lstrip("/")
    return Store(store.engine, create_database(server, f"{template}_{name}", template), store.meta)


def drop(store: Store) -> None:
    """Delete a work copy or scratch database."""
    if store.engine == "sqlite":
        _remove_sqlite(_sqlite_path(store.url))
    else:
        drop_database(postgres_server(), urlsplit(store.url).path.lstrip("/"))


def empty_store(engine: str, name: str) -> Store:
    """A new, migrated database with the owner login and an API key (for the import)."""
    if engine == "sqlite":
        WORK.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{WORK / f'{name}.sqlite3'}"
        _remove_sqlite(_sqlite_path(url))
    else:
        url = create_database(postgres_server(), f"bench_{name}")
    from flask_migrate import upgrade

    from portal.extensions import db

    app = portal_app(url)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        meta = _logins(db.session)
        db.session.commit()
        db.engine.dispose()
    return Store(engine, url, meta)
