"""Back-office views: the accounts list, a new account, and one account's page and actions."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

from flask import (
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import activity, credit, exports, figures, invitations, listing, mail, statements
from ..access import STAFF, WRITERS, actor, roles_required
from ..credit.errors import CreditError, InvalidInput
from ..credit.ledger import write_transaction
from ..credit.permissions import ACCOUNTS, BALANCE, INVOICES, LIMITS, Grant, roles_with
from ..credit.scheduled import MAX_DAYS_AHEAD, PENDING
from ..extensions import db
from ..htmx import error_response, is_htmx, render_page_or_fragment, with_toast
from ..i18n import day, money, number_locale
from ..imports import csv_lines
from ..numbers import parse_number
from ..statements import ORIGIN_LABELS, history
from . import bp
from .account_forms import (
    AdjustForm,
    DetailsForm,
    HolderForm,
    LimitForm,
    NewAccountForm,
    ReasonForm,
    RefundForm,
    ScheduleLimitForm,
    ToleranceForm,
    ValueForm,
)
from .totals import COUNT_CAP, totals_fragment

ACCOUNT = "/admin/accounts/<account_id>"


def _query():
    return listing.parse(listing.ACCOUNTS, request.args, strict=False)


@bp.get("/admin/accounts")
@roles_required(*STAFF)
def accounts_index():
    """Search, filter, sort and page the accounts; htmx gets the table alone."""
    query = _query()
    page = listing.run(db.session, listing.ACCOUNTS, query, count_cap=COUNT_CAP)
    held = credit.accounts_on_hold(db.session, [a.id for a in page.items])
    return render_page_or_fragment(
        "admin/accounts/index.html", "admin/accounts/partials/_table.html", page=page, held=held
    )


@bp.get("/admin/accounts/totals")
@roles_required(*STAFF)
def accounts_totals():
    """Totals of the whole filtered set (loaded after the table, off the keystroke path)."""
    return totals_fragment(listing.ACCOUNTS, _query(), "admin/accounts/partials/_totals.html")


@bp.get("/admin/accounts/export.csv")
@roles_required(*STAFF)
def accounts_export():
    """The filtered list as CSV (format=excel: semicolons and a BOM for Excel)."""
    excel = request.args.get("format") == "excel"
    return exports.csv_response(
        db.session, listing.ACCOUNTS, _query(), "accounts.csv", excel=excel, translated=True
    )


@bp.route("/admin/accounts/new", methods=["GET", "POST"])
@roles_required(*WRITERS)
def accounts_new():
    """Open an account; an error from the engine is shown next to its field."""
    form = NewAccountForm()
    if form.validate_on_submit():
        try:
            account = _open_account(form)
        except CreditError as error:
            _field_error(form, error)
        else:
            flash(_("Account %(id)s opened.", id=account.id), "success")
            return redirect(url_for("admin.accounts_show", account_id=account.id))
    return render_template("admin/accounts/new.html", form=form), 422 if form.errors else 200


def _open_account(form: NewAccountForm):
    """One engine call with the typed values (the tolerance is typed as a percent)."""
    return credit.open_account(
        db.session,
        document=form.document.data,
        document_type=form.document_type.data,
        email=form.email.data,
        name=form.name.data,
        actor=actor(),
        credit_limit=form.credit_limit.data,
        tolerance=_rate(form.tolerance.data),
        grant=Grant.for_role(current_user.role),
    )


MAX_PAGE = 1_000_000  # deeper than any real list; keeps SQL offsets in range
PAGES = ("orders_page", "page", "audit_page")  # the page of orders, statement, audit trail
# htmx asks for one card at a time; the id it targets names the fragment to send.
FRAGMENTS = {
    "orders-card": "admin/accounts/partials/_orders.html",
    "statement-card": "admin/accounts/partials/_statement.html",
    "audit-card": "admin/accounts/partials/_audit.html",
}


@bp.get(ACCOUNT)
@roles_required(*STAFF)
def accounts_show(account_id: str):
    """Everything about one account: figures, holders, orders, invoices, ledger, audit;
    htmx gets the card it asks for (a page of orders, statement or audit trail)."""
    account = _account(account_id)
    pages = {name: _page_number(name) for name in PAGES}
    target = request.headers.get("HX-Target") if is_htmx() else None
    template = FRAGMENTS.get(target, "admin/accounts/show.html")
    response = make_response(render_template(template, **_context(account, pages)))
    response.vary.update(("HX-Request", "HX-Target"))
    return response


def _page_number(name: str) -> int:
    """A page number from the query string; anything unusable (0, -1, 'x', 10**12) is 1."""
    value = listing.whole_number(request.args.get(name))
    return value if value and value <= MAX_PAGE else 1


def _context(account, pages: dict | None = None, **forms) -> dict:
    pages = pages or {}
    settings = credit.get_settings(db.session)
    view = figures.account_view(
        db.session,
        account,
        settings,
        orders_page=pages.get("orders_page", 1),
        audit_page=pages.get("audit_page", 1),
    )
    statement = history(db.session, account.id, pages.get("page", 1))
    # A statement page past the end shows the last one: links start from there.
    state = {**pages, "page": statement.page.query.page}
    defaults = {
        "limit_form": LimitForm(formdata=None),
        "tolerance_form": ToleranceForm(formdata=None),
        "reason_form": ReasonForm(formdata=None),
        "holder_form": HolderForm(formdata=None),
        "value_form": ValueForm(formdata=None),
        "details_form": DetailsForm(formdata=None, obj=account),
        "adjust_form": AdjustForm(formdata=None),
        "refund_form": None,  # the refund refused, shown again on its order
        "schedule_form": ScheduleLimitForm(formdata=None),
    }
    role = current_user.role
    return {
        "account": account,
        "settings": settings,
        **defaults,
        **forms,
        **_scheduled_context(account, settings),
        "view": view,
        "statement": statement,
        "audit": activity.describe(db.session, view.audit.items),
        "hold": credit.hold_reason(db.session, account, settings),
        "can_write": role in WRITERS,
        "can_edit": role in roles_with(ACCOUNTS),
        "can_adjust": role in roles_with(BALANCE),
        "can_refund": role in roles_with(INVOICES),
        "is_owner": role == "owner",
        "origin_labels": ORIGIN_LABELS,
        "link": _linker(account.id, state),
        "new_refund_id": lambda: uuid.uuid4().hex,
    }


def _linker(account_id: str, state: dict):
    """`link(**changes)`: this account's page with some of its pages changed (1s left out)."""

    def link(**changes) -> str:
        args = {k: v for k, v in {**state, **changes}.items() if v and v != 1}
        return url_for("admin.accounts_show", account_id=account_id, **args)

    return link


