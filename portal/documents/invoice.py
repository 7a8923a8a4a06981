"""One invoice as the staff page and the printed invoice show it: what is due today and why,
the link to pay it with, and (printed) who the store is and how to pay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import segno
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.orm import Session

from .. import credit, paylinks
from ..identity import StoreIdentity, identity_of
from ..listing import calendar_day
from ..models import Account, Invoice, StoreSettings


@dataclass(frozen=True)
class InvoiceFacts:
    """An invoice with its account, what is due on it today and the link to pay it with."""

    invoice: Invoice
    account: Account | None
    settings: StoreSettings
    today: date
    overdue: bool
    due: credit.AmountDue
    pay_link: str | None
    link_from_template: bool


def invoice_facts(session: Session, invoice: Invoice) -> InvoiceFacts:
    """What the staff invoice page and the printed invoice show of `invoice` today."""
    settings = credit.get_settings(session)
    today = credit.store_today(settings)
    due = credit.due_today(invoice, settings, today)
    pay_link = paylinks.effective_link(invoice, settings, due.total)
    return InvoiceFacts(
        invoice=invoice,
        account=session.get(Account, invoice.account_id),
        settings=settings,
        today=today,
        overdue=credit.is_overdue(invoice, today),
        due=due,
        pay_link=pay_link,
        link_from_template=paylinks.from_template(invoice, pay_link),
    )


@dataclass(frozen=True)
class HowToPay:
    """The store's payment instructions, bank details and Pix key (those it has)."""

    instructions: str
    bank_details: str
    pix_key: str

    def __bool__(self) -> bool:
        return bool(self.instructions or self.bank_details or self.pix_key)


@dataclass(frozen=True)
class PrintableInvoice:
    """Everything the printed invoice shows."""

    facts: InvoiceFacts
    store: StoreIdentity
    how_to_pay: HowToPay
    issued_on: date
    resolved_on: date | None
    qr: Markup | None

    @property
    def invoice(self) -> Invoice:
        """The invoice printed."""
        return self.facts.invoice


def printable_invoice(session: Session, invoice: Invoice) -> PrintableInvoice:
    """The printed invoice of `invoice`: its facts, the letterhead, how to pay, a QR code."""
    facts = invoice_facts(session, invoice)
    settings = facts.settings
    zone = ZoneInfo(settings.timezone)
    return PrintableInvoice(
        facts=facts,
        store=identity_of(settings),
        how_to_pay=HowToPay(
            instructions=(settings.payment_instructions or "").strip(),
            bank_details=(settings.bank_details or "").strip(),
            pix_key=(settings.pix_key or "").strip(),
        ),
        issued_on=calendar_day(invoice.created_at, zone),
        resolved_on=calendar_day(invoice.resolved_at, zone) if invoice.resolved_at else None,
        qr=qr_svg(facts.pay_link) if facts.pay_link else None,
    )


def qr_svg(link: str) -> Markup | None:
    """The QR code of `link` as inline SVG (no image file, no request to fetch); None for a
    link too long for one (over some 2,300 characters: the link is printed as text anyway).

    segno escapes the title it writes into the SVG; the rest is its own markup."""
    try:
        code = segno.make(link, error="m", micro=False)
    except segno.DataOverflowError:
        return None
    return Markup(code.svg_inline(scale=3, border=2, svgclass="qr", title=_("QR code to pay")))
