"""The demo store's cart: a fixed list of products and quantities, totalled with Decimal."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l

MAX_QUANTITY = 99
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Product:
    """Something the demo store sells, priced in the store currency."""

    sku: str
    name: str
    detail: str
    price: Decimal
    default_quantity: int

    @property
    def field(self) -> str:
        """The name of its quantity in forms and query strings."""
        return f"qty-{self.sku}"


PRODUCTS = (
    Product("paper", _l("A4 copy paper"), _l("Box of 10 reams, 75 g/m²"), Decimal("189.90"), 2),
    Product(
        "toner", _l("Laser toner cartridge"), _l("Black, about 3,000 pages"), Decimal("349.00"), 1
    ),
    Product(
        "chair",
        _l("Ergonomic office chair"),
        _l("Adjustable, lumbar support"),
        Decimal("1290.00"),
        0,
    ),
    Product("pens", _l("Ballpoint pens"), _l("Box of 50, blue ink"), Decimal("42.50"), 1),
)


@dataclass(frozen=True)
class Line:
    """A product and how many of it the cart holds."""

    product: Product
    quantity: int

    @property
    def subtotal(self) -> Decimal:
        """Unit price times quantity."""
        return (self.product.price * self.quantity).quantize(CENT)


@dataclass(frozen=True)
class Cart:
    """Every product with its quantity (zero when not bought)."""

    lines: tuple[Line, ...]

    @property
    def items(self) -> list[Line]:
        """The lines actually bought."""
        return [line for line in self.lines if line.quantity > 0]

    @property
    def total(self) -> Decimal:
        """What the order costs: the sum of the subtotals."""
        return sum((line.subtotal for line in self.lines), Decimal("0.00"))

    @property
    def count(self) -> int:
        """How many units the cart holds."""
        return sum(line.quantity for line in self.lines)

    def args(self) -> dict[str, int]:
        """The quantities as query-string or form arguments."""
        return {line.product.field: line.quantity for line in self.lines}


def _quantity(raw: str | None) -> int:
    """A quantity typed by someone: ASCII digits, at most MAX_QUANTITY; anything else is 0.

    "²" passes str.isdigit() and then makes int() fail, so only 0-9 are read, and a long
    run of digits (99999999999) is simply more than MAX_QUANTITY, without converting it.
    """
    text = str(raw or "").strip()
    if not _DIGITS.fullmatch(text):
        return 0
    digits = text.lstrip("0") or "0"
    return MAX_QUANTITY if len(digits) > 6 else min(int(digits), MAX_QUANTITY)


def read_cart(values: Mapping[str, str]) -> Cart:
    """The cart described by `qty-<sku>` values; with none at all, the demo's defaults."""
    if not any(product.field in values for product in PRODUCTS):
        return Cart(tuple(Line(p, p.default_quantity) for p in PRODUCTS))
    return Cart(tuple(Line(p, _quantity(values.get(p.field))) for p in PRODUCTS))


def new_order_id() -> str:
    """An order id as the demo store's order system would issue it: ORD-<8 digits>."""
    return f"ORD-{secrets.randbelow(10**8):08d}"


def new_transaction_id() -> str:
    """A fresh transaction id for the credit hold (32 hex digits)."""
    return uuid.uuid4().hex
