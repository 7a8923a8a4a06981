"""My Credits: a customer's invoice and statement to print, and as PDF.

Only invoices and accounts where the customer's e-mail is a holder: any other id is a 404,
the same as an id that does not exist (My Credits' own access check, `_my_accounts`).
"""

from flask import abort, request, url_for

from .. import credit, documents
from ..access import roles_required
from ..credit.errors import InvalidInput
from ..extensions import db
from ..models import Invoice
from . import bp
from .views import _my_accounts


def _my_invoice(invoice_id: str) -> Invoice:
    """The invoice if it belongs to one of the customer's accounts, else 404."""
    accounts, _account = _my_accounts()
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.account_id not in {account.id for account in accounts}:
        abort(404)
    return invoice


def _invoice(invoice_id: str):
    invoice = _my_invoice(invoice_id)
    return {
        "doc": documents.printable_invoice(db.session, invoice),
        "pdf_url": url_for("mycredits.invoice_pdf", invoice_id=invoice.id),
        "back_url": url_for("mycredits.index", account=invoice.account_id),
    }


@bp.get("/my-credits/invoices/<invoice_id>/print")
@roles_required("customer")
def invoice_print(invoice_id: str):
    """One of the customer's invoices as an A4 page to print."""
    return documents.page("documents/invoice.html", **_invoice(invoice_id))


@bp.get("/my-credits/invoices/<invoice_id>.pdf")
@roles_required("customer")
def invoice_pdf(invoice_id: str):
    """The same invoice as a PDF download."""
    context = _invoice(invoice_id)
    filename = f"invoice-{context['doc'].invoice.friendly_id}.pdf"
    return documents.pdf_response("documents/invoice.html", filename, **context)


def _statement(*, pdf: bool = False):
    """The statement of the selected account for the period asked (InvalidInput names the
    field)."""
    _accounts, account = _my_accounts()
    if account is None:
        abort(404)
    settings = credit.get_settings(db.session)
    today = credit.store_today(settings)
    period = documents.read_period(request.args, today)
    doc = documents.period_statement(db.session, account, period, settings, today, pdf=pdf)
    return {
        "doc": doc,
        "hidden": {"account": account.id},
        "pdf_url": url_for("mycredits.statement_pdf", account=account.id, **period.query),
        "back_url": url_for("mycredits.index", account=account.id, _anchor="history"),
    }


@bp.get("/my-credits/statement/print")
@roles_required("customer")
def statement_print():
    """The selected account's statement for a period (`from`, `to`) as an A4 page."""
    try:
        return documents.page("documents/statement.html", **_statement())
    except InvalidInput as error:
        return documents.refusal(error)


@bp.get("/my-credits/statement.pdf")
@roles_required("customer")
def statement_pdf():
    """The same statement as a PDF download."""
    try:
        context = _statement(pdf=True)
    except InvalidInput as error:
        return documents.refusal(error)
    doc = context["doc"]
    filename = f"statement-{doc.account.id}-{doc.period.start}-{doc.period.end}.pdf"
    return documents.pdf_response("documents/statement.html", filename, **context)
