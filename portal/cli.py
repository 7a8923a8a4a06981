"""`flask --app portal …` commands: users, API keys, demo data, ledger checks, jobs."""

from __future__ import annotations

import logging
import signal
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

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
jobs_cli = AppGroup("jobs", help="Run the background jobs (settle, expire, e-mails …).")
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


def _moment(ctx, param, value: str | None) -> datetime | None:
    """--now: an ISO date-time; without an offset it is the store's local time."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            "an ISO date-time such as 2026-04-22T09:00 or 2026-04-22T12:00:00Z"
        ) from None
    return moment  # made aware in the command (the store's timezone needs the app)


@jobs_cli.command("run")
@click.option(
    "--now",
    callback=_moment,
    help="Run as if it were this moment (ISO; no offset = the store's timezone): time travel.",
)
def jobs_run(now: datetime | None) -> None:
    """Run every job once (one pass) and print one line of counts; exit 1 if a job failed."""
    from . import jobs

    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=ZoneInfo(credit.get_settings(db.session).timezone))
    _show_job_logs()
    result = jobs.run_pass(db.session, now)
    click.echo(result.line())
    if result.errors:
        sys.exit(1)


# The command cron jobs and scripts knew before `jobs run`: the same command.
credit_cli.add_command(jobs_run, "run-jobs")


@jobs_cli.command("worker")
@click.option(
    "--every",
    type=click.FloatRange(min=0.1),
    help="Seconds from the start of one pass to the next (default: JOBS_EVERY, 60).",
)
def jobs_worker(every: float | None) -> None:
    """Run passes until stopped; one log line per pass.

    SIGTERM or SIGINT (Ctrl-C) lets the current job finish, records the pass and exits 0.
    Any number of workers may run at once, on any number of machines.
    """
    from . import jobs

    every = every if every is not None else float(current_app.config.get("JOBS_EVERY", 60))
    stop = jobs.StopFlag()

    def request_stop(signum, frame) -> None:  # only sets a flag: safe in a signal handler
        stop.set(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    _show_job_logs()
    name = jobs.worker_name()
    jobs.log.info("jobs worker %s: a pass every %s s", name, f"{every:g}")
    passes = jobs.work(db.session, every=every, stop=stop, worker=name)
    jobs.log.info("jobs worker %s stopped (%s) after %s passes", name, stop.reason, passes)


def _show_job_logs() -> None:
    """Send the jobs' INFO lines to stderr, through the app's log handler."""
    current_app.logger  # noqa: B018  (attaches Flask's handler to the "portal" logger)
    logging.getLogger("portal.jobs").setLevel(logging.INFO)


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
        click.echo(f"Demo logins (role, e-mail, password) — from {_shown(logins_file)}:")
        click.echo(logins_file.read_text().rstrip())


# --- webhooks ----------------------------------------------------------------------------

webhooks_cli = AppGroup("webhooks", help="Manage webhook endpoints.")


@webhooks_cli.command("add")
@click.argument("url")
@click.option(
    "--events",
    default="all",
    show_default=True,
    help="all, or event types separated by commas (e.g. invoice.paid,invoice.overdue).",
)
def webhooks_add(url: str, events: str) -> None:
    """Register an endpoint for URL and print its signing secret, once."""
    from . import webhooks

    try:
        endpoint, secret = webhooks.add_endpoint(db.session, url, events, actor=CLI_ACTOR)
    except CreditError as error:
        _fail(error)
    click.echo(f"Endpoint {endpoint.id}: {endpoint.url} ({', '.join(endpoint.events)})")
    click.echo(f"Secret: {secret}")
    click.echo("Store the secret now: it cannot be shown again.", err=True)


def _shown(path: Path) -> str:
    """The path relative to the working directory when it is inside it (instance/…)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def register(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(webhooks_cli)
    for command in (users_cli, apikeys_cli, credit_cli, outbox_cli, jobs_cli, seed_demo):
        app.cli.add_command(command)
