"""The link a customer pays an invoice with: the invoice's own, else the store's template.

The invoice's own `payment_link` (set by staff, the API or an import) wins. Without one, an
open invoice gets the store's payment link template filled in (settings: "Payment link
template", rules in `credit/payment_details.py`). A paid or cancelled invoice has none.

The filled link is computed when shown, never written to the invoice: the API's
`paymentLink`, the CSV exports and imports keep the invoice's own link, so a re-imported
export changes nothing; the API adds `effectivePaymentLink`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import quote

from . import credit
from .credit.payment_details import template_pieces
from .models import Invoice, StoreSettings

CENT = Decimal("0.01")
_WEB = ("https://", "http://")


def placeholder_values(
    invoice: Invoice, settings: StoreSettings, amount_due: Decimal
) -> dict[str, str]:
    """What each placeholder stands for, for one invoice (not yet URL-encoded)."""
    return {
        "friendlyId": invoice.friendly_id or "",
        "invoiceId": invoice.id,
        "accountId": invoice.account_id,
        "orderId": invoice.order_id or "",
        "installment": str(invoice.installment),
        "amountDue": _amount(amount_due),
        "value": _amount(invoice.value),
        "dueDate": invoice.due_date.isoformat(),
        "currency": settings.currency,
    }


def _amount(value) -> str:
    """1234.56: a point, two places, no thousands separator (what payment pages read)."""
    return str(Decimal(str(value or 0)).quantize(CENT))


def fill_template(template: str, values: dict[str, str]) -> str:
    """The template with each placeholder replaced by its value, URL-encoded."""
    return "".join(
        quote(values[text], safe="") if placeholder else text
        for text, placeholder in template_pieces(template)
    )


def effective_link(invoice: Invoice, settings: StoreSettings, amount_due: Decimal) -> str | None:
    """The link to pay `invoice` with, or None: its own link when it has one, else the
    store's template filled in; None when the invoice is not open or has neither.

    An own link that is not a web address (written around the engine's checks) gives
    None rather than the template: staff chose a link for this invoice.
    """
    if invoice.status != "Opened":
        return None
    own = (invoice.payment_link or "").strip()
    if own:
        return own if own.lower().startswith(_WEB) else None
    template = (settings.payment_link_template or "").strip()
    if not template:
        return None
    return fill_template(template, placeholder_values(invoice, settings, amount_due))


def link_for(invoice: Invoice, settings: StoreSettings, today: date) -> str | None:
    """`effective_link` with the amount due on the store's `today` (late fee and interest)."""
    if invoice.status != "Opened":
        return None
    return effective_link(invoice, settings, credit.amount_due(invoice, settings, today))


def from_template(invoice: Invoice, link: str | None) -> bool:
    """Whether `link` (the effective link) was made from the store's template."""
    return bool(link) and not (invoice.payment_link or "").strip()
