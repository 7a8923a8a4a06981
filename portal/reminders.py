"""Reminder e-mails: the store's rules fire for open invoices; one e-mail per holder and pass.

A rule (`StoreSettings.reminder_rules`) is "5 days before the due date at 09:30" or "3 days
after at 12:00", in the store's timezone: it fires for an invoice at that local moment.

- `send_reminders(session, now)` (a job of the worker pass) finds, for every Opened
  invoice, the rule that is *current* at `now`: the one that fired last, and only while it
  is still relevant. A later rule of the invoice replaces an earlier one (after an outage
  the customer hears the latest news once, not every missed rule); a "before" rule is
  relevant until its due date ends (never "due in 5 days" once it is overdue), an
  "after" rule for AFTER_WINDOW at most; a rule that fired before the invoice existed is
  not news either. Each (invoice, rule) gets one `Reminder` row — the unique constraint
  makes "never twice" a database fact, whatever workers race — and each holder of the
  account who wants reminders gets ONE outbox e-mail for all the account's reminders of
  the pass (30 installments due the same day are one e-mail, not 30).
- Claims keep the portal's lock order: per account, the account row `FOR UPDATE SKIP
  LOCKED` (an account busy elsewhere waits for the next pass), then its invoices re-read.
- The e-mail is made when the outbox sends it (`portal/reminder_mail.py`), which checks
  every invoice again.
- The opt-out link (`opt_out_link` / `email_for_token`, in every reminder) turns reminders
  off for the e-mail on every account it holds (`set_reminders`); its token never expires.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from . import outbox
from .credit.ledger import audit, lock_account, write_transaction
from .credit.settings import get_settings
from .credit.validation import normalize_email
from .invitations import public_url
from .models import Account, Holder, Invoice, Reminder, StoreSettings

TOPIC = "reminder"
OPT_OUT_SALT = "portal-reminders-off"
AFTER_WINDOW = timedelta(days=7)  # an "after" rule missed for longer is not sent any more


# --- the rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One reminder rule: `days` before or after the due date, at `at` (store time)."""

    when: str  # before | after
    days: int
    at: time

    @property
    def key(self) -> str:
        """The rule as a Reminder row names it: before:5, after:3."""
        return f"{self.when}:{self.days}"

    def fires_on(self, due: date) -> date:
        """The store day the rule fires for an invoice due on `due`."""
        days = timedelta(days=self.days)
        return due - days if self.when == "before" else due + days

    def fires_at(self, due: date, zone: ZoneInfo) -> datetime:
        """The moment the rule fires for an invoice due on `due` (aware; a local time that
        does not exist, in a daylight-saving gap, is read as zoneinfo reads it)."""
        return datetime.combine(self.fires_on(due), self.at, tzinfo=zone)


def rules_of(settings: StoreSettings) -> list[Rule]:
    """The store's reminder rules."""
    return [
        Rule(rule["when"], int(rule["days"]), time.fromisoformat(rule["time"]))
        for rule in settings.reminder_rules or []
    ]


def current_rules(
    rules: list[Rule], due: date, zone: ZoneInfo, now: datetime
) -> tuple[datetime | None, list[Rule]]:
    """The rules current at `now` for an invoice due on `due`: those that fired last (more
    than one only when they fire at the same moment), while still relevant; with the
    moment they fired. (None, []) when no rule is current."""
    fired = [(rule.fires_at(due, zone), rule) for rule in rules]
    fired = [(moment, rule) for moment, rule in fired if moment <= now]
    if not fired:
        return None, []
    last = max(moment for moment, _rule in fired)
    current = [
        rule for moment, rule in fired if moment == last and _relevant(rule, last, due, zone, now)
    ]
    return (last, current) if current else (None, [])


def _relevant(rule: Rule, fired: datetime, due: date, zone: ZoneInfo, now: datetime) -> bool:
    if rule.when == "before":  # until the due date ends in the store
        return now < datetime.combine(due + timedelta(days=1), time(), tzinfo=zone)
    return now < fired + AFTER_WINDOW


