"""What the checkout page shows a customer, and placing their order.

`quote` assembles read-only credit-engine answers (`offered_terms`, `price_order`,
`purchase_refusal`); `place` calls `authorize`, which decides for real under the lock.
Refusals are turned into sentences for the buyer here, in one place.

The portal prices its own orders: each term's installments carry that term's monthly
interest (`credit.price_order`), the order total is their sum, and the hold remembers
them, so the invoices issued at settlement are exactly the installments shown here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import credit, figures
from ..i18n import money
from ..models import Account, PreAuthorization
from .cart import Cart


@dataclass
class TermOption:
    """A payment term with the order priced on it (None for an empty cart)."""

    days: str
    priced: credit.PricedOrder | None = None

    @property
    def count(self) -> int:
        """How many invoices the term issues."""
        return len(self.days.split("/"))

    @property
    def installments(self) -> list[tuple[int, Decimal, date]]:
        """(n, value with interest, due date if billed today) of each installment."""
        return self.priced.installments if self.priced else []

    @property
    def total(self) -> Decimal:
        """What the order costs on this term: the sum of its installments."""
        return self.priced.total if self.priced else Decimal("0.00")

    @property
    def rate_places(self) -> int:
        """Decimals to show the monthly rate with: 1 % but 1.25 %."""
        rate = self.priced.monthly_rate * 100 if self.priced else Decimal(0)
        return 0 if rate == rate.to_integral_value() else 2


@dataclass
class Quote:
    """The selected account's credit, the terms on offer and why buying is refused, if so."""

    view: figures.CustomerCredit
    terms: list[TermOption]
    term: str
    refusal: str | None
    after_order: Decimal

    @property
    def option(self) -> TermOption:
        """The chosen term, priced."""
        return next(option for option in self.terms if option.days == self.term)

    @property
    def total(self) -> Decimal:
        """What the order costs on the chosen term, interest included."""
        return self.option.total


def quote(
    session: Session, account: Account, cart: Cart, email: str, wanted_term: str | None
) -> Quote:
    """The offer to `email` paying `cart` with `account`."""
    settings = credit.get_settings(session)
    view = figures.customer_credit(session, account, settings, email)
    offered = credit.offered_terms(session)
    terms = [TermOption(days, _priced(session, cart.total, days)) for days in offered]
    term = wanted_term if wanted_term in offered else offered[0]
    option = next(option for option in terms if option.days == term)
    total = option.total
    refusal = None
    if cart.total <= 0:
        refusal = _("Your cart is empty: add a product to place an order.")
    elif option.priced is None:
        refusal = _("This order cannot be paid on this term: choose another one.")
    else:
        error = credit.purchase_refusal(session, account.id, total, holder_email=email)
        refusal = refusal_text(error, total, view) if error else None
    after = view.available - total  # below zero: the order uses the tolerance
    return Quote(view=view, terms=terms, term=term, refusal=refusal, after_order=after)


def _priced(session: Session, total: Decimal, days: str) -> credit.PricedOrder | None:
    """The cart priced on a term; None for an empty cart or a total the term cannot bear."""
    if total <= 0:
        return None
    try:
        return credit.price_order(session, total, days)
    except credit.CreditError:  # e.g. a rate so high that the total overflows
        return None


def _seen(raw: str | None) -> Decimal | None:
    """An amount the buyer was shown, as the form sent it back; None if it is no number."""
    try:
        seen = Decimal(str(raw or ""))
    except InvalidOperation:
        return None
    return seen if seen.is_finite() else None  # sNaN cannot even be compared


def place(
    session: Session,
    account: Account,
    cart: Cart,
    offer: Quote,
    *,
    email: str,
    term: str,
    order_id: str,
    transaction_id: str,
    seen_total: str | None,
    seen_order_total: str | None,
) -> tuple[PreAuthorization | None, str | None]:
    """Hold the order's total on the account: (hold, None) or (None, why not).

    The total is the sum of the installments priced on `term`, interest included, and
    the hold remembers them. `seen_total` is the cart total the buyer was shown and
    `seen_order_total` the total with interest on the button: if either differs now,
    nothing is held. A retry with the same transaction id returns the first hold.
    """
    if _seen(seen_total) != cart.total:
        return None, _("Your cart changed: check the total and place the order again.")
    option = next(option for option in offer.terms if option.days == term)
    if option.priced is None:
        return None, offer.refusal
    if _seen(seen_order_total) != option.total:
        return None, _(
            "On the term %(days)s days this order costs %(total)s: check it and place the "
            "order again.",
            days=term,
            total=money(option.total),
        )
    try:
        hold = credit.authorize(
            session,
            account.id,
            option.total,
            actor=email,
            payment_term=term,
            holder_email=email,
            order_id=order_id,
            transaction_id=transaction_id,
            installment_values=option.priced.values,
        )
    except credit.CreditError as refused:
        return None, refusal_text(refused, option.total, offer.view)
    return hold, None


def refusal_text(error: credit.CreditError, total: Decimal, view: figures.CustomerCredit) -> str:
    """Why the credit engine refuses the purchase, said to the buyer."""
    if error.code == "insufficient_credit":
        if view.tolerance_margin:
            return _(
                "Not enough credit: this order is %(total)s and you can spend up to "
                "%(spendable)s with the store’s tolerance.",
                total=money(total),
                spendable=money(view.spendable),
            )
        return _(
            "Not enough credit: this order is %(total)s and %(available)s is available.",
            total=money(total),
            available=money(view.available),
        )
    if error.code == "account_on_hold":
        return _(
            "This account is on hold because of an overdue invoice. Pay it to buy on credit again."
        )
    if error.code == "account_closed":
        return _("This account is closed: it cannot be used for new purchases.")
    if error.code == "dependent_cap_exceeded":
        left = view.cap.left if view.cap else Decimal("0.00")
        return _(
            "This order exceeds your own spending cap on this account: %(left)s left.",
            left=money(left),
        )
    if error.code == "duplicate_transaction":
        return _("This order was already placed. Reload the page to start a new one.")
    if error.code == "not_a_holder":
        return _("You are not a holder of this account.")
    return error.message


def find_order(session: Session, order_id: str, account_ids: list[str]) -> PreAuthorization | None:
    """The latest purchase with this order id on one of these accounts, or None."""
    if "\x00" in order_id:  # no order id has one, and PostgreSQL refuses to compare it
        return None
    return session.scalar(
        select(PreAuthorization)
        .where(PreAuthorization.order_id == order_id, PreAuthorization.account_id.in_(account_ids))
        .order_by(PreAuthorization.created_at.desc(), PreAuthorization.id)
        .limit(1)
    )
