"""Back-office view: one invoice, what is due on it today and why, and its history."""

from __future__ import annotations

from flask import abort, render_template

from .. import documents, timelines
from ..access import STAFF, roles_required
from ..extensions import db
from ..models import Invoice
from . import bp


@bp.get("/admin/invoices/<invoice_id>")
@roles_required(*STAFF)
def invoices_show(invoice_id: str):
    """An invoice: customer, order, amounts, the breakdown of what is due today, timeline."""
    invoice = db.session.get(Invoice, invoice_id) or abort(404)
    facts = documents.invoice_facts(db.session, invoice)  # the printed invoice's, too
    return render_template(
        "admin/invoices/show.html",
        invoice=invoice,
        account=facts.account,
        overdue=facts.overdue,
        due=facts.due,
        pay_link=facts.pay_link,
        link_from_template=facts.link_from_template,
        settings=facts.settings,
        timeline=timelines.invoice_timeline(db.session, invoice),
    )