def _account(account_id: str):
    if "\x00" in account_id:  # no id has one, and PostgreSQL refuses to compare it
        abort(404)
    try:
        return credit.get_account(db.session, account_id)
    except CreditError:
        abort(404)


def _act(account_id: str, operation, success, form_name: str | None = None, form=None, **extra):
    """Run one engine operation for this account: flash and redirect, or show the error."""
    account = _account(account_id)
    if form is not None and not form.validate_on_submit():
        return _refused(account, form_name, form, **extra)
    try:
        operation(account)
    except CreditError as error:
        if form is None:
            flash(error.message, "error")
            return redirect(url_for("admin.accounts_show", account_id=account.id))
        _field_error(form, error)
        return _refused(account, form_name, form, **extra)
    flash(success() if callable(success) else success, "success")
    return redirect(url_for("admin.accounts_show", account_id=account.id))


def _refused(account, form_name, form, **extra):
    context = _context(account, **{form_name: form})
    return render_template("admin/accounts/show.html", **context, **extra), 422


@bp.post(f"{ACCOUNT}/limit")
@roles_required(*roles_with(LIMITS))
def accounts_limit(account_id: str):
    """Change the credit limit (owner only, with a reason), after showing old → new."""
    form = LimitForm()
    preview = _preview(account_id, form, "limit_form")
    if preview is not None:
        return preview
    return _act(
        account_id,
        lambda a: credit.change_limit(
            db.session,
            a.id,
            form.credit_limit.data,
            actor=actor(),
            reason=form.reason.data,
        ),
        _("Credit limit changed."),
        "limit_form",
        form,
    )


