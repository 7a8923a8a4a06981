"""An account's statement as people read it: one page with running balances, and every
entry as CSV rows (a shared read: My Credits and the back-office both use it).

Read-only. Pages go through the shared listing module (the same spec as the API); the
running balance is an exact Decimal sum of the ledger entries. A customer reads neutral
descriptions; staff read the reasons typed in the back-office and who made each entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import i18n, listing
from .models import Invoice, StatementEntry

HISTORY_PER_PAGE = 20
CSV_BATCH = 2000
CENT = Decimal("0.01")
ORIGIN_LABELS = {
    "Credit": _l("Credit limit"),
    "Tolerance": _l("Tolerance"),
    "Invoice": _l("Invoice issued"),
    "Payment": _l("Payment"),
    "Cancellation": _l("Invoice cancelled"),
    "Reopen": _l("Invoice reopened"),
    "Refund": _l("Refund"),
    "Statement": _l("Adjustment"),
}
# What a customer reads for an entry instead of the staff's reason (reasons, file names and
# notes typed in the back-office are internal).
CUSTOMER_NOTES = {
    "Credit": _l("Credit limit changed"),
    "Tolerance": _l("Tolerance changed"),
    "Statement": _l("Balance adjusted by the store"),
    "Refund": _l("Refund from the store"),
}
STATEMENT_HEADER = (
    _l("Date"),
    _l("Type"),
    _l("Description"),
    _l("Invoice"),
    _l("Installment"),
    _l("Order"),
    _l("Value"),
    _l("Balance"),
)
# The staff's file: the same columns (Description is the reason typed), plus who did it.
STAFF_STATEMENT_HEADER = (*STATEMENT_HEADER, _l("Done by"))


def statement_header(*, staff: bool = False) -> list[str]:
    """The header row of a statement file, in the reader's language."""
    return [str(name) for name in (STAFF_STATEMENT_HEADER if staff else STATEMENT_HEADER)]


@dataclass
class HistoryLine:
    """A ledger entry with the balance right after it and the invoice it concerns."""

    entry: StatementEntry
    balance: Decimal
    invoice: Invoice | None

    @property
    def customer_note(self) -> str:
        """The neutral description a customer sees (never the reason typed by staff)."""
        return customer_note(self.entry.origin, self.entry.invoice_id)

    @property
    def change(self) -> str:
        """A limit or tolerance change as people read it: 'R$10,000.00 → R$9,000.00'."""
        return change_text(self.entry.origin, self.entry.details)


def change_text(origin: str, details: dict | None) -> str:
    """'old → new' of a limit (money) or tolerance (percent) entry; '' for other entries."""
    if not details or origin not in ("Credit", "Tolerance"):
        return ""
    show = i18n.money if origin == "Credit" else lambda v: i18n.percent(v, 1)
    return f"{show(Decimal(details['old']))} → {show(Decimal(details['new']))}"


def customer_note(origin: str, invoice_id: str | None) -> str:
    """The neutral description of an entry for customers, by its origin."""
    return "" if invoice_id else str(CUSTOMER_NOTES.get(origin, ""))


@dataclass
class History:
    """One page of the account's statement, newest first."""

    page: listing.Page
    lines: list[HistoryLine]


def last_page_if_past(session: Session, spec, query: listing.ListingQuery, *conditions):
    """A page of the list; a page past the end shows the last one instead."""
    page = listing.run(session, spec, query, *conditions)
    if not page.items and query.page > page.pages:
        query = listing.ListingQuery(sort=query.sort, page=page.pages, per_page=query.per_page)
        page = listing.run(session, spec, query, *conditions)
    return page


def history(session: Session, account_id: str, number: int = 1) -> History:
    """Page `number` of the account's statement, newest first, with running balances."""
    query = listing.ListingQuery(sort="-id", page=number, per_page=HISTORY_PER_PAGE)
    page = last_page_if_past(
        session, listing.STATEMENTS, query, StatementEntry.account_id == account_id
    )
    if not page.items:
        return History(page=page, lines=[])
    newest = page.items[0]
    balance = _money(
        session.scalar(
            select(func.coalesce(func.sum(StatementEntry.value), 0)).where(
                StatementEntry.account_id == account_id, StatementEntry.id <= newest.id
            )
        )
    )
    invoice_ids = {entry.invoice_id for entry in page.items if entry.invoice_id}
    invoices = {
        invoice.id: invoice
        for invoice in session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids)))
    }
    lines = []
    for entry in page.items:
        lines.append(HistoryLine(entry, balance, invoices.get(entry.invoice_id)))
        balance -= entry.value
    return History(page=page, lines=lines)


def statement_rows(
    session: Session, account_id: str, *, staff: bool = False
) -> Iterator[list[str]]:
    """Every entry of the account, oldest first, with the balance after it, as CSV text.

    For the customer (default) the description is neutral, never the staff's reason; for
    staff (`staff=True`) it is the reason or description typed, and a last column says who
    made the entry. One streamed query (flat memory); the running balance is an exact
    Decimal sum. Cells are plain text: the CSV writer defuses formulas.
    """
    stmt = (
        select(
            StatementEntry.created_at,
            StatementEntry.origin,
            StatementEntry.invoice_id,
            Invoice.friendly_id,
            StatementEntry.installment,
            Invoice.number_of_installments,
            Invoice.order_id,
            StatementEntry.value,
            StatementEntry.description,
            StatementEntry.done_by,
        )
        .outerjoin(Invoice, Invoice.id == StatementEntry.invoice_id)
        .where(StatementEntry.account_id == account_id)
        .order_by(StatementEntry.id)
    )
    balance = Decimal("0.00")
    for row in session.execute(stmt.execution_options(yield_per=CSV_BATCH)):
        at, origin, invoice_id, friendly_id, n, total, order_id, value, description, by = row
        balance += value
        cells = [
            _timestamp(at),
            str(ORIGIN_LABELS.get(origin, origin)),
            (description or "") if staff else customer_note(origin, invoice_id),
            friendly_id or "",
            f"{n}/{total}" if n and total else "",
            order_id or "",
            str(value),
            str(balance),
        ]
        yield [*cells, by or ""] if staff else cells


def _timestamp(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def _money(value) -> Decimal:
    # SQLite returns SUM over NUMERIC as float: go through str to keep the cents exact.
    return Decimal(str(value or 0)).quantize(CENT)