def _due_dates(rules: list[Rule], zone: ZoneInfo, now: datetime) -> dict[Rule, list[date]]:
    """For each rule, the due dates it is current for at `now` (a few weeks of dates are
    tried: a before rule up to its days ahead, an after rule up to AFTER_WINDOW behind)."""
    today = now.astimezone(zone).date()
    ahead = max((r.days for r in rules if r.when == "before"), default=0) + 1
    behind = max((r.days for r in rules if r.when == "after"), default=0) + AFTER_WINDOW.days + 1
    dates: dict[Rule, list[date]] = defaultdict(list)
    for offset in range(-behind, ahead + 1):
        due = today + timedelta(days=offset)
        for rule in current_rules(rules, due, zone, now)[1]:
            dates[rule].append(due)
    return dates


# --- the job ------------------------------------------------------------------------------


def send_reminders(session: Session, now: datetime) -> dict[str, int]:
    """Make the reminders due at `now` and queue their e-mails; safe to run by any number
    of workers at once. Returns {"reminders": made, "emails": queued, "busy": accounts
    left to the next pass because another transaction held them}."""
    settings = get_settings(session)
    zone = ZoneInfo(settings.timezone)
    rules = rules_of(settings)
    counts = {"reminders": 0, "emails": 0, "busy": 0}
    found = _candidates(session, rules, zone, now)  # each account is then claimed on its own
    for account_id in sorted(found):
        made, queued = _claim_account(session, account_id, found[account_id], rules, zone, now)
        if made is None:
            counts["busy"] += 1
            continue
        counts["reminders"] += made
        counts["emails"] += queued
    return counts


def _candidates(
    session: Session, rules: list[Rule], zone: ZoneInfo, now: datetime
) -> dict[str, set[str]]:
    """Account id → ids of its Opened invoices that have a current rule not yet made."""
    found: dict[str, set[str]] = defaultdict(set)
    for rule, dates in _due_dates(rules, zone, now).items():
        made = exists().where(Reminder.invoice_id == Invoice.id, Reminder.rule == rule.key)
        rows = session.execute(
            select(Invoice.id, Invoice.account_id, Invoice.due_date, Invoice.created_at).where(
                Invoice.status == "Opened",
                Invoice.due_date.between(min(dates), max(dates)),
                ~made,
            )
        )
        wanted = set(dates)
        for invoice_id, account_id, due, created in rows:
            if due in wanted and created <= rule.fires_at(due, zone):
                found[account_id].add(invoice_id)
    return found


def _claim_account(
    session: Session,
    account_id: str,
    invoice_ids: set[str],
    rules: list[Rule],
    zone: ZoneInfo,
    now: datetime,
) -> tuple[int | None, int]:
    """Under the account's lock: the reminders of its invoices, and one e-mail per holder
    who wants them. (None, 0) when another transaction holds the account."""
    with write_transaction(session):
        account = session.scalar(
            select(Account)
            .where(Account.id == account_id)
            .with_for_update(skip_locked=True)  # rendered by PostgreSQL only
            .execution_options(populate_existing=True)
        )
        if account is None:
            return None, 0
        invoices = session.scalars(
            select(Invoice)
            .where(Invoice.id.in_(sorted(invoice_ids)), Invoice.account_id == account.id)
            .order_by(Invoice.due_date, Invoice.id)
            .execution_options(populate_existing=True)
        ).all()
        made: list[tuple[Reminder, datetime]] = []
        for invoice in invoices:
            if invoice.status != "Opened":
                continue
            fired, current = current_rules(rules, invoice.due_date, zone, now)
            if fired is None or invoice.created_at > fired:
                continue
            for rule in current:
                reminder = _make(session, invoice, rule, now)
                if reminder is not None:
                    made.append((reminder, fired))
        if not made:
            return 0, 0
        queued = _queue_emails(session, account, made, zone)
    return len(made), queued


