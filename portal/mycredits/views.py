"""My Credits: what a customer (main holder or dependent) sees of their accounts."""

from flask import abort, render_template, request
from flask_login import current_user

from .. import credit, figures, people
from ..access import roles_required
from ..extensions import db
from . import bp


@bp.get("/my-credits")
@roles_required("customer")
def index():
    """The selected account's credit and open invoices, with a switcher between accounts."""
    settings = credit.get_settings(db.session)
    if not settings.my_credits_enabled:
        abort(404)
    ids = people.customer_account_ids(db.session, current_user.email)
    accounts = figures.customer_accounts(db.session, ids)
    selected = request.args.get("account", ids[0] if ids else None)
    account = next((a for a in accounts if a.id == selected), None)
    if accounts and account is None:
        abort(404)
    view = figures.customer_credit(db.session, account, settings) if account else None
    return render_template("mycredits/index.html", accounts=accounts, view=view)
