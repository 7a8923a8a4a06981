"""The SQL one authorization costs over the API, statement by statement.

Recorded so that repeated work cannot creep back (issue 14: it was ~12 statements with
the settings row read four times and the new hold read back after the commit). Nothing
that makes an authorization right is missing from the list: the API key, the account
lock, the overdue check, the hold, the balance and the audit event.
"""

from __future__ import annotations

import re

import pytest

from portal import people


@pytest.fixture
def key_headers(session):
    key, token = people.create_api_key(session, "stmts", list(people.SCOPES), actor="test")
    return {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}


def _shape(statement: str) -> str:
    """'SELECT accounts', 'UPDATE accounts', 'INSERT pre_authorizations', 'BEGIN …'."""
    words = statement.split()
    verb = words[0].upper()
    if verb == "SELECT":
        table = re.search(r"\bFROM\s+(\w+)", statement, re.IGNORECASE).group(1)
        locked = " FOR UPDATE" if "FOR UPDATE" in statement.upper() else ""
        return f"SELECT {table}{locked}"
    if verb in ("INSERT", "UPDATE"):
        return f"{verb} {words[2] if verb == 'INSERT' else words[1]}"
    return " ".join(words).upper()


def _authorization_statements(client, method, url, headers, sql_statements) -> list[str]:
    with sql_statements() as statements:
        response = client.open(url, method=method, json={"value": 10}, headers=headers)
    assert response.status_code == 200, response.json
    return [_shape(s) for s in statements]


@pytest.mark.parametrize("named", [False, True], ids=["POST", "PUT-named-transaction"])
def test_one_authorization_issues_each_statement_once(
    app, client, make_account, key_headers, sql_statements, settings, named
):
    settings(tolerance_enabled=True)  # a real settings row, not the defaults
    account = make_account(limit="100000")
    url = f"/api/creditcontrol/accounts/{account.id}/transactions"
    client.post(url, json={"value": 10}, headers=key_headers)  # the key's first use is noted

    method, url = ("PUT", f"{url}/ORDER-1") if named else ("POST", url)
    shapes = _authorization_statements(client, method, url, key_headers, sql_statements)

    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    expected = [
        *(["BEGIN"] if sqlite else []),
        "SELECT api_keys",
        *(["SELECT pre_authorizations"] if named else []),  # PUT: create or change?
        *(["BEGIN IMMEDIATE"] if sqlite else []),
        "SELECT accounts" + ("" if sqlite else " FOR UPDATE"),
        *(["SELECT pre_authorizations"] if named else []),  # under the lock: a retry?
        "SELECT store_settings",
        "SELECT invoices",  # overdue invoices put the account on hold
        "UPDATE accounts",
        "INSERT pre_authorizations",
        "INSERT audit_events",
    ]
    assert shapes == expected, shapes
