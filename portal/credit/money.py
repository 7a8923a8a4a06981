"""Money parsing and exact installment splitting, Decimal only."""

from decimal import ROUND_DOWN, Decimal, InvalidOperation

from flask_babel import gettext as _

from .errors import InvalidInput

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")


def parse_decimal(raw, field: str = "value", *, places: int = 2) -> Decimal:
    """Parse a number (str, int or Decimal; never float) with at most `places` decimals."""
    if isinstance(raw, bool) or raw is None:
        raise InvalidInput("invalid_amount", _("%(field)s must be a number.", field=field), field)
    if isinstance(raw, float):
        raw = repr(raw)  # JSON floats from other callers: use their shortest repr
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(
            "invalid_amount", _("%(field)s must be a number.", field=field), field
        ) from None
    if not value.is_finite():
        raise InvalidInput(
            "invalid_amount", _("%(field)s must be a finite number.", field=field), field
        )
    if value and value.adjusted() > 15:  # before quantize, which fails on huge exponents
        raise InvalidInput("invalid_amount", _("%(field)s is too large.", field=field), field)
    if value and value.adjusted() < -places - 1:
        raise InvalidInput(
            "invalid_amount",
            _(
                "%(field)s must have at most %(places)s decimal places.",
                field=field,
                places=places,
            ),
            field,
        )
    if value != value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):
        raise InvalidInput(
            "invalid_amount",
            _(
                "%(field)s must have at most %(places)s decimal places.",
                field=field,
                places=places,
            ),
            field,
        )
    if abs(value) > MAX_AMOUNT:
        raise InvalidInput("invalid_amount", _("%(field)s is too large.", field=field), field)
    return value


def parse_amount(raw, field: str = "value") -> Decimal:
    """Parse a strictly positive amount of money with at most two decimals."""
    value = parse_decimal(raw, field)
    if value <= 0:
        raise InvalidInput(
            "invalid_amount", _("%(field)s must be greater than zero.", field=field), field
        )
    return value.quantize(CENT)


def parse_non_negative(raw, field: str = "value") -> Decimal:
    """Parse an amount of money that may be zero but not negative."""
    value = parse_decimal(raw, field)
    if value < 0:
        raise InvalidInput(
            "invalid_amount", _("%(field)s must not be negative.", field=field), field
        )
    return value.quantize(CENT)


def parse_rate(raw, field: str = "tolerance") -> Decimal:
    """Parse a non-negative rate such as 0.2 (20 %), up to 4 decimals, at most 10 (1000 %)."""
    value = parse_decimal(raw, field, places=4)
    if value < 0 or value > 10:
        raise InvalidInput(
            "invalid_rate", _("%(field)s must be between 0 and 10.", field=field), field
        )
    return value


def parse_whole(raw, field: str, low: int, high: int, code: str = "invalid_number") -> int:
    """Parse a whole number within [low, high] ("3", 3, "3.0"); refuse anything else."""
    if isinstance(raw, bool) or raw is None:
        raise InvalidInput(code, _("%(field)s must be a whole number.", field=field), field)
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(
            code, _("%(field)s must be a whole number.", field=field), field
        ) from None
    # Check the size before int(): int(Decimal("1e99999999")) would run for ever.
    if not value.is_finite() or value.adjusted() > 9 or value != value.to_integral_value():
        raise InvalidInput(code, _("%(field)s must be a whole number.", field=field), field)
    if not low <= int(value) <= high:
        raise InvalidInput(
            code,
            _("%(field)s must be between %(low)s and %(high)s.", field=field, low=low, high=high),
            field,
        )
    return int(value)


def split(value: Decimal, parts: int) -> list[Decimal]:
    """Split `value` into `parts` amounts that sum exactly; leftover cents go first."""
    cents = int((value / CENT).to_integral_value())
    base, leftover = divmod(cents, parts)
    return [(Decimal(base + (1 if i < leftover else 0)) * CENT) for i in range(parts)]