@bp.post(f"{ACCOUNT}/tolerance")
@roles_required(*roles_with(LIMITS))
def accounts_tolerance(account_id: str):
    """Change the tolerance (owner only, with a reason), after showing old → new."""
    form = ToleranceForm()
    preview = _preview(account_id, form, "tolerance_form")
    if preview is not None:
        return preview
    return _act(
        account_id,
        lambda a: credit.change_tolerance(
            db.session, a.id, _rate(form.tolerance.data), actor=actor(), reason=form.reason.data
        ),
        _("Tolerance changed."),
        "tolerance_form",
        form,
    )


def _preview(account_id: str, form, form_name: str):
    """The account page with the change to confirm (old → new, warnings), or None when the
    form is confirmed (or invalid: `_act` then shows its errors)."""
    if form.confirmed.data == "yes" or not form.validate_on_submit():
        return None
    account = _account(account_id)
    confirm, warnings = PREVIEWS[form_name](account, form)
    context = _context(account, **{form_name: form})
    return render_template(
        "admin/accounts/show.html",
        **context,
        confirm={"form": form_name, **confirm},
        warnings=warnings,
    )


def _limit_change(account, form) -> tuple[dict, list[str]]:
    new = form.credit_limit.data
    return {"kind": "limit", "old": account.credit_limit, "new": new}, credit.limit_warnings(
        account, new
    )


def _tolerance_change(account, form) -> tuple[dict, list[str]]:
    return {"kind": "tolerance", "old": account.tolerance, "new": _rate(form.tolerance.data)}, []


def _balance_change(account, form) -> tuple[dict, list[str]]:
    """Old → new available credit (an adjustment moves the balance, holds stay)."""
    old = account.available_credit
    new = old + form.signed_amount
    confirm = {"kind": "balance", "direction": form.direction.data, "old": old, "new": new}
    return confirm, ["below_zero"] if new < 0 and new < old else []


PREVIEWS = {
    "limit_form": _limit_change,
    "tolerance_form": _tolerance_change,
    "adjust_form": _balance_change,
}


@bp.post(f"{ACCOUNT}/balance")
@roles_required(*roles_with(BALANCE))
def accounts_balance(account_id: str):
    """Increase or decrease the balance by hand (owner only, with a reason), after showing
    old → new available credit."""
    form = AdjustForm()
    preview = _preview(account_id, form, "adjust_form")
    if preview is not None:
        return preview
    return _act(
        account_id,
        lambda a: credit.adjust_balance(
            db.session, a.id, form.signed_amount, actor=actor(), reason=form.reason.data
        ),
        lambda: _adjusted(form),
        "adjust_form",
        form,
    )


def _adjusted(form) -> str:
    amount = money(form.amount.data)
    if form.direction.data == "increase":
        return _("Balance increased by %(amount)s.", amount=amount)
    return _("Balance decreased by %(amount)s.", amount=amount)


@bp.post(f"{ACCOUNT}/details")
@roles_required(*roles_with(ACCOUNTS))
def accounts_details(account_id: str):
    """Change the name, e-mail and description; a new e-mail is confirmed first: it becomes
    the main holder and is invited, and the old one may lose its login's sessions."""
    form = DetailsForm()
    if form.validate_on_submit() and form.confirmed.data != "yes":
        account = _account(account_id)
        try:
            change = invitations.email_change(db.session, account, form.email.data)
        except CreditError as error:
            _field_error(form, error)
            return _refused(account, "details_form", form)
        if change is not None:
            context = _context(account, details_form=form)
            confirm = {"form": "details_form", "kind": "email", "change": change}
            return render_template("admin/accounts/show.html", **context, confirm=confirm)
    return _act(
        account_id,
        lambda a: _save_details(a, form),
        _("Account details saved."),
        "details_form",
        form,
    )


