"""Back-office views: the invoices list, inline row actions and bulk actions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qsl

from flask import abort, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import Select, select
from werkzeug.datastructures import MultiDict

from .. import credit, exports, figures, labels, listing
from ..access import STAFF, WRITERS, actor, roles_required
from ..credit.errors import CreditError, InvalidInput
from ..credit.invoice_bulk import MAX_BULK
from ..extensions import db
from ..htmx import render_page_or_fragment, trigger, with_toast
from ..i18n import money
from ..models import Account, Invoice, StoreSettings
from . import bp
from .fields import typed
from .invoice_forms import AnnotateForm, BulkForm, EmptyForm, PayForm, PostponeForm
from .totals import COUNT_CAP, totals_fragment

DEFAULT_SORT = "due_date"
ROW = "/admin/invoices/<invoice_id>/<any(pay, cancel, reopen, postpone, annotate):action>"
STATUS_BADGES = {"Opened": "text-bg-primary", "Paid": "text-bg-success"}
BULK_LABELS = {
    "pay": _l("Mark paid"),
    "cancel": _l("Cancel invoices"),
    "observation": _l("Set observation"),
}
# The field of each row action's form a refusal of the engine is shown on.
ERROR_FIELDS = {"amount": "amount", "dueDays": "days", "paymentLink": "payment_link"}


@dataclass
class InvoiceLine:
    """One row of the list, with what the engine computed for it."""

    invoice: Invoice
    account: Account | None
    status_label: str
    status_badge: str
    overdue: bool
    amount_due: Decimal | None  # due today, late fee and interest included; None unless open
    fees: Decimal  # the part of amount_due that is late fee and interest
    partly_paid: bool
    pay_url: str | None
    actions: frozenset[str]


def _query(args) -> listing.ListingQuery:
    query = listing.parse(listing.INVOICES, args, strict=False)
    return query if query.sort else replace(query, sort=DEFAULT_SORT)


def _lines(invoices: list[Invoice]) -> list[InvoiceLine]:
    """The rows of a page, with their accounts loaded in one query."""
    settings = credit.get_settings(db.session)
    today = credit.store_today(settings)
    ids = {invoice.account_id for invoice in invoices}
    accounts = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(ids)))}
    return [_line(i, accounts.get(i.account_id), settings, today) for i in invoices]


def _line(invoice: Invoice, account, settings: StoreSettings, today: date) -> InvoiceLine:
    row = figures.invoice_row(invoice, settings, today)
    actions = credit.allowed_actions(invoice, settings)
    payable = "pay" in actions
    return InvoiceLine(
        invoice=invoice,
        account=account,
        status_label=labels.status_label(invoice.status),
        status_badge=STATUS_BADGES.get(invoice.status, "text-bg-secondary"),
        overdue=row.overdue,
        amount_due=row.amount_due if payable else None,
        fees=row.amount_due - invoice.remaining if row.overdue else Decimal("0.00"),
        partly_paid=payable and invoice.paid_amount > 0,
        pay_url=row.pay_url,
        actions=actions,
    )


def _can_write() -> bool:
    return current_user.role in WRITERS


@bp.get("/admin/invoices")
@roles_required(*STAFF)
def invoices_index():
    """Search, filter, sort and page the invoices; htmx gets the table alone."""
    page = listing.run(db.session, listing.INVOICES, _query(request.args), count_cap=COUNT_CAP)
    return render_page_or_fragment(
        "admin/invoices/index.html",
        "admin/invoices/partials/_table.html",
        page=page,
        rows=_lines(page.items),
        can_write=_can_write(),
        bulk=BulkForm(formdata=None),
        statuses=labels.invoice_status_choices(),
    )


@bp.get("/admin/invoices/totals")
@roles_required(*STAFF)
def invoices_totals():
    """Open, paid, cancelled and overdue totals (and counts) of the whole filtered set."""
    return totals_fragment(
        listing.INVOICE_TOTALS, _query(request.args), "admin/invoices/partials/_totals.html"
    )


@bp.get("/admin/invoices/export.csv")
@roles_required(*STAFF)
def invoices_export():
    """The filtered list as CSV (format=excel: ';' and a BOM); it can be imported back."""
    excel = request.args.get("format") == "excel"
    name = f"invoices-{credit.store_today(credit.get_settings(db.session)).isoformat()}.csv"
    query = _query(request.args)
    return exports.csv_response(
        db.session, listing.INVOICES, query, name, excel=excel, translated=True
    )


# --- one row -------------------------------------------------------------------------------


ROW_FORMS = {
    "pay": PayForm,
    "cancel": EmptyForm,
    "reopen": EmptyForm,
    "postpone": PostponeForm,
    "annotate": AnnotateForm,
}
ROW_ACTIONS = {
    # The amount is a Decimal read in the page's locale, or None: all that remains.
    "pay": lambda i, f: credit.pay_invoice(
        db.session, i.account_id, i.id, f.amount.data, actor=actor()
    ),
    "cancel": lambda i, f: credit.cancel_invoice(db.session, i.account_id, i.id, actor=actor()),
    "reopen": lambda i, f: credit.reopen_invoice(db.session, i.account_id, i.id, actor=actor()),
    "postpone": lambda i, f: credit.postpone_invoice(
        db.session, i.account_id, i.id, f.days.data, actor=actor()
    ),
    "annotate": lambda i, f: credit.annotate_invoice(
        db.session,
        i.account_id,
        i.id,
        actor=actor(),
        payment_link=f.payment_link.data,
        observation=f.observation.data,
    ),
}


def _validated(form: FlaskForm) -> None:
    """Raise the form's first error as the engine would, so one path shows every refusal."""
    if not form.validate():
        name, errors = next(iter(form.errors.items()))
        raise InvalidInput("invalid_form", str(errors[0]), name)


