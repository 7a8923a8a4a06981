"""Back-office: an invoice and an account's statement to print, and as PDF (the same
documents the customer prints on My Credits)."""

from __future__ import annotations

from flask import abort, request, url_for

from .. import credit, documents
from ..access import STAFF, roles_required
from ..credit.errors import InvalidInput
from ..extensions import db
from ..models import Account, Invoice
from . import bp


def _invoice(invoice_id: str):
    invoice = db.session.get(Invoice, invoice_id) or abort(404)
    return {
        "doc": documents.printable_invoice(db.session, invoice),
        "pdf_url": url_for("admin.invoices_pdf", invoice_id=invoice.id),
        "back_url": url_for("admin.invoices_show", invoice_id=invoice.id),
    }


@bp.get("/admin/invoices/<invoice_id>/print")
@roles_required(*STAFF)
def invoices_print(invoice_id: str):
    """An invoice as an A4 page to print."""
    return documents.page("documents/invoice.html", **_invoice(invoice_id))


@bp.get("/admin/invoices/<invoice_id>.pdf")
@roles_required(*STAFF)
def invoices_pdf(invoice_id: str):
    """The same invoice as a PDF download."""
    context = _invoice(invoice_id)
    filename = f"invoice-{context['doc'].invoice.friendly_id}.pdf"
    return documents.pdf_response("documents/invoice.html", filename, **context)


def _statement(account_id: str, *, pdf: bool = False):
    """The account's statement for the period asked (InvalidInput names the field)."""
    account = db.session.get(Account, account_id) or abort(404)
    settings = credit.get_settings(db.session)
    today = credit.store_today(settings)
    period = documents.read_period(request.args, today)
    return {
        "doc": documents.period_statement(db.session, account, period, settings, today, pdf=pdf),
        "hidden": {},
        "pdf_url": url_for("admin.accounts_statement_pdf", account_id=account.id, **period.query),
        "back_url": url_for("admin.accounts_show", account_id=account.id, _anchor="statement-card"),
    }


@bp.get("/admin/accounts/<account_id>/statement/print")
@roles_required(*STAFF)
def accounts_statement_print(account_id: str):
    """The account's statement for a period (`from`, `to`) as an A4 page to print."""
    try:
        return documents.page("documents/statement.html", **_statement(account_id))
    except InvalidInput as error:
        return documents.refusal(error)


@bp.get("/admin/accounts/<account_id>/statement.pdf")
@roles_required(*STAFF)
def accounts_statement_pdf(account_id: str):
    """The same statement as a PDF download."""
    try:
        context = _statement(account_id, pdf=True)
    except InvalidInput as error:
        return documents.refusal(error)
    doc = context["doc"]
    filename = f"statement-{doc.account.id}-{doc.period.start}-{doc.period.end}.pdf"
    return documents.pdf_response("documents/statement.html", filename, **context)
