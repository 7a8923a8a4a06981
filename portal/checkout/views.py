"""The demo checkout: a cart, the buyer's credit and terms, placing an order on credit."""

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from .. import credit, figures, people
from ..access import roles_required
from ..extensions import db
from ..htmx import render_page_or_fragment
from . import bp
from .cart import MAX_QUANTITY, new_order_id, new_transaction_id, read_cart
from .forms import OrderForm
from .quote import find_order, place, quote

PAGE, SUMMARY = "checkout/index.html", "checkout/partials/_summary.html"


def _is_customer() -> bool:
    return current_user.is_authenticated and current_user.role == "customer"


def _accounts(wanted: str | None):
    """The customer's accounts and the one paying (`wanted`, else the first); 404 if not theirs."""
    ids = people.customer_account_ids(db.session, current_user.email)
    accounts = figures.customer_accounts(db.session, ids)
    if wanted in (None, ""):
        return accounts, (accounts[0] if accounts else None)
    account = next((a for a in accounts if a.id == wanted), None)
    if account is None:
        abort(404)
    return accounts, account


def _fresh_ids(form: OrderForm) -> OrderForm:
    """Give the form the ids of a new order (each rendered form is one order)."""
    form.transaction_id.data, form.order_id.data = new_transaction_id(), new_order_id()
    return form


@bp.get("")
def index():
    """The cart and, for a logged-in customer, the credit to pay it with."""
    cart = read_cart(request.args)
    context = {
        "cart": cart,
        "max_quantity": MAX_QUANTITY,
        "accounts": [],
        "quote": None,
        "form": None,
    }
    if _is_customer():
        accounts, account = _accounts(request.args.get("account"))
        context["accounts"] = accounts
        if account is not None:
            offer = quote(db.session, account, cart, current_user.email, request.args.get("term"))
            form = OrderForm([t.days for t in offer.terms], formdata=None)
            form.account.data, form.term.data, form.total.data = account.id, offer.term, cart.total
            form.order_total.data = offer.total
            context.update(account=account, quote=offer, form=_fresh_ids(form))
    return render_page_or_fragment(PAGE, SUMMARY, **context)


@bp.post("/orders")
@roles_required("customer")
def place_order():
    """Hold the order's total (interest included) on the chosen account and term."""
    cart = read_cart(request.form)
    accounts, account = _accounts(request.form.get("account"))
    if account is None:
        abort(404)
    offer = quote(db.session, account, cart, current_user.email, request.form.get("term"))
    form = OrderForm([t.days for t in offer.terms])
    error = None
    if form.validate_on_submit():
        hold, error = place(
            db.session,
            account,
            cart,
            offer,
            email=current_user.email,
            term=form.term.data,
            order_id=form.order_id.data,
            transaction_id=form.transaction_id.data,
            seen_total=form.total.data,
            seen_order_total=form.order_total.data,
        )
        if hold is not None:
            return redirect(url_for("checkout.order", order_id=hold.order_id), 303)
    form.total.data, form.order_total.data = cart.total, offer.total
    context = {"cart": cart, "max_quantity": MAX_QUANTITY, "accounts": accounts, "account": account}
    context.update(quote=offer, form=_fresh_ids(form), error=error)
    return render_template(PAGE, **context), 422


@bp.get("/orders/<order_id>")
@roles_required("customer")
def order(order_id: str):
    """What an order placed on credit holds, on one of the customer's accounts."""
    ids = people.customer_account_ids(db.session, current_user.email)
    hold = find_order(db.session, order_id, ids)
    if hold is None:
        abort(404)
    plan = credit.settlement_plan(db.session, hold)
    settings = credit.get_settings(db.session)
    return render_template("checkout/order.html", hold=hold, plan=plan, settings=settings)
