"""Fixtures: an app on a freshly migrated database (SQLite file and PostgreSQL), clients
logged in per role, and factories for accounts, purchases and users.

Every test that uses `app` runs once per database engine. PostgreSQL comes from
`TEST_POSTGRES_URL` or a throwaway server (tests/pgserver.py); without one those runs
are skipped, unless REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
from decimal import Decimal

import pytest
from flask_migrate import upgrade
from sqlalchemy import text
from werkzeug.routing import Rule

from portal import create_app, credit, people
from portal.extensions import db
from portal.models import StoreSettings

from . import pgserver

ENGINES = ["sqlite", "postgresql"]
# For the crawls (every route × every role × every bad value): they test parsing at the
# edge, which no engine changes, so they run once, on PostgreSQL, the stricter of the two
# (it refuses NUL characters in text). Everything else runs on both.
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
ROLE_PASSWORD = "correct-horse-battery"


def _memoize_url_builders() -> None:
    """Compile each URL rule's builder once per test process, not once per app.

    Every test makes its own app (`create_app`), and werkzeug compiles two builder
    functions per rule when the rule is added: ~50 ms an app, most of `create_app`, over
    3,000 apps a run. A builder is a function of the rule's text, its defaults and
    `append_unknown` only (the rule itself arrives as its first argument), so the same
    function serves every app's copy of the rule. (A werkzeug without this private hook
    just compiles as before.)"""
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:
        return
    builders: dict[tuple, object] = {}

    def memoized(self, append_unknown: bool = True):
        key = (tuple(self._trace), repr(self.defaults), append_unknown)
        if key not in builders:
            builders[key] = compile_builder(self, append_unknown)
        return builders[key]

    Rule._compile_builder = memoized


_memoize_url_builders()


def _test_config(url: str, instance_path: str | None = None) -> dict:
    return {
        "INSTANCE_PATH": instance_path,
        "TESTING": True,
        "SECRET_KEY": "test-secret-not-for-production",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # scrypt costs ~130 ms a login
        "SERVER_NAME": None,
    }


def _migrate(url: str) -> None:
    app = create_app(_test_config(url))
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def postgres_database() -> str:
    """A migrated PostgreSQL database shared by the session (tables emptied per test)."""
    server = pgserver.postgres_url()
    if server is None:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (REQUIRE_POSTGRES=1) but none is available")
        pytest.skip("PostgreSQL not installed: set TEST_POSTGRES_URL or install postgresql")
    url = pgserver.create_database(server, f"portal_test_{os.getpid()}")
    _migrate(url)
    return url


@pytest.fixture(params=ENGINES)
def database_url(request, tmp_path) -> str:
    """The URL of an empty, migrated database of each engine."""
    if request.param == "sqlite":
        path = tmp_path / "portal.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_database")


def _empty_postgres(app) -> None:
    """Delete every row and restart the id sequences, in one round trip.

    Children before parents (the FKs); the per-account invoice rollups go with their
    accounts (ON DELETE CASCADE). A TRUNCATE of every table costs ~25 ms on the test
    server (it drops and recreates each table's files), these DELETEs of a test's few rows
    ~6 ms, and the suite empties the database before each of its ~1,800 PostgreSQL runs."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        sequences = connection.scalars(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
        ).all()
        connection.exec_driver_sql(
            "; ".join(
                [f"DELETE FROM {table}" for table in tables]
                + [f"ALTER SEQUENCE {sequence} RESTART" for sequence in sequences]
            )
        )


@pytest.fixture
def app(database_url, tmp_path):
    """The portal on an empty database, with an app context pushed for the test.

    PostgreSQL's tables are emptied before each test, not after too: the next test's own
    emptying is what it relies on."""
    app = create_app(_test_config(database_url, str(tmp_path / "instance")))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            _empty_postgres(app)
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app):
    """The SQLAlchemy session the credit engine works with."""
    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- factories ---------------------------------------------------------------------------

_counter = iter(range(1, 10**9))

# Valid CPFs for tests (check digits correct).
VALID_CPFS = ["52998224725", "11144477735", "39053344705", "15350946056", "12345678909"]


def _cpf(n: int) -> str:
    from validate_docbr import CPF

    base = f"{n:09d}"[-9:]
    digits = [int(c) for c in base]
    for size in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(size + 1, 1, -1), strict=False))
        check = (total * 10) % 11 % 10
        digits.append(check)
    document = "".join(map(str, digits))
    assert CPF().validate(document), document
    return document


@pytest.fixture
def make_account(session):
    """Open an account: make_account(limit="1000", tolerance="0", email=None)."""

    def make(limit="1000.00", tolerance="0", email=None, **kwargs):
        n = next(_counter)
        return credit.open_account(
            session,
            document=kwargs.pop("document", _cpf(100000000 + n)),
            document_type=kwargs.pop("document_type", "CPF"),
            email=email or f"buyer{n}@example.com",
            credit_limit=limit,
            tolerance=tolerance,
            actor="test",
            **kwargs,
        )

    return make


@pytest.fixture
def settings(session):
    """Change store settings: settings(tolerance_enabled=True, ...)."""

    def change(**changes) -> StoreSettings:
        return credit.update_settings(session, changes, "test")

    return change


@pytest.fixture
def purchase(session):
    """Authorize and settle: purchase(account, "300", term="30/60/90") -> hold."""

    def buy(account, value, term=None, settle=True, **kwargs):
        hold = credit.authorize(
            session, account.id, value, actor="test", payment_term=term, **kwargs
        )
        if settle:
            credit.settle(session, account.id, hold.id, value, actor="test")
        return hold

    return buy


@pytest.fixture
def make_user(session):
    """Create a login with ROLE_PASSWORD: make_user("owner") -> User."""

    def make(role, email=None):
        email = email or f"{role}{next(_counter)}@staff.example"
        return people.create_user(session, email, role, actor="test", password=ROLE_PASSWORD)

    return make


@pytest.fixture
def login(client, make_user):
    """Log the test client in: login("finance") or login(user=existing_user)."""

    def do(role=None, user=None):
        user = user or make_user(role)
        response = client.post("/login", data={"email": user.email, "password": ROLE_PASSWORD})
        assert response.status_code in (302, 303), response.data[:500]
        return user

    return do


def money(value) -> Decimal:
    """A Decimal amount with two places, for readable assertions."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


@pytest.fixture
def sql_statements(app):
    """Collect the SQL statements run while the test's block runs: with sql_statements() as s."""
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def collect():
        statements: list[str] = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    return collect


@pytest.fixture
def mailbox(app):
    """An SMTP server on 127.0.0.1 that the app sends to (MAIL_SERVER set)."""
    from aiosmtpd.controller import Controller

    from .mail import Mailbox, free_port

    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=box.port)
    try:
        yield box
    finally:
        controller.stop()
