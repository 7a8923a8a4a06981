"""The reminder e-mail, made when the outbox sends it (topic "reminder").

The queued row holds only {email, account_id, reminder_ids}: when it is sent (in the
reader's language, which the outbox chooses), every invoice is checked again. A reminder
whose invoice was paid or cancelled meanwhile is `skipped`; with none left, or a holder
who is gone or has opted out, the message is obsolete and nothing is sent. Otherwise the
e-mail lists, per invoice, what is due today (with late fee and interest,
`credit.due_today`), the due date and the Pay link (its own, else the store's template:
`paylinks.effective_link`), then the store's payment instructions, bank details and Pix
key, and a signed one-click opt-out link, which also goes in `List-Unsubscribe` (with
`List-Unsubscribe-Post`, RFC 8058), and the store's signature (`identity.email_signature`).
Once it is sent, its reminders are `sent`.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import outbox
from .credit.invoices import AmountDue, due_today
from .credit.ledger import write_transaction
from .credit.settings import get_settings
from .i18n import format_money, number_locale_for
from .identity import email_signature, identity_of
from .models import Account, Holder, Invoice, OutboxMessage, Reminder, StoreSettings
from .paylinks import effective_link
from .reminders import TOPIC, opt_out_link


def render(session: Session, message: OutboxMessage, now: datetime):
    """(subject, body, headers) of a reminder e-mail, or None when nothing is left to say."""
    payload = message.payload or {}
    rows = session.execute(
        select(Reminder.id, Invoice)
        .join(Invoice, Invoice.id == Reminder.invoice_id)
        .where(Reminder.id.in_(_ids(payload)))
        .order_by(Invoice.due_date, Invoice.id)
        .execution_options(populate_existing=True)
    ).all()
    gone = [reminder_id for reminder_id, invoice in rows if invoice.status != "Opened"]
    if gone:
        _skip(session, gone)
    invoices = list({i.id: i for _r, i in rows if i.status == "Opened"}.values())
    holder = session.scalar(
        select(Holder).where(
            Holder.account_id == str(payload.get("account_id")),
            Holder.email == message.recipient,
        )
    )
    if not invoices or holder is None or not holder.reminders:
        return None
    settings = get_settings(session)
    link = opt_out_link(holder.email)
    account = session.get(Account, holder.account_id)
    text = _Text(settings, str(get_locale() or "en"), now)  # the reader's: outbox._language
    subject, body = text.subject(invoices), text.body(account, invoices, link)
    headers = {
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return subject, body, headers


class _Text:
    """The words of one reminder e-mail, in one locale, on the store's day of `now`."""

    def __init__(self, settings: StoreSettings, locale: str, now: datetime):
        self.settings = settings
        self.numbers = number_locale_for(locale)
        self.today = now.astimezone(ZoneInfo(settings.timezone)).date()

    def money(self, value) -> str:
        return format_money(value, self.settings.currency, self.numbers)

    def day(self, value: date) -> str:
        return format_date(value, "long", locale=self.numbers)

    def subject(self, invoices: list[Invoice]) -> str:
        if len(invoices) == 1:
            return _(
                "Payment reminder: invoice %(id)s, due %(date)s",
                id=invoices[0].friendly_id,
                date=self.day(invoices[0].due_date),
            )
        return ngettext(
            "Payment reminder: %(num)d invoice", "Payment reminder: %(num)d invoices", len(invoices)
        )

    def body(self, account: Account | None, invoices: list[Invoice], link: str) -> str:
        name = (account.name or account.id) if account is not None else ""
        parts = [
            _("Hello,"),
            ngettext(
                "A reminder about an invoice of the credit account %(account)s:",
                "A reminder about %(num)d invoices of the credit account %(account)s:",
                len(invoices),
                account=name,
            ),
            *(self.invoice(invoice) for invoice in invoices),
        ]
        how = self.how_to_pay()
        if how:
            parts.append(_("How to pay:") + "\n" + how)
        parts.append(_("If you have paid already, please ignore this message."))
        parts.append(_("Stop these reminder e-mails: %(link)s", link=link))
        signature = email_signature(identity_of(self.settings))
        return "\n\n".join([*parts, signature] if signature else parts) + "\n"

    def how_to_pay(self) -> str:
        """The store's payment instructions, bank details and Pix key (those it has)."""
        settings = self.settings
        lines = [(settings.payment_instructions or "").strip()]
        bank = (settings.bank_details or "").strip()
        if bank:
            lines.append(_("Bank details:") + "\n" + bank)
        if (settings.pix_key or "").strip():
            lines.append(_("Pix key: %(key)s", key=settings.pix_key.strip()))
        return "\n".join(line for line in lines if line)

    def invoice(self, invoice: Invoice) -> str:
        due = due_today(invoice, self.settings, self.today)
        lines = [
            _(
                "Invoice %(id)s (installment %(n)d of %(of)d)",
                id=invoice.friendly_id,
                n=invoice.installment,
                of=invoice.number_of_installments,
            ),
            self.due_date(invoice, due),
            self.amount(due),
        ]
        link = effective_link(invoice, self.settings, due.total)
        if link:
            lines.append(_("Pay: %(link)s", link=link))
        return "\n".join(lines)

    def due_date(self, invoice: Invoice, due: AmountDue) -> str:
        if due.days_late:
            return ngettext(
                "Due date: %(date)s, %(num)d day overdue",
                "Due date: %(date)s, %(num)d days overdue",
                due.days_late,
                date=self.day(invoice.due_date),
            )
        if invoice.due_date == self.today:
            return _("Due date: today, %(date)s", date=self.day(invoice.due_date))
        return _("Due date: %(date)s", date=self.day(invoice.due_date))

    def amount(self, due: AmountDue) -> str:
        if not (due.late_fee or due.interest):
            return _("Amount due: %(total)s", total=self.money(due.total))
        return _(
            "Due today: %(total)s (%(remaining)s + late fee %(fee)s + interest %(interest)s)",
            total=self.money(due.total),
            remaining=self.money(due.remaining),
            fee=self.money(due.late_fee),
            interest=self.money(due.interest),
        )


def _ids(payload: dict) -> list[int]:
    return [i for i in payload.get("reminder_ids") or [] if isinstance(i, int)]


def _skip(session: Session, reminder_ids: list[int]) -> None:
    """Queued reminders whose invoice is no longer open: skipped, never sent."""
    with write_transaction(session):
        session.execute(
            update(Reminder)
            .where(Reminder.id.in_(reminder_ids), Reminder.status == "queued")
            .values(status="skipped")
            .execution_options(synchronize_session=False)
        )


def _sent(session: Session, row_id: int) -> None:
    """The e-mail went out (in the outbox's transaction that marks it): its reminders are
    sent (those skipped meanwhile stay so)."""
    row = session.get(OutboxMessage, row_id)
    session.execute(
        update(Reminder)
        .where(Reminder.id.in_(_ids(row.payload or {})), Reminder.status == "queued")
        .values(status="sent")
        .execution_options(synchronize_session=False)
    )


outbox.register(TOPIC, render, on_sent=_sent)