@bp.post(ROW)
@roles_required(*WRITERS)
def invoices_row_action(invoice_id: str, action: str):
    """One action on one row; answers the row again, with the refusal in it (422)."""
    invoice = db.session.get(Invoice, invoice_id) or abort(404)
    form = ROW_FORMS[action]()
    try:
        _validated(form)
        ROW_ACTIONS[action](invoice, form)
    except CreditError as refused:
        return _row(invoice_id, action, form, refused), 422
    response = make_response(_row(invoice_id, action, form))
    response.headers["HX-Trigger"] = "invoice-changed"
    return with_toast(response, _done(db.session.get(Invoice, invoice_id), action, form))


def _done(invoice: Invoice, action: str, form: FlaskForm) -> str:
    """What the toast says after a row action, naming the invoice."""
    fid = invoice.friendly_id
    if action == "pay" and invoice.status == "Paid":
        return _("Invoice %(id)s marked paid.", id=fid)
    if action == "pay":
        return _("Payment recorded on invoice %(id)s.", id=fid)
    if action == "postpone":
        return ngettext(
            "Invoice %(id)s postponed by %(num)d day.",
            "Invoice %(id)s postponed by %(num)d days.",
            int(form.days.data),
            id=fid,
        )
    return {
        "cancel": _("Invoice %(id)s cancelled.", id=fid),
        "reopen": _("Invoice %(id)s reopened.", id=fid),
        "annotate": _("Invoice %(id)s: payment link and observation saved.", id=fid),
    }[action]


def _row(invoice_id: str, action: str, form: FlaskForm, error: CreditError | None = None):
    """The row as it is now (after a refusal: unchanged, with the message and typed values)."""
    db.session.expire_all()
    line = _lines([db.session.get(Invoice, invoice_id)])[0]
    field = ERROR_FIELDS.get(error.field, error.field) if error else None
    return render_template(
        "admin/invoices/partials/_row.html",
        row=line,
        can_write=True,
        error=labels.refusal(error.message) if error else None,
        error_field=field,
        typed=typed(form) if error else {},
        editing=action == "annotate" and error is not None,
    )


# --- many rows -----------------------------------------------------------------------------


