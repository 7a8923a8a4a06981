"""What My Credits lists for one account: its invoices by status and its statement.

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
from ..models import Account, Invoice, StoreSettings
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
