"""Back-office view: one invoice, what is due on it today and why, and its history."""

from __future__ import annotations

from flask import abort, render_template

from .. import credit, timelines
from ..access import STAFF, roles_required
from ..extensions import db
from ..models import Account, Invoice
from . import bp


@bp.get("/admin/invoices/<invoice_id>")
@roles_required(*STAFF)
def invoices_show(invoice_id: str):
    """An invoice: customer, order, amounts, the breakdown of what is due today, timeline."""
    invoice = db.session.get(Invoice, invoice_id) or abort(404)
    settings = credit.get_settings(db.session)
    today = credit.store_today(settings)
    return render_template(
        "admin/invoices/show.html",
        invoice=invoice,
        account=db.session.get(Account, invoice.account_id),
        overdue=credit.is_overdue(invoice, today),
        due=credit.due_today(invoice, settings, today),
        settings=settings,
        timeline=timelines.invoice_timeline(db.session, invoice),
    )