@bp.post("/admin/invoices/bulk")
@roles_required(*WRITERS)
def invoices_bulk():
    """Bulk action on the checked rows, or on all rows matching the list's filter.

    Without confirm it answers the confirmation (how many, how much, what blocks it);
    with confirm it applies the action in one transaction and answers what was done, the
    page's rows it changed again (out of band: they stay in place with their new status,
    even on a list filtered on "Opened"), a toast, and the event that reloads the totals.
    """
    form = BulkForm()
    try:
        _validated(form)
        if not form.confirm.data:
            plan = credit.plan_bulk(db.session, _selection(form), form.action.data)
            return _bulk(form, plan=plan), 200 if plan.allowed else 422
        on_page = _rows_on_page(form)
        result = _apply(form)
    except CreditError as refused:
        return _bulk(form, error=labels.refusal(refused.message)), 422
    response = make_response(_bulk(form, result=result, rows=_fresh_lines(on_page), oob=True))
    # invoice-changed (as after a row action) reloads the totals only. Not invoices-changed:
    # that reloads the whole table, and a filtered list would drop the rows just changed.
    trigger(response, "invoice-changed")
    return with_toast(response, _bulk_done(result))


def _apply(form: BulkForm) -> credit.BulkResult:
    return credit.apply_bulk(
        db.session,
        _selection(form),
        form.action.data,
        actor=actor(),
        observation=form.observation.data,
        expected_count=form.expected_count.data,
        expected_amount=form.expected_amount.data,
    )


def _listed(form: BulkForm) -> listing.ListingQuery:
    """The query of the list the bulk form was sent from (its filter, sort and page)."""
    return _query(MultiDict(parse_qsl(form.query.data or "", keep_blank_values=False)))


def _selection(form: BulkForm) -> Select:
    """The invoices a bulk action covers: all matching the list's query, or the checked ids."""
    if form.all.data:
        return listing.where(listing.INVOICES, _listed(form))
    return select(Invoice).where(Invoice.id.in_(request.form.getlist("ids")[:COUNT_CAP]))


def _rows_on_page(form: BulkForm) -> list[str]:
    """The ids of the rows on screen that the action covers, read before it changes them.

    Checked rows are on screen (their boxes are). All matching: every row of the page
    matches the filter, so it is the page, read before the change makes it match no more.
    """
    most = listing.INVOICES.max_per_page
    if not form.all.data:
        return list(dict.fromkeys(request.form.getlist("ids")))[:most]
    query = _listed(form)
    page = (
        listing.where(listing.INVOICES, query)
        .with_only_columns(Invoice.id)
        .order_by(*listing.order_by(listing.INVOICES, query.sort))
        .offset((query.page - 1) * query.per_page)
        .limit(min(query.per_page, most))
    )
    return list(db.session.scalars(page))


def _fresh_lines(ids: list[str]) -> list[InvoiceLine]:
    """The rows of these invoices as they are now, in the order given."""
    if not ids:
        return []
    db.session.expire_all()
    found = {i.id: i for i in db.session.scalars(select(Invoice).where(Invoice.id.in_(ids)))}
    return _lines([found[i] for i in ids if i in found])


def _bulk_done(result: credit.BulkResult) -> str:
    """What the toast says after a bulk action: how many invoices, how much was open."""
    amount = money(result.open_amount)
    if result.action == "pay":
        return ngettext(
            "%(num)d invoice marked paid — %(amount)s",
            "%(num)d invoices marked paid — %(amount)s",
            result.count,
            amount=amount,
        )
    if result.action == "cancel":
        return ngettext(
            "%(num)d invoice cancelled — %(amount)s",
            "%(num)d invoices cancelled — %(amount)s",
            result.count,
            amount=amount,
        )
    return ngettext(
        "Observation set on %(num)d invoice",
        "Observation set on %(num)d invoices",
        result.count,
    )


def _bulk(form: BulkForm, **context):
    return render_template(
        "admin/invoices/partials/_bulk.html",
        form=form,
        label=BULK_LABELS.get(form.action.data, ""),
        max_bulk=MAX_BULK,
        can_write=True,
        **context,
    )
