"""Schemathesis against the served protocol document, from a live server over real HTTP.

The app runs on its own SQLite copy (the other PPP tests cover both engines). The buyer of
the contract's examples has an account, so the examples reach approval; each payment
operation has its path paymentId pinned to a payment in the state it needs (authorized to
settle or cancel, settled to refund) so that success responses get checked too.
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
PINNED = {
    "/payments/{paymentId}/settlements": "FUZZ-SETTLE",
    "/payments/{paymentId}/cancellations": "FUZZ-CANCEL",
    "/payments/{paymentId}/refunds": "FUZZ-REFUND",
}


def _schemathesis() -> str:
    beside = Path(sys.executable).with_name("schemathesis")
    found = str(beside) if beside.exists() else shutil.which("schemathesis")
    if not found:
        pytest.fail("schemathesis is not installed (pip install -e '.[test]')")
    return found


def _seed(session) -> dict[str, str]:
    key, token = people.create_api_key(
        session, "schemathesis", ["transactions:write"], actor="test"
    )
    account = credit.open_account(
        session,
        document="01234567890",
        document_type="CPF",
        email="john.doe@example.com",
        credit_limit="1000000",
        actor="test",
    )
    for payment_id in PINNED.values():
        credit.authorize(
            session, account.id, "300", actor="test", transaction_id=payment_id, installments=3
        )
    credit.settle(session, account.id, "FUZZ-REFUND", "300", actor="test")
    return {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}


@pytest.fixture
def served(sqlite_template, tmp_path):
    """The portal on a seeded SQLite copy, served on a free port: (base url, headers)."""
    path = tmp_path / "schemathesis.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "schemathesis",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": None,
        }
    )
    with app.app_context():
        headers = _seed(db.session)
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", headers
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


def test_protocol_conforms_to_its_served_contract(served, tmp_path):
    url, headers = served
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        '[generation]\ndatabase = "none"\n'
        + "".join(
            f'\n[[operations]]\ninclude-path = "{path}"\n'
            f'parameters = {{ "path.paymentId" = "{payment_id}" }}\n'
            for path, payment_id in PINNED.items()
        ),
        encoding="utf-8",
    )
    command = [
        _schemathesis(),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{url}/ppp/openapi.json",
        "--url",
        f"{url}/ppp",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "25",
        "--max-time",
        "60",
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
        command, capture_output=True, text=True, timeout=180, cwd=tmp_path, check=False
    )
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode == 0, output[-20000:]
