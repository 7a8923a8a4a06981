"""Back-office views: the accounts list, a new account, and one account's page and actions."""

from __future__ import annotations

from decimal import Decimal

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import activity, credit, exports, figures, invitations, listing, mail
from ..access import STAFF, WRITERS, actor, roles_required
from ..credit.errors import CreditError, InvalidInput
from ..credit.ledger import write_transaction
from ..credit.permissions import LIMITS, Grant, roles_with
from ..extensions import db
from ..htmx import render_page_or_fragment
from ..i18n import number_locale
from ..mycredits.queries import ORIGIN_LABELS, history
from ..numbers import parse_number
from . import bp
from .account_forms import (
    HolderForm,
    LimitForm,
    NewAccountForm,
    ReasonForm,
    ToleranceForm,
    ValueForm,
)

COUNT_CAP = 10_000
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
    totals = listing.summarize(db.session, listing.ACCOUNTS, _query())
    return render_template("admin/accounts/partials/_totals.html", totals=totals)


@bp.get("/admin/accounts/export.csv")
@roles_required(*STAFF)
def accounts_export():
    """The filtered list as CSV (format=excel: semicolons and a BOM for Excel)."""
    excel = request.args.get("format") == "excel"
    return exports.csv_response(db.session, listing.ACCOUNTS, _query(), "accounts.csv", excel=excel)


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


@bp.get(ACCOUNT)
@roles_required(*STAFF)
def accounts_show(account_id: str):
    """Everything about one account: figures, holders, orders, invoices, ledger, audit."""
    account = _account(account_id)
    statement = history(db.session, account.id, listing.whole_number(request.args.get("page")) or 1)
    return render_template("admin/accounts/show.html", **_context(account), statement=statement)


def _context(account, **forms) -> dict:
    settings = credit.get_settings(db.session)
    view = figures.account_view(db.session, account, settings)
    defaults = {
        "limit_form": LimitForm(formdata=None),
        "tolerance_form": ToleranceForm(formdata=None),
        "reason_form": ReasonForm(formdata=None),
        "holder_form": HolderForm(formdata=None),
        "value_form": ValueForm(formdata=None),
    }
    return {
        "account": account,
        "settings": settings,
        **defaults,
        **forms,
        "view": view,
        "audit": activity.describe(db.session, view.audit),
        "hold": credit.hold_reason(db.session, account, settings),
        "can_write": current_user.role in WRITERS,
        "is_owner": current_user.role == "owner",
        "origin_labels": ORIGIN_LABELS,
    }


def _account(account_id: str):
    if "\x00" in account_id:  # no id has one, and PostgreSQL refuses to compare it
        abort(404)
    try:
        return credit.get_account(db.session, account_id)
    except CreditError:
        abort(404)


def _act(account_id: str, operation, success: str, form_name: str | None = None, form=None):
    """Run one engine operation for this account: flash and redirect, or show the error."""
    account = _account(account_id)
    if form is not None and not form.validate_on_submit():
        return _refused(account, form_name, form)
    try:
        operation(account)
    except CreditError as error:
        if form is None:
            flash(error.message, "error")
            return redirect(url_for("admin.accounts_show", account_id=account.id))
        _field_error(form, error)
        return _refused(account, form_name, form)
    flash(success, "success")
    return redirect(url_for("admin.accounts_show", account_id=account.id))


def _refused(account, form_name, form):
    statement = history(db.session, account.id)
    return render_template(
        "admin/accounts/show.html", **_context(account, **{form_name: form}), statement=statement
    ), 422


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
    if form_name == "limit_form":
        change = ("limit", account.credit_limit, form.credit_limit.data)
        warnings = credit.limit_warnings(account, form.credit_limit.data)
    else:
        change = ("tolerance", account.tolerance, _rate(form.tolerance.data))
        warnings = []
    statement = history(db.session, account.id)
    context = _context(account, **{form_name: form})
    return render_template(
        "admin/accounts/show.html",
        **context,
        statement=statement,
        confirm={"form": form_name, "kind": change[0], "old": change[1], "new": change[2]},
        warnings=warnings,
    )


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
    email = email.strip().lower()
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
ERROR_FIELDS |= {"reason", "spending_cap", "value"}


def _field_error(form, error: CreditError) -> None:
    """Show an engine refusal on the form field it concerns, else above the form."""
    field = getattr(form, error.field, None) if error.field in ERROR_FIELDS else None
    if field is None:
        form.form_errors.append(error.message)
    else:
        field.errors = [*field.errors, error.message]
