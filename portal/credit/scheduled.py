"""Scheduled limit changes: a credit limit (and optional tolerance) decided now, applied on
a later day by the jobs worker through the normal `change_limit` / `change_tolerance` rule.

A change is `pending` until the start of its effective day in the store's timezone, then
`applied` by `apply_scheduled_limits`, or `cancelled` by an owner before that, or `failed`
(with its error) when the rule refuses it on the day, e.g. because the account was closed
meanwhile. Scheduling and cancelling lock the account first, like every limit change, and
the job claims each account with `FOR UPDATE SKIP LOCKED`, re-reading the change under the
lock, so a change is applied at most once whatever number of workers run the pass.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Account, ScheduledLimitChange, utcnow
from .accounts import change_limit, change_tolerance, get_account
from .errors import Conflict, CreditError, InvalidInput, NotFound
from .ledger import audit, lock_account, reread, write_transaction
from .money import parse_non_negative, parse_rate
from .permissions import EVERYTHING, LIMITS, Grant
from .settings import get_settings, store_today
from .validation import clean_text, require_text

log = logging.getLogger(__name__)

PENDING, APPLIED, CANCELLED, FAILED = "pending", "applied", "cancelled", "failed"
STATUSES = (PENDING, APPLIED, CANCELLED, FAILED)
# A status as a refusal names it ("The scheduled change is applied, not pending.").
STATUS_WORDS = {APPLIED: _l("applied"), CANCELLED: _l("cancelled"), FAILED: _l("failed")}
MAX_DAYS_AHEAD = 366  # a date further away is almost certainly a typo (2205 for 2025)
SYSTEM = "system"  # who marks a change that could not be applied
MAX_ID = 2**31 - 1
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_effective_on(raw, field: str = "effective_on") -> date:
    """A calendar day: a `date` or `YYYY-MM-DD` text (no time, no zone), else InvalidInput."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    refusal = InvalidInput(
        "invalid_date", _("%(field)s must be a date such as 2024-01-31.", field=field), field
    )
    if not isinstance(raw, str) or not _ISO_DAY.fullmatch(raw.strip()):
        raise refusal
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise refusal from None


def _details(change: ScheduledLimitChange) -> dict:
    return {
        "change_id": change.id,
        "credit_limit": change.credit_limit,
        "tolerance": change.tolerance,
        "effective_on": change.effective_on.isoformat(),
    }


def schedule_limit(
    session: Session,
    account_id: str,
    value,
    *,
    effective_on,
    reason: str,
    actor: str,
    tolerance=None,
    grant: Grant = EVERYTHING,
) -> ScheduledLimitChange:
    """Schedule a new credit limit (and tolerance, when given) for a later day.

    The day must come after the store's today (a change for today is a plain
    `change_limit`) and at most MAX_DAYS_AHEAD days ahead; one pending change per account
    and day; refused on a closed account. Needs the right to change limits (`grant`).
    """
    grant.check(LIMITS, "credit_limit")
    limit = parse_non_negative(value, "credit_limit")
    rate = parse_rate(tolerance, "tolerance") if tolerance not in (None, "") else None
    day = parse_effective_on(effective_on)
    reason = require_text(reason, "reason")
    actor = clean_text(actor, "actor", 254)
    with write_transaction(session):
        account = lock_account(session, account_id)
        today = store_today(get_settings(session))
        if day <= today:
            raise InvalidInput(
                "date_not_in_future",
                _(
                    "The effective date must be after today (%(today)s in the store's "
                    "timezone); change the limit directly for today.",
                    today=today.isoformat(),
                ),
                "effective_on",
            )
        if day > today + timedelta(days=MAX_DAYS_AHEAD):
            raise InvalidInput(
                "date_too_far",
                _("The effective date must be at most %(days)s days ahead.", days=MAX_DAYS_AHEAD),
                "effective_on",
            )
        if account.status == "Closed":
            raise Conflict("account_closed", _("The account is closed."))
        clash = session.scalar(
            select(ScheduledLimitChange.id).where(
                ScheduledLimitChange.account_id == account.id,
                ScheduledLimitChange.status == PENDING,
                ScheduledLimitChange.effective_on == day,
            )
        )
        if clash is not None:
            raise Conflict(
                "duplicate_schedule",
                _(
                    "A change is already scheduled for %(day)s; cancel it first.",
                    day=day.isoformat(),
                ),
                "effective_on",
            )
        change = ScheduledLimitChange(
            account_id=account.id,
            credit_limit=limit,
            tolerance=rate,
            effective_on=day,
            reason=reason,
            scheduled_by=actor,
            status=PENDING,
            created_at=utcnow(),
            error="",
        )
        session.add(change)
        session.flush()
        audit(
            session,
            actor,
            "account.schedule_limit",
            change,
            account_id=account.id,
            reason=reason,
            **_details(change),
        )
    return change