def _save_details(account, form) -> None:
    """One call: the details, and what a new e-mail entails (invitation, logout)."""
    change = invitations.change_account(
        db.session,
        account.id,
        actor=actor(),
        email=form.email.data,
        name=form.name.data,
        description=form.description.data,
    )
    if change is None:
        return
    _invitation_notice(change.new, change.invites)
    if change.logs_out:
        flash(_("%(email)s was logged out: it holds no other account.", email=change.old), "info")


@bp.post(f"{ACCOUNT}/close")
@roles_required(*WRITERS)
def accounts_close(account_id: str):
    """Close the account: it authorizes nothing more."""
    reason = request.form.get("reason", "")
    return _act(
        account_id,
        lambda a: credit.close_account(db.session, a.id, actor=actor(), reason=reason),
        _("Account closed."),
    )


@bp.post(f"{ACCOUNT}/reopen")
@roles_required(*WRITERS)
def accounts_reopen(account_id: str):
    """Reopen a closed account."""
    reason = request.form.get("reason", "")
    return _act(
        account_id,
        lambda a: credit.reopen_account(db.session, a.id, actor=actor(), reason=reason),
        _("Account reopened."),
    )


@bp.post(f"{ACCOUNT}/lift-hold")
@roles_required("owner")
def accounts_lift_hold(account_id: str):
    """Let an account on hold buy again (owner only, with a reason)."""
    reason = request.form.get("reason", "")
    return _act(
        account_id,
        lambda a: credit.lift_hold(db.session, a.id, actor=actor(), reason=reason),
        _("Hold lifted."),
    )


@bp.post(f"{ACCOUNT}/holders")
@roles_required(*WRITERS)
def accounts_add_holder(account_id: str):
    """Add a dependent and send them an invitation to log in."""
    form = HolderForm()
    return _act(account_id, lambda a: _add_holder(a, form), _("Holder added."), "holder_form", form)


def _add_holder(account, form) -> None:
    """Add the dependent and queue their invitation in one transaction: both, or nothing
    (a staff e-mail cannot be a holder's login, so it refuses the whole change)."""
    email = form.email.data
    with write_transaction(db.session):
        credit.add_holder(
            db.session, account.id, email, actor=actor(), spending_cap=form.spending_cap.data
        )
        _user, queued = invitations.invite_holder(db.session, email, actor=actor())
    _invitation_notice(email.strip().lower(), queued)


def _invitation_notice(email: str, queued: bool) -> None:
    """Say whether an invitation goes to `email` now, waits for a mail server, or is not
    needed (the login already has a password)."""
    if not queued:
        flash(_("%(email)s already has a login: no invitation needed.", email=email), "info")
    elif mail.configured():
        flash(_("An invitation is on its way to %(email)s.", email=email), "info")
    else:
        flash(
            _(
                "No e-mail server is set up: the invitation to %(email)s waits in the outbox "
                "and is sent once one is configured.",
                email=email,
            ),
            "info",
        )


@bp.post(f"{ACCOUNT}/holders/<holder_id>/delete")
@roles_required(*WRITERS)
def accounts_remove_holder(account_id: str, holder_id: str):
    """Remove a dependent."""
    return _act(
        account_id,
        lambda a: credit.remove_holder(db.session, a.id, holder_id, actor=actor()),
        _("Holder removed."),
    )


@bp.post(f"{ACCOUNT}/holders/<holder_id>/cap")
@roles_required(*WRITERS)
def accounts_holder_cap(account_id: str, holder_id: str):
    """Change or clear a dependent's spending cap."""
    return _act(
        account_id,
        lambda a: credit.set_holder_cap(
            db.session, a.id, holder_id, _number("spending_cap", required=False), actor=actor()
        ),
        _("Spending cap changed."),
    )


