"""Interest per installment: how the portal's own checkout prices an order on a term.

A term's rate is monthly and compound. The order value is split into equal principals to
the cent (leftover cents first, as `split` does), and the installment due d days after
the purchase is its principal × (1 + rate)^(d/30), rounded half up to the cent. The order
total is the sum of the installments: the hold covers that total and remembers the
installments (`PreAuthorization.installment_values`), and settling it issues exactly
those invoices. Values that come from outside (the API, a PPP payment) already include
whatever their checkout charged: they are never priced here, and settle splits them
equally, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import PaymentTerm, PreAuthorization
from .errors import InvalidInput
from .money import CENT, MAX_AMOUNT, parse_amount, split
from .settings import get_settings, parse_term, store_today

DAYS_PER_MONTH = 30
PRECISION = 60  # significant digits of the factor (1 + rate)^(d/30) before the cent


def price_installments(
    principal: Decimal, offsets: Sequence[int], monthly_rate: Decimal
) -> list[Decimal]:
    """The installments of `principal` due `offsets` days out at a compound monthly rate.

    Principals are split equally to the cent (leftover cents first); each installment is
    principal × (1 + rate)^(d/30), rounded half up to the cent. Rate 0 gives the split.
    """
    principals = split(principal, len(offsets))
    rate = Decimal(monthly_rate)
    if rate < 0:
        raise InvalidInput("invalid_rate", _("The interest rate must not be negative."), "rate")
    if rate == 0:
        return principals
    values = []
    with localcontext() as context:
        context.prec = PRECISION
        base = 1 + rate
        for part, days in zip(principals, offsets, strict=True):
            exact = part * base ** (Decimal(days) / DAYS_PER_MONTH)
            if exact > MAX_AMOUNT:
                raise InvalidInput(
                    "invalid_amount", _("The order total with interest is too large."), "value"
                )
            values.append(exact.quantize(CENT, rounding=ROUND_HALF_UP))
    return values


def scale_installments(values: Sequence[Decimal], amount: Decimal) -> list[Decimal]:
    """Rescale installments to sum exactly `amount`, each keeping its share of the total.

    Each part is value × amount / total rounded down to the cent; the cents left over go
    to the largest remainders (the earliest installment on a tie). A part that would be
    zero takes one cent from the largest part, so with amount ≥ one cent per installment
    every invoice is at least 0.01. Integer arithmetic on cents: exact.
    """
    weights = [int(value / CENT) for value in values]
    cents, whole = int(amount / CENT), sum(weights)
    shares = [divmod(cents * weight, whole) for weight in weights]
    parts = [share for share, _ in shares]
    by_remainder = sorted(range(len(parts)), key=lambda i: (-shares[i][1], i))
    for i in by_remainder[: cents - sum(parts)]:
        parts[i] += 1
    for i, part in enumerate(parts):
        if part == 0 and cents >= len(parts):
            largest = max(range(len(parts)), key=lambda k: (parts[k], -k))
            parts[largest] -= 1
            parts[i] = 1
    return [Decimal(part) * CENT for part in parts]


def remembered_installments(hold: PreAuthorization) -> list[Decimal] | None:
    """The installments the portal's checkout priced for this hold, or None (outside value)."""
    if not hold.installment_values:
        return None
    return [Decimal(str(value)) for value in hold.installment_values]


def settlement_parts(hold: PreAuthorization, amount: Decimal) -> list[Decimal]:
    """The invoice values that settling `hold` at `amount` issues, in installment order.

    A hold priced by the checkout issues its remembered installments when settled at
    their total, and those installments rescaled (`scale_installments`) at any other
    value. Any other hold splits `amount` equally, leftover cents first.
    """
    count = len(hold.payment_term.split("/"))
    remembered = remembered_installments(hold)
    if remembered is None or len(remembered) != count:
        return split(amount, count)
    if sum(remembered) == amount:
        return remembered
    return scale_installments(remembered, amount)


def check_installment_values(raw: Sequence, amount: Decimal, count: int) -> list[str]:
    """Validate priced installments for a hold of `amount`; the JSON the hold stores."""
    values = [parse_amount(value, "installment_values") for value in raw]
    if len(values) != count:
        raise InvalidInput(
            "invalid_installments",
            _(
                "%(values)s installment values for a term of %(count)s installments.",
                values=len(values),
                count=count,
            ),
            "installment_values",
        )
    if sum(values) != amount:
        raise InvalidInput(
            "invalid_installments",
            _(
                "The installments sum to %(sum)s, not to the value %(value)s.",
                sum=sum(values),
                value=amount,
            ),
            "installment_values",
        )
    return [str(value) for value in values]


def term_rate(session: Session, payment_term: str) -> Decimal:
    """The monthly interest rate of an offered term; 0 for a term the store does not list."""
    rate = session.scalar(
        select(PaymentTerm.interest_rate).where(
            PaymentTerm.days == parse_term(payment_term), PaymentTerm.active.is_(True)
        )
    )
    return Decimal(str(rate)) if rate is not None else Decimal(0)


@dataclass(frozen=True)
class PricedOrder:
    """An order priced on a term: its installments (n, value, due if billed today)."""

    payment_term: str
    monthly_rate: Decimal
    principal: Decimal
    installments: list[tuple[int, Decimal, date]]

    @property
    def values(self) -> list[Decimal]:
        """The installment values, in order."""
        return [value for _, value, _ in self.installments]

    @property
    def total(self) -> Decimal:
        """What the buyer pays: the sum of the installments."""
        return sum(self.values, Decimal("0.00"))

    @property
    def interest(self) -> Decimal:
        """The total less the principal."""
        return self.total - self.principal

    @property
    def count(self) -> int:
        """How many invoices the term issues."""
        return len(self.installments)

    @property
    def charges_interest(self) -> bool:
        """Whether the term has a rate (its interest may still round to zero)."""
        return self.monthly_rate > 0


def price_order(session: Session, principal, payment_term: str) -> PricedOrder:
    """Price `principal` on `payment_term` at the term's rate, due dates as if billed today."""
    amount = parse_amount(principal)
    term = parse_term(payment_term)
    offsets = [int(days) for days in term.split("/")]
    rate = term_rate(session, term)
    today = store_today(get_settings(session))
    values = price_installments(amount, offsets, rate)
    return PricedOrder(
        payment_term=term,
        monthly_rate=rate,
        principal=amount,
        installments=[
            (n, value, today + timedelta(days=days))
            for n, (value, days) in enumerate(zip(values, offsets, strict=True), start=1)
        ],
    )


def settlement_plan(session: Session, hold: PreAuthorization) -> list[tuple[int, Decimal, date]]:
    """What settling `hold` at its held value today would issue: (n, value, due date)."""
    offsets = [int(days) for days in hold.payment_term.split("/")]
    today = store_today(get_settings(session))
    parts = settlement_parts(hold, hold.value)
    return [
        (n, value, today + timedelta(days=days))
        for n, (value, days) in enumerate(zip(parts, offsets, strict=True), start=1)
    ]