def cancel_scheduled(
    session: Session, account_id: str, change_id, *, actor: str, grant: Grant = EVERYTHING
) -> ScheduledLimitChange:
    """Cancel a pending change of this account (Conflict once it is applied, cancelled or
    failed). Needs the right to change limits, as scheduling it did."""
    grant.check(LIMITS)
    with write_transaction(session):
        account = lock_account(session, account_id)
        change = _change(session, account.id, change_id)
        if change.status != PENDING:
            raise Conflict(
                "invalid_transition",
                _(
                    "The scheduled change is %(status)s, not pending.",
                    status=STATUS_WORDS.get(change.status, change.status),
                ),
            )
        change.status = CANCELLED
        change.resolved_at = utcnow()
        audit(
            session,
            actor,
            "account.cancel_scheduled_limit",
            change,
            account_id=account.id,
            **_details(change),
        )
    return change


def _change(session: Session, account_id: str, change_id) -> ScheduledLimitChange:
    try:
        key = int(str(change_id).strip())
    except ValueError:
        key = 0
    # an id no integer column can hold names nothing (and must not reach PostgreSQL)
    change = reread(session, ScheduledLimitChange, key) if 1 <= key <= MAX_ID else None
    if change is None or change.account_id != account_id:
        raise NotFound(
            "scheduled_change_not_found",
            _("Scheduled change %(id)s does not exist on this account.", id=change_id),
        )
    return change


def pending_changes(session: Session, account_id: str) -> list[ScheduledLimitChange]:
    """The account's pending changes, soonest first (NotFound for an unknown account)."""
    account = get_account(session, account_id)
    return list(
        session.scalars(
            select(ScheduledLimitChange)
            .where(
                ScheduledLimitChange.account_id == account.id,
                ScheduledLimitChange.status == PENDING,
            )
            .order_by(ScheduledLimitChange.effective_on, ScheduledLimitChange.id)
        )
    )


def scheduled_changes(session: Session, account_id: str) -> list[ScheduledLimitChange]:
    """Every change of the account, pending and past, newest first (as scheduled)."""
    account = get_account(session, account_id)
    return list(
        session.scalars(
            select(ScheduledLimitChange)
            .where(ScheduledLimitChange.account_id == account.id)
            .order_by(ScheduledLimitChange.created_at.desc(), ScheduledLimitChange.id.desc())
        )
    )


# --- the job ------------------------------------------------------------------------------


