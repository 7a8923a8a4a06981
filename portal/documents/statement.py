"""An account's statement for a period: the balance at its start, every entry in it with the
balance after each, and the balance at its end (opening + entries = closing, exactly).

The period is a range of the store's calendar days (its timezone), both ends included, at
most MAX_PERIOD_DAYS long and MAX_ENTRIES entries (MAX_PDF_ENTRIES as a PDF): a document
people read and print, not an export (the CSV has every entry). Descriptions are the
neutral ones customers read on My Credits: a printed statement is handed to the customer,
whoever prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..credit.errors import InvalidInput
from ..identity import StoreIdentity, identity_of
from ..listing import calendar_day, read_day_or_time
from ..models import Account, Invoice, StatementEntry, StoreSettings
from ..statements import ORIGIN_LABELS, change_text, customer_note

MAX_PERIOD_DAYS = 366
MAX_ENTRIES = 5000
# WeasyPrint lays out some 50 table rows a second on one core: 1,000 entries (about 40
# pages) is some 20 seconds of a worker's CPU already. Longer periods print from the page.
MAX_PDF_ENTRIES = 1000
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Period:
    """A range of the store's calendar days, `start` and `end` included."""

    start: date
    end: date

    @property
    def query(self) -> dict[str, str]:
        """The period as the query string writes it."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def read_period(args: Mapping[str, str], today: date) -> Period:
    """The period asked for with `from` and `to` (YYYY-MM-DD, both needed); the current
    month when neither is given. InvalidInput, naming the field, for a missing or bad
    date, an end before the start, or more than MAX_PERIOD_DAYS days."""
    if args.get("from") is None and args.get("to") is None:
        start = today.replace(day=1)
        end = (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
        return Period(start, end)
    start = _day(args.get("from"), "from", _("From"))
    end = _day(args.get("to"), "to", _("To"))
    if end < start:
        raise InvalidInput("invalid_period", _('"to" is before "from": swap the dates.'), "to")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidInput(
            "period_too_long",
            _(
                'The period from "from" to "to" is longer than %(max)d days: choose a shorter '
                "period.",
                max=MAX_PERIOD_DAYS,
            ),
            "to",
        )
    return Period(start, end)


def _day(raw: str | None, name: str, label: str) -> date:
    """A calendar date written YYYY-MM-DD (the portal's strict reader; no date-time); a
    refusal names the field by its label on the page ("From", "To")."""
    if raw is None or not raw.strip():
        message = _('"%(field)s" is missing: write a date such as 2024-03-31.', field=label)
        raise InvalidInput("invalid_period", message, name)
    try:
        value = read_day_or_time(raw)
    except (ValueError, OverflowError):
        value = None
    if not isinstance(value, date) or isinstance(value, datetime):
        message = _('"%(field)s" is not a date: write it as YYYY-MM-DD (2024-03-31).', field=label)
        raise InvalidInput("invalid_period", message, name)
    if not 1900 <= value.year <= 9998:
        message = _('"%(field)s" is out of range.', field=label)
        raise InvalidInput("invalid_period", message, name)
    return value


@dataclass(frozen=True)
class StatementLine:
    """One entry of the period: its store day, what it concerns and the balance after it."""

    day: date
    entry: StatementEntry
    invoice: Invoice | None
    balance: Decimal

    @property
    def label(self) -> str:
        """The kind of entry as people read it (Payment, Invoice issued…)."""
        return str(ORIGIN_LABELS.get(self.entry.origin, self.entry.origin))

    @property
    def note(self) -> str:
        """The neutral description customers read, with a limit change's 'old → new'."""
        note = customer_note(self.entry.origin, self.entry.invoice_id)
        change = change_text(self.entry.origin, self.entry.details)
        return f"{note}: {change}" if note and change else note or change


@dataclass(frozen=True)
class PeriodStatement:
    """The statement of `account` for `period`: opening balance, entries, closing balance."""

    account: Account
    store: StoreIdentity
    period: Period
    today: date
    opening: Decimal
    lines: list[StatementLine]
    credits: Decimal
    debits: Decimal

    @property
    def closing(self) -> Decimal:
        """The balance at the end of the period: the opening plus every entry in it."""
        return self.opening + self.credits + self.debits


def period_statement(
    session: Session,
    account: Account,
    period: Period,
    settings: StoreSettings,
    today: date,
    *,
    pdf: bool = False,
) -> PeriodStatement:
    """The statement of `account` for `period` (store days). InvalidInput when the period
    holds more than MAX_ENTRIES entries, or MAX_PDF_ENTRIES for a PDF (nothing else is
    read then)."""
    zone = ZoneInfo(settings.timezone)
    start = datetime.combine(period.start, time(), zone).astimezone(UTC)
    end = datetime.combine(period.end + timedelta(days=1), time(), zone).astimezone(UTC)
    mine = StatementEntry.account_id == account.id
    during = (mine, StatementEntry.created_at >= start, StatementEntry.created_at < end)
    count = session.scalar(select(func.count()).select_from(StatementEntry).where(*during))
    if count > (min(MAX_ENTRIES, MAX_PDF_ENTRIES) if pdf else MAX_ENTRIES):
        if count <= MAX_ENTRIES:  # the page would take it
            message = _(
                'More than %(max)d entries from "from" to "to" for a PDF: choose a shorter '
                "period, or print the page.",
                max=MAX_PDF_ENTRIES,
            )
        else:
            message = _(
                'More than %(max)d entries from "from" to "to": choose a shorter period.',
                max=MAX_ENTRIES,
            )
        raise InvalidInput("period_too_large", message, "from")
    opening = _money(
        session.scalar(
            select(func.coalesce(func.sum(StatementEntry.value), 0)).where(
                mine, StatementEntry.created_at < start
            )
        )
    )
    rows = session.execute(
        select(StatementEntry, Invoice)
        .outerjoin(Invoice, Invoice.id == StatementEntry.invoice_id)
        .where(*during)
        .order_by(StatementEntry.created_at, StatementEntry.id)
    ).all()
    balance, credits, debits, lines = opening, Decimal("0.00"), Decimal("0.00"), []
    for entry, invoice in rows:
        balance += entry.value
        if entry.value > 0:
            credits += entry.value
        else:
            debits += entry.value
        lines.append(StatementLine(calendar_day(entry.created_at, zone), entry, invoice, balance))
    return PeriodStatement(
        account=account,
        store=identity_of(settings),
        period=period,
        today=today,
        opening=opening,
        lines=lines,
        credits=credits,
        debits=debits,
    )


def _money(value) -> Decimal:
    # SQLite returns SUM over NUMERIC as float: go through str to keep the cents exact.
    return Decimal(str(value or 0)).quantize(CENT)
