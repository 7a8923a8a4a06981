"""Invoices: search, read, change, cancel, pay, postpone."""

from __future__ import annotations

from flask import request

from .. import credit, listing
from ..extensions import db
from ..models import Invoice
from . import bp, serializers
from .auth import actor, require_scope
from .idempotency import idempotent
from .payload import body, bounded, optional_text, reply, window

INVOICE = "/creditcontrol/accounts/<creditAccountId>/invoices/<invoiceId>"


def _json(invoice: Invoice):
    """One invoice as the reply, due dates in the store's timezone."""
    return reply(serializers.invoice(invoice, credit.get_settings(db.session)))


def _search(args, *extra):
    query = listing.parse(listing.INVOICES, args)
    paging = window(request.args) or (None, None)
    page = listing.run(
        db.session, listing.INVOICES, query, *extra, offset=paging[0], limit=paging[1]
    )
    settings = credit.get_settings(db.session)  # read once: timezone, link template, today
    today = credit.store_today(settings)
    data = [serializers.invoice(i, settings, today) for i in page.items]
    return reply({"data": data, "summary": page.summary})


@bp.get("/creditcontrol/invoices", strict_slashes=False)
@require_scope("invoices:read")
def search_invoices():
    """Search invoices by date, due date, value, status, friendly id, observation, account."""
    return _search(request.args)


@bp.get("/creditcontrol/accounts/<creditAccountId>/invoices", strict_slashes=False)
@require_scope("invoices:read")
def account_invoices(creditAccountId):
    """The invoices of one account, with the same filters as the search."""
    account = credit.get_account(db.session, creditAccountId)
    args = {k: v for k, v in request.args.items() if k != "creditAccountId"}
    return _search(args, Invoice.account_id == account.id)


@bp.get(INVOICE)
@require_scope("invoices:read")
def get_invoice(creditAccountId, invoiceId):
    """One invoice."""
    return _json(credit.get_invoice(db.session, creditAccountId, invoiceId))


@bp.put(INVOICE)
@require_scope("invoices:create")
def change_invoice(creditAccountId, invoiceId):
    """Change status (Opened, Paid, Cancelled), observation and payment link."""
    data = body()
    invoice = credit.change_invoice(
        db.session,
        creditAccountId,
        invoiceId,
        actor=actor(),
        status=optional_text(data, "status"),
        payment_link=optional_text(data, "paymentLink"),
        observation=optional_text(data, "observation"),
    )
    return _json(invoice)


@bp.delete(INVOICE)
@require_scope("invoices:create")
def cancel_invoice(creditAccountId, invoiceId):
    """Cancel an open invoice; what it still owed returns to the balance."""
    invoice = credit.cancel_invoice(
        db.session, creditAccountId, invoiceId, actor=actor(), reason="API"
    )
    return _json(invoice)


@bp.post(f"{INVOICE}/payments")
@require_scope("invoices:pay")
@idempotent
def pay_invoice(creditAccountId, invoiceId):
    """Pay what remains, or `value` of it (a partial payment keeps the invoice Opened)."""
    data = body(required=False)
    invoice = credit.pay_invoice(
        db.session, creditAccountId, invoiceId, data.get("value"), actor=actor()
    )
    return _json(invoice)


@bp.put(f"{INVOICE}/postponement")
@require_scope("invoices:create")
def postpone_invoice(creditAccountId, invoiceId):
    """Move the due date by `dueDays`, within the store's postponement policy."""
    data = body()
    invoice = credit.postpone_invoice(
        db.session,
        creditAccountId,
        invoiceId,
        bounded(data.get("dueDays"), "dueDays"),
        actor=actor(),
    )
    return _json(invoice)
