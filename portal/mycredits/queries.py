"""What My Credits lists for one account: its invoices by status and its statement; and
whether the customer's address gets reminder e-mails.

Read-only. Lists go through the shared listing module (the same specs as the back-office
and the API), restricted to the account. The statement itself is a shared read
(portal/statements.py, also used by the back-office); its names stay importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from .. import credit, figures, listing
from ..credit.validation import normalize_email
from ..models import Account, Holder, Invoice, StoreSettings
from ..statements import (  # noqa: F401  (My Credits' names for the shared statement read)
    CUSTOMER_NOTES,
    HISTORY_PER_PAGE,
    ORIGIN_LABELS,
    STATEMENT_HEADER,
    History,
    HistoryLine,
    change_text,
    customer_note,
    history,
    statement_rows,
)
from ..statements import last_page_if_past as _run

TABS = {"open": "Opened", "paid": "Paid", "cancelled": "Cancelled"}
TAB_SORT = {"open": "dueDate", "paid": "-dueDate", "cancelled": "-dueDate"}
INVOICES_PER_PAGE = 10


@dataclass
class InvoiceTab:
    """One page of the account's invoices of one status, with every tab's count."""

    tab: str
    page: listing.Page
    rows: list[figures.InvoiceRow]
    counts: dict[str, int]
    overdue: int


def invoice_tab(
    session: Session, account: Account, settings: StoreSettings, tab: str, number: int = 1
) -> InvoiceTab:
    """The `tab` (open, paid, cancelled) page `number` of the account's invoices."""
    query = listing.ListingQuery(sort=TAB_SORT[tab], page=number, per_page=INVOICES_PER_PAGE)
    page = _run(
        session,
        listing.INVOICES,
        query,
        Invoice.account_id == account.id,
        Invoice.status == TABS[tab],
    )
    today = credit.store_today(settings)
    counts, overdue = _counts(session, account.id, today)
    rows = [figures.invoice_row(invoice, settings, today) for invoice in page.items]
    return InvoiceTab(tab=tab, page=page, rows=rows, counts=counts, overdue=overdue)


def _counts(session: Session, account_id: str, today: date) -> tuple[dict[str, int], int]:
    late = func.count(case((Invoice.due_date < today, Invoice.id)))
    rows = session.execute(
        select(Invoice.status, func.count(), late)
        .where(Invoice.account_id == account_id)
        .group_by(Invoice.status)
    ).all()
    by_status = {status: (count, overdue) for status, count, overdue in rows}
    counts = {tab: by_status.get(status, (0, 0))[0] for tab, status in TABS.items()}
    return counts, by_status.get("Opened", (0, 0))[1]


@dataclass(frozen=True)
class Reminders:
    """Whether reminder e-mails go to `email`: on `on` of the `total` accounts it holds."""

    email: str
    on: int
    total: int

    @property
    def all_on(self) -> bool:
        """Every account of the address sends it reminders (the switch shows "on")."""
        return self.total > 0 and self.on == self.total


def reminders(session: Session, email: str) -> Reminders:
    """The reminder setting of an address, over every account it holds."""
    email = normalize_email(email)
    rows = session.execute(
        select(Holder.reminders, func.count())
        .where(Holder.email == email)
        .group_by(Holder.reminders)
    ).all()
    counts = {bool(on): count for on, count in rows}
    return Reminders(email, counts.get(True, 0), sum(counts.values()))
