"""Schemathesis against the served contract: no 5xx, documented statuses, types and schemas.

The app is served over real HTTP from a thread, on its own SQLite copy (the fuzzing does
not need a second engine; the PostgreSQL behaviour is covered by the other API tests).
Path ids are pinned to a seeded account, invoice and transaction so that generated
requests reach the success paths and their response schemas get checked too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal import create_app, credit, people
from portal.extensions import db

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


def _schemathesis() -> str:
    beside = Path(sys.executable).with_name("schemathesis")
    found = str(beside) if beside.exists() else shutil.which("schemathesis")
    assert found, "schemathesis is not installed (pip install -e '.[test]')"
    return found


@pytest.fixture
def served(sqlite_template, tmp_path):
    """The portal on a seeded SQLite copy, served on a free port: (url, headers, ids)."""
    path = tmp_path / "schemathesis.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "schemathesis",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        session = db.session
        key, token = people.create_api_key(
            session, "schemathesis", list(people.SCOPES), actor="test"
        )
        account = credit.open_account(
            session,
            document="52998224725",
            document_type="CPF",
            email="fuzz@example.com",
            credit_limit="100000",
            actor="test",
        )
        hold = credit.authorize(
            session, account.id, "300", actor="test", installments=3, transaction_id="FUZZ-TX"
        )
        credit.settle(session, account.id, hold.id, "300", actor="test")
        ids = {"account": account.id, "transaction": hold.id, "invoice": f"{hold.id}-01"}
        headers = {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}
        session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", headers, ids
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


def test_api_conforms_to_its_contract(served, tmp_path):
    url, headers, ids = served
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[generation]\n"
        'database = "none"\n'
        "[parameters]\n"
        f'"path.creditAccountId" = "{ids["account"]}"\n'
        f'"query.creditAccountId" = "{ids["account"]}"\n'
        f'"path.transactionId" = "{ids["transaction"]}"\n'
        f'"path.invoiceId" = "{ids["invoice"]}"\n',
        encoding="utf-8",
    )
    command = [
        _schemathesis(),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{url}/api/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "10",
        "--seed",
        "20240131",
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--generation-with-security-parameters",
        "false",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
