"""Invoices: pay (in full or in part), cancel, reopen, postpone, annotate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import webhooks
from ..labels import status_label
from ..models import Invoice, Payment, StoreSettings, utcnow
from .errors import Conflict, InvalidInput, NotFound
from .ledger import audit, lock_account, post, reread, write_transaction
from .money import parse_amount, parse_whole
from .settings import get_settings

STATUSES = ("Opened", "Paid", "Cancelled")
CENT = Decimal("0.01")


def get_invoice(session: Session, account_id: str, invoice_id: str) -> Invoice:
    """The invoice of this account, or NotFound (another account's id is not found too)."""
    invoice = session.get(Invoice, str(invoice_id))
    if invoice is None or invoice.account_id != str(account_id):
        raise NotFound(
            "invoice_not_found", _("Invoice %(invoice)s does not exist.", invoice=invoice_id)
        )
    return invoice


def _locked_invoice(session: Session, account_id: str, invoice_id: str) -> tuple:
    """The account locked, then its invoice re-read (a copy read before may be stale)."""
    account = lock_account(session, account_id)
    invoice = reread(session, Invoice, str(invoice_id))
    if invoice is None or invoice.account_id != account.id:
        raise NotFound(
            "invoice_not_found", _("Invoice %(invoice)s does not exist.", invoice=invoice_id)
        )
    return account, invoice


def pay_invoice(
    session: Session,
    account_id: str,
    invoice_id: str,
    amount=None,
    *,
    actor: str,
    payment_id: str | None = None,
) -> Invoice:
    """Record a payment of `amount` (default: all that remains); idempotent on payment_id."""
    paid = parse_amount(amount, "amount") if amount not in (None, "") else None
    with write_transaction(session):
        account, invoice = _locked_invoice(session, account_id, invoice_id)
        if payment_id:
            existing = reread(session, Payment, str(payment_id))
            if existing is not None:
                if existing.invoice_id == invoice.id and (paid is None or paid == existing.amount):
                    return invoice
                raise Conflict(
                    "duplicate_payment",
                    _("Payment %(payment)s was already recorded.", payment=payment_id),
                )
        if invoice.status != "Opened":
            raise Conflict(
                "invalid_transition",
                _("The invoice is %(status)s, not Opened.", status=status_label(invoice.status)),
            )
        paid = invoice.remaining if paid is None else paid
        if paid > invoice.remaining:
            raise InvalidInput(
                "overpayment",
                _("At most %(remaining)s remains to be paid.", remaining=invoice.remaining),
                "amount",
            )
        invoice.paid_amount = invoice.paid_amount + paid
        post(session, account, "Payment", paid, actor, invoice=invoice)
        if invoice.remaining == 0:
            invoice.status, invoice.resolved_at = "Paid", utcnow()
            webhooks.emit(session, "invoice.paid", invoice)
        session.add(
            Payment(
                id=str(payment_id or f"{invoice.id}:{utcnow().timestamp()}"),
                invoice_id=invoice.id,
                amount=paid,
                done_by=actor,
            )
        )
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(
                "duplicate_payment",
                _("Payment %(payment)s was already recorded.", payment=payment_id),
            ) from None
        audit(session, actor, "invoice.pay", invoice, account_id=account.id, amount=paid)
    return invoice


def cancel_invoice(
    session: Session, account_id: str, invoice_id: str, *, actor: str, reason: str = ""
) -> Invoice:
    """Cancel an open invoice; what was still owed returns to the balance."""
    with write_transaction(session):
        account, invoice = _locked_invoice(session, account_id, invoice_id)
        if invoice.status != "Opened":
            raise Conflict(
                "invalid_transition",
                _("The invoice is %(status)s, not Opened.", status=status_label(invoice.status)),
            )
        post(session, account, "Cancellation", invoice.remaining, actor, invoice=invoice)
        invoice.status, invoice.resolved_at = "Cancelled", utcnow()
        webhooks.emit(session, "invoice.cancelled", invoice)
        audit(session, actor, "invoice.cancel", invoice, account_id=account.id, reason=reason)
    return invoice


def reopen_invoice(
    session: Session, account_id: str, invoice_id: str, *, actor: str, reason: str = ""
) -> Invoice:
    """Put a paid or cancelled invoice back to Opened (reopening a paid one voids its payments)."""
    with write_transaction(session):
        account, invoice = _locked_invoice(session, account_id, invoice_id)
        if invoice.status == "Opened":
            raise Conflict("invalid_transition", _("The invoice is already Opened."))
        if invoice.status == "Paid":
            invoice.paid_amount = Decimal("0.00")
        post(session, account, "Reopen", -invoice.remaining, actor, invoice=invoice)
        invoice.status, invoice.resolved_at = "Opened", None
        audit(session, actor, "invoice.reopen", invoice, account_id=account.id, reason=reason)
    return invoice


def postpone_invoice(
    session: Session, account_id: str, invoice_id: str, days, *, actor: str
) -> Invoice:
    """Move an open invoice's due date by `days`, within the store's postponement policy."""
    count = parse_whole(days, "dueDays", -36500, 36500, "invalid_days")
    with write_transaction(session):
        settings = get_settings(session)
        account, invoice = _locked_invoice(session, account_id, invoice_id)
        if not settings.postponement_enabled:
            raise Conflict("postponement_disabled", _("The store does not allow postponements."))
        if invoice.status != "Opened":
            raise Conflict(
                "invalid_transition",
                _("The invoice is %(status)s, not Opened.", status=status_label(invoice.status)),
            )
        if invoice.postponements >= settings.postponement_limit:
            raise Conflict(
                "postponement_limit",
                _(
                    "The invoice was already postponed %(count)s times.",
                    count=invoice.postponements,
                ),
            )
        if not 1 <= count <= settings.max_postponement_days:
            raise Conflict(
                "postponement_too_long",
                _("Postpone by 1 to %(days)s days.", days=settings.max_postponement_days),
                "dueDays",
            )
        invoice.due_date = invoice.due_date + timedelta(days=count)
        invoice.postponements += 1
        audit(
            session,
            actor,
            "invoice.postpone",
            invoice,
            account_id=account.id,
            days=count,
            due_date=invoice.due_date.isoformat(),
        )
    return invoice


def annotate_invoice(
    session: Session,
    account_id: str,
    invoice_id: str,
    *,
    actor: str,
    payment_link: str | None = None,
    observation: str | None = None,
) -> Invoice:
    """Set the payment link and/or observation of an invoice."""
    if payment_link is not None:
        payment_link = str(payment_link).strip()
        if payment_link and not payment_link.startswith(("https://", "http://")):
            raise InvalidInput(
                "invalid_payment_link", _("A payment link must start with https://."), "paymentLink"
            )
        if len(payment_link) > 1000:
            raise InvalidInput(
                "invalid_payment_link", _("The payment link is too long."), "paymentLink"
            )
    if observation is not None and len(str(observation)) > 1000:
        raise InvalidInput(
            "invalid_observation", _("The observation is too long (1000 max)."), "observation"
        )
    with write_transaction(session):
        account, invoice = _locked_invoice(session, account_id, invoice_id)
        changes = {}
        if payment_link is not None and payment_link != invoice.payment_link:
            invoice.payment_link = changes["payment_link"] = payment_link
        if observation is not None and str(observation) != invoice.observation:
            invoice.observation = changes["observation"] = str(observation)
        if changes:
            audit(session, actor, "invoice.annotate", invoice, account_id=account.id, **changes)
    return invoice


def change_invoice(
    session: Session,
    account_id: str,
    invoice_id: str,
    *,
    actor: str,
    status: str | None = None,
    payment_link: str | None = None,
    observation: str | None = None,
) -> Invoice:
    """The API's "change invoice": annotate, then move to `status` by its own rule."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            "invalid_status", _("status must be Opened, Paid or Cancelled."), "status"
        )
    with write_transaction(session):
        if payment_link is not None or observation is not None:
            annotate_invoice(
                session,
                account_id,
                invoice_id,
                actor=actor,
                payment_link=payment_link,
                observation=observation,
            )
        invoice = get_invoice(session, account_id, invoice_id)
        if status is not None and status != invoice.status:
            if invoice.status != "Opened":
                reopen_invoice(session, account_id, invoice_id, actor=actor)
            if status == "Paid":
                pay_invoice(session, account_id, invoice_id, actor=actor)
            elif status == "Cancelled":
                cancel_invoice(session, account_id, invoice_id, actor=actor)
    return get_invoice(session, account_id, invoice_id)


def is_overdue(invoice: Invoice, today: date) -> bool:
    """Opened and due before today (the store's today)."""
    return invoice.status == "Opened" and invoice.due_date < today


@dataclass(frozen=True)
class AmountDue:
    """What a customer owes on an invoice today, and why: remainder + late fee + interest."""

    remaining: Decimal
    days_late: int
    late_fee: Decimal
    interest: Decimal

    @property
    def total(self) -> Decimal:
        """The amount due today."""
        return self.remaining + self.late_fee + self.interest


def due_today(invoice: Invoice, settings: StoreSettings, today: date) -> AmountDue:
    """The remainder of an open invoice, plus once it is overdue the store's late fee (a
    rate of the remainder, once) and daily interest (a rate of the remainder per day late)."""
    zero = Decimal("0.00")
    remaining = invoice.remaining if invoice.status == "Opened" else zero
    if not is_overdue(invoice, today):
        return AmountDue(remaining, 0, zero, zero)
    return late_amount_due(remaining, (today - invoice.due_date).days, settings)


def late_amount_due(remaining: Decimal, days_late: int, settings: StoreSettings) -> AmountDue:
    """The remainder of an invoice `days_late` days overdue, with its late fee and interest."""
    late_fee = (remaining * settings.late_fee_rate).quantize(CENT)
    extra = (
        remaining * (settings.late_fee_rate + settings.daily_interest_rate * days_late)
    ).quantize(CENT)
    return AmountDue(remaining, days_late, late_fee, extra - late_fee)


def amount_due(invoice: Invoice, settings: StoreSettings, today: date) -> Decimal:
    """What the customer owes today: the remainder, plus late fee and daily interest if late."""
    return due_today(invoice, settings, today).total
