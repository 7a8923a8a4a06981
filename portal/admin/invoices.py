"""Back-office views: the invoices list, inline row actions and bulk actions."""

from __future__ import annotations

from dataclasses import replace

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import credit, exports, figures, listing
from ..access import STAFF, WRITERS, actor, roles_required
from ..credit.errors import CreditError
from ..credit.ledger import write_transaction
from ..extensions import db
from ..htmx import render_page_or_fragment
from ..models import Invoice
from . import bp
from .accounts import _number

COUNT_CAP = 10_000
DEFAULT_SORT = "due_date"


def _query():
    query = listing.parse(listing.INVOICES, request.args, strict=False)
    return query if query.sort else replace(query, sort=DEFAULT_SORT)


def _rows(invoices) -> list:
    settings = credit.get_settings(db.session)
    today = credit.store_today(settings)
    return [figures.invoice_row(invoice, settings, today) for invoice in invoices]


@bp.get("/admin/invoices")
@roles_required(*STAFF)
def invoices_index():
    """Search, filter, sort and page the invoices; htmx gets the table alone."""
    page = listing.run(db.session, listing.INVOICES, _query(), count_cap=COUNT_CAP)
    return render_page_or_fragment(
        "admin/invoices/index.html",
        "admin/invoices/partials/_table.html",
        page=page,
        rows=_rows(page.items),
        can_write=_can_write(),
    )


@bp.get("/admin/invoices/totals")
@roles_required(*STAFF)
def invoices_totals():
    """Open, paid, cancelled and overdue totals of the whole filtered set."""
    totals = listing.summarize(db.session, listing.INVOICES, _query())
    return render_template("admin/invoices/partials/_totals.html", totals=totals)


@bp.get("/admin/invoices/export.csv")
@roles_required(*STAFF)
def invoices_export():
    """The filtered list as CSV; it can be edited and imported back as it is."""
    excel = request.args.get("format") == "excel"
    return exports.csv_response(db.session, listing.INVOICES, _query(), "invoices.csv", excel=excel)


ROW_ACTIONS = {
    "pay": lambda i, form: credit.pay_invoice(
        db.session, i.account_id, i.id, _number(form.get("amount")) or None, actor=actor()
    ),
    "cancel": lambda i, form: credit.cancel_invoice(db.session, i.account_id, i.id, actor=actor()),
    "reopen": lambda i, form: credit.reopen_invoice(db.session, i.account_id, i.id, actor=actor()),
    "postpone": lambda i, form: credit.postpone_invoice(
        db.session, i.account_id, i.id, form.get("days", ""), actor=actor()
    ),
    "annotate": lambda i, form: credit.annotate_invoice(
        db.session,
        i.account_id,
        i.id,
        actor=actor(),
        payment_link=form.get("payment_link"),
        observation=form.get("observation"),
    ),
}


@bp.post("/admin/invoices/<invoice_id>/<any(pay, cancel, reopen, postpone, annotate):action>")
@roles_required(*WRITERS)
def invoices_row_action(invoice_id: str, action: str):
    """One action on one row; answers the row again (with the error in it when refused)."""
    invoice = db.session.get(Invoice, invoice_id) or abort(404)
    error, status = None, 200
    try:
        ROW_ACTIONS[action](invoice, request.form)
    except CreditError as refused:
        error, status = refused.message, 422
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice_id)
    return render_template(
        "admin/invoices/partials/_row.html", row=_rows([invoice])[0], error=error, can_write=True
    ), status


BULK = {"pay": _l("Mark paid"), "cancel": _l("Cancel"), "observation": _l("Set observation")}


@bp.post("/admin/invoices/bulk")
@roles_required(*WRITERS)
def invoices_bulk():
    """Bulk action on the checked rows or on every row matching the filter.

    The first POST answers a confirmation (how many, how much); the second, with
    confirm=1, applies it as one transaction: all rows change, or none.
    """
    action = request.form.get("action", "")
    invoices = _selected()
    if action not in BULK or not invoices:
        return render_template(
            "admin/invoices/partials/_bulk.html",
            error=_("Choose an action and at least one invoice."),
            count=0,
        ), 422
    remaining = sum((i.value - i.paid_amount for i in invoices if i.status == "Opened"), start=0)
    if request.form.get("confirm") != "1":
        return render_template(
            "admin/invoices/partials/_bulk.html",
            action=action,
            label=BULK[action],
            count=len(invoices),
            amount=remaining,
            form=request.form,
        )
    try:
        with write_transaction(db.session):
            for invoice in invoices:
                _bulk_one(invoice, action)
    except CreditError as error:
        return render_template(
            "admin/invoices/partials/_bulk.html",
            error=_("Nothing was changed: %(message)s", message=error.message),
            count=0,
        ), 422
    return render_template(
        "admin/invoices/partials/_bulk.html",
        done=True,
        label=BULK[action],
        count=len(invoices),
        amount=remaining,
    )


def _bulk_one(invoice: Invoice, action: str) -> None:
    if action == "pay":
        credit.pay_invoice(db.session, invoice.account_id, invoice.id, actor=actor())
    elif action == "cancel":
        credit.cancel_invoice(db.session, invoice.account_id, invoice.id, actor=actor())
    else:
        credit.annotate_invoice(
            db.session,
            invoice.account_id,
            invoice.id,
            actor=actor(),
            observation=request.form.get("observation", ""),
        )


def _selected() -> list[Invoice]:
    """The checked invoices, or all matching the filter sent along (all=1)."""
    if request.form.get("all") == "1":
        query = listing.parse(listing.INVOICES, request.form, strict=False)
        return list(
            db.session.scalars(
                listing.where(listing.INVOICES, query).order_by(Invoice.id).limit(COUNT_CAP)
            )
        )
    ids = request.form.getlist("ids")[:COUNT_CAP]
    return list(
        db.session.scalars(
            listing.where(listing.INVOICES, listing.ListingQuery())
            .where(Invoice.id.in_(ids))
            .order_by(Invoice.id)
        )
    )


def _can_write() -> bool:
    return current_user.role in WRITERS