@bp.post(f"{ACCOUNT}/transactions/<tid>/settle")
@roles_required(*WRITERS)
def accounts_settle(account_id: str, tid: str):
    """Bill an order: its hold becomes one invoice per installment."""
    return _act(
        account_id,
        lambda a: credit.settle(db.session, a.id, tid, _number("value"), actor=actor()),
        _("Order billed: its invoices are issued."),
    )


@bp.post(f"{ACCOUNT}/transactions/<tid>/value")
@roles_required(*WRITERS)
def accounts_change_value(account_id: str, tid: str):
    """Change the value held for an order (an increase is checked again)."""
    return _act(
        account_id,
        lambda a: credit.update_authorization(
            db.session, a.id, tid, _number("value"), actor=actor()
        ),
        _("Order value changed."),
    )


@bp.post(f"{ACCOUNT}/transactions/<tid>/cancel")
@roles_required(*WRITERS)
def accounts_cancel_order(account_id: str, tid: str):
    """Cancel an order's hold: its credit is released."""
    return _act(
        account_id,
        lambda a: credit.cancel_authorization(db.session, a.id, tid, actor=actor()),
        _("Order cancelled."),
    )


@bp.post(f"{ACCOUNT}/transactions/<tid>/refund")
@roles_required(*roles_with(INVOICES))
def accounts_refund(account_id: str, tid: str):
    """Give back part or all of a billed order, with a reason: its open invoices shrink
    (latest due first) and the rest is credited. A resent form refunds once."""
    form = RefundForm()
    return _act(
        account_id,
        lambda a: credit.refund(
            db.session,
            a.id,
            tid,
            form.amount.data,
            actor=actor(),
            refund_id=form.refund_id.data,
            reason=form.reason.data,
        ),
        lambda: _("Refunded %(amount)s.", amount=money(form.amount.data)),
        "refund_form",
        form,
        refund_tid=tid,
    )


@bp.get(f"{ACCOUNT}/statement.csv")
@roles_required(*STAFF)
def accounts_statement_csv(account_id: str):
    """The account's whole statement as CSV for staff: reasons and who made each entry
    (format=excel: semicolons and a BOM)."""
    account = _account(account_id)
    header = statements.statement_header(staff=True)
    rows = statements.statement_rows(db.session, account.id, staff=True)
    dialect = "excel" if request.args.get("format") == "excel" else "comma"
    response = Response(stream_with_context(csv_lines(header, rows, dialect)), mimetype="text/csv")
    filename = "statement-" + re.sub(r"[^A-Za-z0-9_.-]", "-", account.id) + ".csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# The amounts typed in plain inputs of the account page (not WTForms fields), by name.
TYPED_LABELS = {"value": _l("Value"), "spending_cap": _l("Spending cap")}


def _number(name: str, *, required: bool = True) -> Decimal | None:
    """An amount typed in the input `name`, read strictly in the page's number locale.

    Called inside `_act`, so a refusal (InvalidInput) is flashed like the engine's own.
    """
    label = str(TYPED_LABELS[name])
    value = parse_number(request.form.get(name), locale=number_locale(), field=name, label=label)
    if value is None and required:
        raise InvalidInput("required", _("%(field)s is required.", field=label), name)
    return value


def _rate(percent: Decimal | None) -> Decimal:
    """A percentage typed in a form as the engine's rate: 20 → 0.20 (empty: 0)."""
    return (percent or Decimal(0)).scaleb(-2)


ERROR_FIELDS = {"document_type", "document", "email", "name", "credit_limit", "tolerance"}
ERROR_FIELDS |= {"reason", "spending_cap", "value", "amount", "description", "effective_on"}
FIELD_ALIASES = {"value": "amount"}  # the engine's `value` is typed in an `amount` field


def _field_error(form, error: CreditError) -> None:
    """Show an engine refusal on the form field it concerns, else above the form."""
    name = error.field if hasattr(form, error.field or "") else FIELD_ALIASES.get(error.field)
    field = getattr(form, name, None) if name in ERROR_FIELDS else None
    if field is None:
        form.form_errors.append(error.message)
    else:
        field.errors = [*field.errors, error.message]


