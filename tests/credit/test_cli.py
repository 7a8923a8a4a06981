"""The `flask --app portal` commands."""

from decimal import Decimal

from sqlalchemy import select, update
from werkzeug.security import check_password_hash

from portal import people
from portal.models import Account, ApiKey, Invoice, User


def test_users_create(runner, session, make_account):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Boss@Store.example",
            "--role",
            "owner",
            "--password",
            "long-enough-pw",
        ]
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.email == "boss@store.example"))
    assert user.role == "owner" and check_password_hash(user.password_hash, "long-enough-pw")
    assert "long-enough-pw" not in user.password_hash
    again = runner.invoke(
        args=[
            "users",
            "create",
            "boss@store.example",
            "--role",
            "owner",
            "--password",
            "long-enough-pw",
        ]
    )
    assert again.exit_code == 1 and "duplicate_email" in again.output


def test_customer_login_requires_a_holder(runner, make_account):
    refused = runner.invoke(
        args=[
            "users",
            "create",
            "nobody@example.com",
            "--role",
            "customer",
            "--password",
            "long-enough-pw",
        ]
    )
    assert refused.exit_code == 1 and "not_a_holder" in refused.output
    account = make_account(email="Buyer.X+1@example.com")
    ok = runner.invoke(
        args=[
            "users",
            "create",
            account.email.upper(),
            "--role",
            "customer",
            "--password",
            "long-enough-pw",
        ]
    )
    assert ok.exit_code == 0, ok.output


def test_apikeys_create_prints_pair_once_and_stores_hash(runner, session):
    result = runner.invoke(
        args=["apikeys", "create", "--label", "ERP", "--scopes", "invoices:read,accounts:read"]
    )
    assert result.exit_code == 0, result.output
    key_line, token_line = result.output.strip().splitlines()
    app_key = key_line.removeprefix("X-VTEX-API-AppKey: ")
    token = token_line.removeprefix("X-VTEX-API-AppToken: ")
    stored = session.scalar(select(ApiKey).where(ApiKey.key == app_key))
    assert stored.scopes == "invoices:read,accounts:read" and token not in stored.token_hash
    assert people.find_api_key(session, app_key, token).id == stored.id
    assert people.find_api_key(session, app_key, token + "x") is None
    bad = runner.invoke(args=["apikeys", "create", "--label", "x", "--scopes", "root"])
    assert bad.exit_code == 1 and "invalid_scopes" in bad.output


def test_seed_demo_and_verify(runner, session):
    result = runner.invoke(args=["seed-demo", "--accounts", "12"])
    assert result.exit_code == 0, result.output
    assert "owner@demo.example" in result.output
    statuses = set(session.scalars(select(Invoice.status)))
    assert statuses == {"Opened", "Paid", "Cancelled"}
    assert runner.invoke(args=["seed-demo", "--if-empty"]).exit_code == 0
    assert session.scalar(select(Account.id).where(Account.status == "Closed"))
    verify = runner.invoke(args=["credit", "verify"])
    assert verify.exit_code == 0 and "ledger ok" in verify.output


def test_verify_names_each_breach(runner, session, make_account, purchase):
    account = make_account(limit="100")
    purchase(account, "10")
    session.execute(update(Account).values(balance=Decimal("5.00")))
    session.commit()
    result = runner.invoke(args=["credit", "verify"])
    assert result.exit_code == 1
    assert (
        f"BREACH account {account.id}: cached balance 5.00 != sum of entries 90.00" in result.output
    )


def test_run_jobs(runner):
    """`credit run-jobs` is kept as an alias of `jobs run` (tests/jobs/ tests the jobs)."""
    result = runner.invoke(args=["credit", "run-jobs"])
    assert result.exit_code == 0, result.output
    assert "expire=0 settle=0" in result.output and "errors=0" in result.output