def _make(session: Session, invoice: Invoice, rule: Rule, now: datetime) -> Reminder | None:
    """The Reminder of (invoice, rule), or None when one exists (made by another worker)."""
    values = {
        "invoice_id": invoice.id,
        "rule": rule.key,
        "due_on": rule.fires_on(invoice.due_date),
        "status": "queued",
        "created_at": now,
    }
    new_id = session.execute(
        _insert(session)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["invoice_id", "rule"])
        .returning(Reminder.id)
    ).scalar_one_or_none()
    return session.get(Reminder, new_id) if new_id is not None else None


def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(Reminder)


def _queue_emails(
    session: Session, account: Account, made: list[tuple[Reminder, datetime]], zone: ZoneInfo
) -> int:
    """One outbox e-mail per holder who wants reminders, listing every reminder made; each
    reminder points to the first holder's (the main holder's) e-mail. Without anyone to
    tell, the reminders are `skipped`."""
    holders = session.scalars(
        select(Holder)
        .where(Holder.account_id == account.id, Holder.reminders.is_(True))
        .order_by(Holder.level, Holder.email)
    ).all()
    ids = [reminder.id for reminder, _fired in made]
    slot = max(fired for _reminder, fired in made).astimezone(zone).strftime("%Y-%m-%d:%H:%M")
    first = None
    for holder in holders:
        payload = {"email": holder.email, "account_id": account.id, "reminder_ids": ids}
        key = f"{TOPIC}:{holder.id}:{slot}"
        message = outbox.enqueue(
            session, topic=TOPIC, recipient=holder.email, payload=payload, dedupe_key=key
        ) or outbox.enqueue(  # this slot already has an e-mail (an invoice due again): another
            session,
            topic=TOPIC,
            recipient=holder.email,
            payload=payload,
            dedupe_key=f"{key}:{ids[0]}",
        )
        first = first or message
    for reminder, _fired in made:
        if first is None:
            reminder.status = "skipped"
        else:
            reminder.outbox_id = first.id
    return len(holders)


# --- opting out ---------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=OPT_OUT_SALT)


def opt_out_token(email: str) -> str:
    """A signed token naming `email`: whoever has it may turn its reminders off."""
    return _serializer().dumps({"email": email})


def opt_out_link(email: str) -> str:
    """The one-click opt-out link of `email`, built from PUBLIC_URL."""
    return public_url("auth.reminders_off", token=opt_out_token(email))


def email_for_token(token: str) -> str | None:
    """The e-mail an opt-out token names, or None when it was not made here (tampered)."""
    try:
        data = _serializer().loads(token)
    except (BadData, TypeError, ValueError):
        return None
    email = data.get("email") if isinstance(data, dict) else None
    return email if isinstance(email, str) and email else None


def set_reminders(session: Session, email: str, on: bool, *, actor: str) -> int:
    """Turn reminder e-mails on or off for `email` on every account it holds; returns how
    many holders changed (0 when the e-mail holds nothing, or had it so already).

    Each account is locked (in id order) before its holder changes, as every write does.
    """
    email = normalize_email(email)
    with write_transaction(session):
        account_ids = session.scalars(
            select(Holder.account_id)
            .where(Holder.email == email, Holder.reminders != bool(on))
            .order_by(Holder.account_id)
        ).all()
        changed = 0
        for account_id in account_ids:
            account = lock_account(session, account_id)
            holder = session.scalar(
                select(Holder)
                .where(Holder.account_id == account.id, Holder.email == email)
                .execution_options(populate_existing=True)
            )
            if holder is None or holder.reminders == bool(on):
                continue
            holder.reminders = bool(on)
            audit(
                session,
                actor,
                "holder.reminders",
                holder,
                account_id=account.id,
                email=email,
                reminders=bool(on),
            )
            changed += 1
    return changed