# --- scheduled limit changes ---------------------------------------------------------------

RECENT_CHANGES = 5  # applied, cancelled or failed changes shown under the pending ones
SCHEDULED_LABELS = {
    "applied": _l("Applied"),
    "cancelled": _l("Cancelled"),
    "failed": _l("Not applied"),
}


def _scheduled_context(account, settings=None) -> dict:
    """What the scheduled-changes card shows: pending changes soonest first, the last few
    resolved ones, and the days the date input offers (the domain has the last word)."""
    changes = credit.scheduled_changes(db.session, account.id)  # newest first
    pending = [c for c in changes if c.status == PENDING]
    pending.sort(key=lambda c: (c.effective_on, c.id))
    today = credit.store_today(settings or credit.get_settings(db.session))
    return {
        "scheduled": {
            "pending": pending,
            "recent": [c for c in changes if c.status != PENDING][:RECENT_CHANGES],
            "first_day": today + timedelta(days=1),
            "last_day": today + timedelta(days=MAX_DAYS_AHEAD),
        },
        "scheduled_labels": SCHEDULED_LABELS,
        "can_schedule": current_user.role in roles_with(LIMITS),
    }


def _scheduled_card(account, form=None, status: int = 200, toast: str | None = None):
    """The scheduled-changes card alone, for htmx (a fresh form unless one is refused)."""
    context = {
        "account": account,
        "schedule_form": form or ScheduleLimitForm(formdata=None),
        **_scheduled_context(account),
    }
    html = render_template("admin/accounts/partials/_scheduled.html", **context)
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return with_toast(response, toast) if toast else response


def _scheduled_done(account, message: str):
    """After a change: htmx gets the card again with a toast, a browser the page."""
    if is_htmx():
        return _scheduled_card(account, toast=message)
    flash(message, "success")
    return redirect(url_for("admin.accounts_show", account_id=account.id, _anchor="scheduled-card"))


@bp.post(f"{ACCOUNT}/scheduled-limits")
@roles_required(*roles_with(LIMITS))
def accounts_schedule_limit(account_id: str):
    """Schedule a credit limit (and tolerance) for a later day, with a reason; every
    refusal is shown on its field (htmx: the card again, 422)."""
    account = _account(account_id)
    form = ScheduleLimitForm()
    if form.validate_on_submit():
        try:
            change = _schedule(account, form)
        except CreditError as error:
            _field_error(form, error)
        else:
            done = _("Limit change scheduled for %(day)s.", day=day(change.effective_on))
            return _scheduled_done(account, done)
    if is_htmx():
        return _scheduled_card(account, form, 422)
    return _refused(account, "schedule_form", form)


def _schedule(account, form: ScheduleLimitForm):
    """One engine call with the typed values (the tolerance, typed as a percent, is kept
    when left empty)."""
    tolerance = form.tolerance.data
    return credit.schedule_limit(
        db.session,
        account.id,
        form.credit_limit.data,
        effective_on=form.effective_on.data,
        reason=form.reason.data,
        actor=actor(),
        tolerance=None if tolerance is None else _rate(tolerance),
        grant=Grant.for_role(current_user.role),
    )


@bp.post(f"{ACCOUNT}/scheduled-limits/<int(max=2147483647):change_id>/cancel")
@roles_required(*roles_with(LIMITS))
def accounts_cancel_scheduled(account_id: str, change_id: int):
    """Cancel a pending change of this account (another account's change is not found)."""
    account = _account(account_id)
    try:
        change = credit.cancel_scheduled(
            db.session,
            account.id,
            change_id,
            actor=actor(),
            grant=Grant.for_role(current_user.role),
        )
    except credit.NotFound:
        abort(404)
    except CreditError as error:  # no longer pending: applied or cancelled meanwhile
        if is_htmx():
            return error_response(error.message, error.status)
        flash(error.message, "error")
        return redirect(url_for("admin.accounts_show", account_id=account.id))
    done = _("The limit change of %(day)s is cancelled.", day=day(change.effective_on))
    return _scheduled_done(account, done)
