"""`flask --app portal …` commands: users, API keys, demo data, ledger checks, jobs."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import credit, outbox, people
from .credit.errors import CreditError
from .extensions import db

users_cli = AppGroup("users", help="Manage logins.")
apikeys_cli = AppGroup("apikeys", help="Manage API keys.")
credit_cli = AppGroup("credit", help="Check and run the credit ledger.")
outbox_cli = AppGroup("outbox", help="Send the e-mails waiting in the outbox.")
CLI_ACTOR = "cli"


def _fail(error: CreditError) -> None:
    click.echo(f"Error [{error.code}]: {error.message}", err=True)
    sys.exit(1)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(people.ROLES), required=True)
@click.option("--password", help="Leave out to be prompted.")
@click.option("--name", default="")
def create_user(email: str, role: str, password: str | None, name: str) -> None:
    """Create a login for EMAIL with ROLE."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = people.create_user(
            db.session, email, role, actor=CLI_ACTOR, password=password, name=name
        )
    except CreditError as error:
        _fail(error)
    click.echo(f"Created {user.role} {user.email}")


@users_cli.command("invite")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(people.ROLES),
    default="customer",
    show_default=True,
    help="The role of the login when it does not exist yet (a customer must be a holder).",
)
def invite_user(email: str, role: str) -> None:
    """Queue (and e-mail, when MAIL_SERVER is set) an invitation, and print a link for you.

    Works for staff and customer logins that have no password yet.
    """
    from .credit.ledger import write_transaction
    from .invitations import invitation_link, invite_login

    try:
        with write_transaction(db.session):
            user, queued = invite_login(db.session, email, actor=CLI_ACTOR, role=role)
    except CreditError as error:
        _fail(error)
    if not user.active:
        click.echo(f"{user.email} is deactivated: reactivate the login first.", err=True)
        sys.exit(1)
    if not queued:
        click.echo(f"{user.email} already has a password; they can use 'Forgot your password?'.")
        return
    outbox.send_pending(db.session)
    emailed = _last_status(user.email, "invitation") == "sent"
    click.echo(f"Invitation for {user.email}{' (e-mailed)' if emailed else ''}:")
    click.echo(invitation_link(user))


def _last_status(recipient: str, topic: str) -> str | None:
    from .models import OutboxMessage

    db.session.rollback()  # see what the sender committed
    return db.session.scalar(
        db.select(OutboxMessage.status)
        .where(OutboxMessage.recipient == recipient, OutboxMessage.topic == topic)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )


@outbox_cli.command("send")
@click.option("--limit", default=100, show_default=True, help="At most this many messages.")
def outbox_send(limit: int) -> None:
    """Send the e-mails waiting in the outbox; print how many were sent, failed and wait."""
    if not current_app.config.get("MAIL_SERVER"):
        click.echo("MAIL_SERVER is not set: nothing sent.", err=True)
    sent, failed = outbox.send_pending(db.session, limit=limit)
    db.session.rollback()
    left = outbox.counts(db.session)
    click.echo(
        f"sent {sent}, failed {failed}, pending {left['pending']}, given up {left['failed']}"
    )


@apikeys_cli.command("create")
@click.option("--label", required=True)
@click.option(
    "--scopes",
    default="all",
    show_default=True,
    help="'all' or a comma-separated list of: " + ", ".join(people.SCOPES),
)
def create_api_key(label: str, scopes: str) -> None:
    """Create an API key and print its key and token (the token is shown only now)."""
    try:
        key, token = people.create_api_key(
            db.session, label, people.parse_scopes(scopes), actor=CLI_ACTOR
        )
    except CreditError as error:
        _fail(error)
    click.echo(f"X-VTEX-API-AppKey: {key.key}")
    click.echo(f"X-VTEX-API-AppToken: {token}")


@credit_cli.command("verify")
def verify() -> None:
    """Check every ledger invariant over the whole database; exit 1 naming each breach."""
    breaches = credit.find_breaches(db.session)
    for breach in breaches:
        click.echo(f"BREACH {breach}", err=True)
    if breaches:
        sys.exit(1)
    click.echo("ledger ok: every invariant holds")


@credit_cli.command("run-jobs")
def run_jobs() -> None:
    """Expire lapsed holds and settle holds whose business days have passed."""
    expired = credit.expire_authorizations(db.session, actor="system")
    settled = credit.settle_due_authorizations(db.session, actor="system")
    click.echo(f"expired {expired} holds, settled {settled}")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when accounts already exist.")
@click.option("--accounts", default=50, show_default=True)
def seed_demo(if_empty: bool, accounts: int) -> None:
    """Fill the database with a realistic demo store and print how to log in."""
    from .demo import has_data, seed

    logins_file = Path(current_app.instance_path) / "demo-logins.txt"
    if not (if_empty and has_data(db.session)):
        logins = seed(db.session, accounts=accounts)
        logins_file.write_text(
            "".join(f"{role:9} {email}  {password}\n" for role, email, password in logins)
        )
        logins_file.chmod(0o600)
    if logins_file.exists():
        click.echo("Demo logins (role, e-mail, password) — from instance/demo-logins.txt:")
        click.echo(logins_file.read_text().rstrip())


def register(app: Flask) -> None:
    """Attach the command groups to the app."""
    for command in (users_cli, apikeys_cli, credit_cli, outbox_cli, seed_demo):
        app.cli.add_command(command)
