"""What the checkout page shows a customer, and placing their order.

`quote` assembles read-only credit-engine answers (`offered_terms`, `installment_plan`,
`purchase_refusal`); `place` calls `authorize`, which decides for real under the lock.
Refusals are turned into sentences for the buyer here, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """A payment term with the installments it would issue if billed today."""

    days: str
    installments: list[tuple[int, Decimal, date]] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many invoices the term issues."""
        return len(self.days.split("/"))


@dataclass
class Quote:
    """The selected account's credit, the terms on offer and why buying is refused, if so."""

    view: figures.CustomerCredit
    terms: list[TermOption]
    term: str
    refusal: str | None
    after_order: Decimal


def quote(
    session: Session, account: Account, cart: Cart, email: str, wanted_term: str | None
) -> Quote:
    """The offer to `email` paying `cart` with `account`."""
    settings = credit.get_settings(session)
    view = figures.customer_credit(session, account, settings, email)
    offered = credit.offered_terms(session)
    terms = [
        TermOption(days, credit.installment_plan(session, cart.total, days) if cart.total else [])
        for days in offered
    ]
    refusal = None
    if cart.total <= 0:
        refusal = _("Your cart is empty: add a product to place an order.")
    else:
        error = credit.purchase_refusal(session, account.id, cart.total, holder_email=email)
        refusal = refusal_text(error, cart.total, view) if error else None
    term = wanted_term if wanted_term in offered else offered[0]
    after = view.available_balance - cart.total
    return Quote(view=view, terms=terms, term=term, refusal=refusal, after_order=after)


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
) -> tuple[PreAuthorization | None, str | None]:
    """Hold the cart's total on the account for this order: (hold, None) or (None, why not).

    `seen_total` is the total the buyer was shown: if the cart now costs something else,
    nothing is held. A retry with the same transaction id returns the first hold.
    """
    try:
        seen = Decimal(str(seen_total or ""))
    except InvalidOperation:
        seen = None
    if seen is None or not seen.is_finite() or seen != cart.total:  # sNaN cannot be compared
        return None, _("Your cart changed: check the total and place the order again.")
    try:
        hold = credit.authorize(
            session,
            account.id,
            cart.total,
            actor=email,
            payment_term=term,
            holder_email=email,
            order_id=order_id,
            transaction_id=transaction_id,
        )
    except credit.CreditError as refused:
        return None, refusal_text(refused, cart.total, offer.view)
    return hold, None


def refusal_text(error: credit.CreditError, total: Decimal, view: figures.CustomerCredit) -> str:
    """Why the credit engine refuses the purchase, said to the buyer."""
    if error.code == "insufficient_credit":
        return _(
            "Not enough credit: this order is %(total)s and %(available)s is available.",
            total=money(total),
            available=money(view.available_balance),
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
