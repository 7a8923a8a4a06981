"""My Credits: what a customer (main holder or dependent) sees of their accounts."""

import re

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
from flask_login import current_user

from .. import credit, figures, listing, people
from ..access import STAFF, actor, roles_required
from ..extensions import db
from ..htmx import is_htmx, render_page_or_fragment, with_toast
from ..imports import csv_lines
from ..reminders import set_reminders
from . import bp, queries

MAX_PAGE = 1_000_000  # deeper than any real list; keeps SQL offsets in range
DEFAULTS = {"tab": "open", "page": 1, "history_page": 1}
# htmx asks for one section at a time; the id it targets names the fragment to send.
FRAGMENTS = {
    "invoices": "mycredits/partials/_invoices.html",
    "history": "mycredits/partials/_history.html",
}


def _page_number(name: str) -> int:
    """A page number from the query string (ASCII digits); anything unusable means page 1."""
    value = listing.whole_number(request.args.get(name))
    return value if value and value <= MAX_PAGE else 1


def _my_accounts(email: str | None = None):
    """The accounts of `email` (the user's by default) and the one asked for (`?account=`),
    or 404 if not theirs."""
    if not credit.get_settings(db.session).my_credits_enabled:
        abort(404)
    ids = people.customer_account_ids(db.session, email or current_user.email)
    accounts = figures.customer_accounts(db.session, ids)
    wanted = request.args.get("account")
    if wanted is None:
        return accounts, (accounts[0] if accounts else None)
    account = next((a for a in accounts if a.id == wanted), None)
    if account is None:
        abort(404)
    return accounts, account


def _linker(state: dict, endpoint: str, **route):
    """`link(**changes)`: this page's URL with some of its state changed, defaults left out."""

    def link(**changes) -> str:
        args = {**state, **changes}
        args = {k: v for k, v in args.items() if v is not None and DEFAULTS.get(k) != v}
        return url_for(endpoint, **route, **args)

    return link


@bp.get("/my-credits")
@roles_required("customer")
def index():
    """The selected account's credit, invoices by status and history, with a switcher; a
    friendly page saying whom to contact when the store has turned My Credits off."""
    if not credit.get_settings(db.session).my_credits_enabled:
        return render_template("mycredits/unavailable.html")
    return _my_credits(current_user.email, "mycredits.index")


@bp.get("/admin/accounts/<account_id>/holders/<holder_id>/view")
@roles_required(*STAFF)
def view_as(account_id: str, holder_id: str):
    """Staff see exactly what a holder sees on My Credits, read-only; each visit is audited."""
    try:
        holder = credit.viewed_as(
            db.session, account_id, holder_id, actor=actor(), audited=not is_htmx()
        )
    except credit.NotFound:
        abort(404)
    route = {"account_id": account_id, "holder_id": holder_id}
    return _my_credits(holder.email, "mycredits.view_as", viewing_as=holder, **route)


def _my_credits(email: str, endpoint: str, viewing_as=None, **route):
    """My Credits of `email`: the page, or the section htmx asks for."""
    accounts, account = _my_accounts(email)
    settings = credit.get_settings(db.session)
    state = {
        "account": account.id if account else None,
        "tab": request.args.get("tab") if request.args.get("tab") in queries.TABS else "open",
        "page": _page_number("page"),
        "history_page": _page_number("history_page"),
    }
    context = {
        "accounts": accounts,
        "link": _linker(state, endpoint, **route),
        "settings": settings,
        "view": None,
        "viewing_as": viewing_as,  # a staff member looking, read-only
    }
    if account is not None:
        invoices = queries.invoice_tab(db.session, account, settings, state["tab"], state["page"])
        history = queries.history(db.session, account.id, state["history_page"])
        # Pages past the end were shown as the last page: links start from there.
        state.update(page=invoices.page.query.page, history_page=history.page.query.page)
        context.update(
            view=figures.customer_credit(db.session, account, settings, email),
            invoices=invoices,
            history=history,
            origin_labels=queries.ORIGIN_LABELS,
            reminders=queries.reminders(db.session, email),
        )
    target = request.headers.get("HX-Target") if is_htmx() else None
    fragment = FRAGMENTS.get(target, "mycredits/index.html") if account else "mycredits/index.html"
    response = render_page_or_fragment("mycredits/index.html", fragment, **context)
    response.vary.add("HX-Target")
    return response


@bp.get("/my-credits/statement.csv")
@roles_required("customer")
def statement_csv():
    """The selected account's whole statement as CSV, with the balance after each entry."""
    _accounts, account = _my_accounts()
    if account is None:
        abort(404)
    header = [str(name) for name in queries.STATEMENT_HEADER]
    rows = queries.statement_rows(db.session, account.id)
    dialect = "excel" if request.args.get("dialect") == "excel" else "comma"
    response = Response(stream_with_context(csv_lines(header, rows, dialect)), mimetype="text/csv")
    filename = "statement-" + re.sub(r"[^A-Za-z0-9_.-]", "-", account.id) + ".csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/my-credits/reminders")
@roles_required("customer")
def reminders():
    """Turn reminder e-mails on or off for the customer's own address (on every account it
    holds; audited); htmx gets the switch again with a toast, a browser the page."""
    accounts, account = _my_accounts()
    choice = request.form.get("reminders")
    if not accounts or choice not in ("on", "off"):
        abort(400 if accounts else 404)
    set_reminders(db.session, current_user.email, choice == "on", actor=actor())
    done = _("Reminder e-mails are on.") if choice == "on" else _("Reminder e-mails are off.")
    state = queries.reminders(db.session, current_user.email)
    if is_htmx():
        html = render_template(
            "mycredits/partials/_reminders.html", reminders=state, viewing_as=None
        )
        response = make_response(html)
        response.vary.add("HX-Request")
        return with_toast(response, done)
    flash(done, "success")
    shown = account.id if request.args.get("account") else None  # the account on the page
    return redirect(url_for("mycredits.index", account=shown, _anchor="reminders"))