def _claim(session: Session, account_id: str) -> Account | None:
    """The account row locked for this worker, or None when another transaction holds it
    (PostgreSQL's SKIP LOCKED; on SQLite BEGIN IMMEDIATE already serialises writers)."""
    return session.execute(
        select(Account)
        .where(Account.id == account_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _due(today: date, account_id: str | None = None):
    query = select(ScheduledLimitChange).where(
        ScheduledLimitChange.status == PENDING, ScheduledLimitChange.effective_on <= today
    )
    if account_id is not None:
        query = query.where(ScheduledLimitChange.account_id == account_id)
    return query


def apply_scheduled_limits(session: Session, now: datetime) -> dict[str, int]:
    """Apply every pending change whose day has come at `now` (the start of that day in
    the store's timezone), as done by whoever scheduled it; one write transaction each.

    Account by account: claim the account row (SKIP LOCKED), re-read under the lock its
    earliest due pending change (a change cancelled or applied meanwhile is simply no
    longer there), apply it through `change_limit` (and `change_tolerance`), commit, and
    again until none is left. A change the rules refuse (the account was closed) is marked
    `failed` with its error and the account's next change follows. An account held by
    another transaction is left, with all its due changes, to whoever holds it or to the
    next pass, so an account's changes always apply in the order of their days.

    Returns counts: `applied`, `failed`, `skipped` (accounts left for later).
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    today = now.astimezone(ZoneInfo(get_settings(session).timezone)).date()
    accounts = session.scalars(
        _due(today)
        .with_only_columns(ScheduledLimitChange.account_id)
        .distinct()
        .order_by(ScheduledLimitChange.account_id)
    ).all()
    counts = {"applied": 0, "failed": 0, "skipped": 0}
    for account_id in accounts:
        while True:
            try:
                outcome = _apply_next(session, account_id, today, now)
            except _Refused as refused:
                outcome = _mark_failed(session, account_id, refused.change_id, refused.error, now)
            except Exception:  # a database or programming error: tried again next pass
                session.rollback()
                log.exception("scheduled limit changes of %s not applied", account_id)
                outcome = "skipped"
            if outcome == "done":
                break
            if outcome is not None:
                counts[outcome] += 1
            if outcome == "skipped":
                break
    return counts


class _Refused(Exception):
    """change_limit refused a change: which one, and why (the transaction rolled back)."""

    def __init__(self, change_id: int, error: CreditError):
        super().__init__(error.message)
        self.change_id, self.error = change_id, error


def _apply_next(session: Session, account_id: str, today: date, now: datetime) -> str:
    """Apply the account's earliest due change: "applied", "skipped" (the account is
    locked elsewhere) or "done" (nothing due any more)."""
    with write_transaction(session):
        account = _claim(session, account_id)
        if account is None:
            return "skipped"
        change = session.scalars(
            _due(today, account.id)
            .order_by(ScheduledLimitChange.effective_on, ScheduledLimitChange.id)
            .limit(1)
            .execution_options(populate_existing=True)
        ).first()
        if change is None:
            return "done"
        actor, reason = change.scheduled_by, change.reason
        try:
            if account.status == "Closed":
                raise Conflict("account_closed", _("The account was closed before the change."))
            change_limit(session, account.id, change.credit_limit, actor=actor, reason=reason)
            if change.tolerance is not None:
                change_tolerance(session, account.id, change.tolerance, actor=actor, reason=reason)
        except CreditError as error:
            raise _Refused(change.id, error) from error
        change.status = APPLIED
        change.resolved_at = now
    return "applied"


def _mark_failed(
    session: Session, account_id: str, change_id: int, error: CreditError, now: datetime
) -> str | None:
    """Record why a change was not applied: "failed", "skipped" (the account is locked
    elsewhere: tried again by its holder or the next pass) or None (no longer pending)."""
    text = clean_text(f"{error.code}: {error.message}"[:500], "error", 500)
    with write_transaction(session):
        if _claim(session, account_id) is None:
            return "skipped"
        change = reread(session, ScheduledLimitChange, change_id)
        if change is None or change.status != PENDING:
            return None
        change.status = FAILED
        change.error = text
        change.resolved_at = now
        audit(
            session,
            SYSTEM,
            "account.scheduled_limit_failed",
            change,
            account_id=account_id,
            error=error.code,
            message=error.message,
            **_details(change),
        )
    return "failed"
