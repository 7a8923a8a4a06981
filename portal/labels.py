"""The UI's glossary: what people read for a stored status, in one place.

Stored data, the API and its CSV keep the VTEX values ("Opened", "Paid", "Cancelled");
every page, e-mail and preview a person reads shows these labels instead, through the
`status_label` and `order_status_label` template filters (or the functions below).

The figures of a credit line go by the same words everywhere, My Credits included:
"Pre-authorized" (what purchases not yet billed hold; not "held", "reserved"), "Available"
(what can still be spent), "Open" and "Overdue" (invoices), and "Due today" (what an
invoice costs today, late fee and interest included). "On hold" names only the state of
an account that buys nothing until its overdue invoices are paid.
"""

from __future__ import annotations

import re

from flask import Flask
from flask_babel import lazy_gettext as _l

# Invoice statuses, in the order the filters list them.
INVOICE_STATUS_LABELS = {"Opened": _l("Open"), "Paid": _l("Paid"), "Cancelled": _l("Cancelled")}
# Orders (pre-authorizations): their PreAuthorization.status.
ORDER_STATUS_LABELS = {
    "Authorized": _l("Authorized"),
    "Settled": _l("Settled"),
    "Cancelled": _l("Cancelled"),
    "Expired": _l("Expired"),
}
# The engine's refusals name the stored status ("The invoice is Paid, not Opened."): the
# API returns them so; a page shows them with the label.
_STORED_OPEN = re.compile(r"\bOpened\b")


def status_label(status: str | None) -> str:
    """What a person reads for an invoice status: 'Opened' → 'Open' (unknown: as it is)."""
    return str(INVOICE_STATUS_LABELS.get(status or "", status or ""))


def order_status_label(status: str | None) -> str:
    """What a person reads for an order's status: 'Authorized' → 'Authorized'."""
    return str(ORDER_STATUS_LABELS.get(status or "", status or ""))


def invoice_status_choices() -> list[tuple[str, str]]:
    """(value, label) of the invoices list's status filter: the values stay the stored ones
    (`?status=Opened`), Overdue (open and past due) after Open."""
    labels = [(value, str(label)) for value, label in INVOICE_STATUS_LABELS.items()]
    return [labels[0], ("Overdue", str(_l("Overdue"))), *labels[1:]]


def refusal(message: str) -> str:
    """An engine refusal about invoices as a page shows it: the stored status read as its
    label ("The invoice is Paid, not Opened." → "The invoice is Paid, not Open.")."""
    return _STORED_OPEN.sub(status_label("Opened"), message)


def init_app(app: Flask) -> None:
    """Register the template filters."""
    app.jinja_env.filters.update(status_label=status_label, order_status_label=order_status_label)
