"""Numbers typed by people: one strict parser, and the matching input format.

A person types `1.234,56` in Portuguese and `1,234.56` in English; both mean 1234.56. What
cannot be read in exactly one way is refused with the field's name and the reason, never
guessed or rewritten: `10k`, `5O00`, `2000 (was 1500)`, `1 500`, `1e5`, `²`, `١٢٣`.

The grammar, for a number locale whose decimal symbol is D and group symbol is G:

- ASCII digits only; thousands grouped in threes after a first group of 1–3 digits
  (`1,234,567`), or not grouped at all (`1234567`); leading zeros only when not grouped;
- at most one D followed by 1..`places` digits; a number may start with D (`.5`, `,5`
  read as 0.5) but not end with it (`5.` is refused: it looks cut short);
- surrounding spaces; one currency symbol before or after the number (`R$`, `US$`, `$`,
  `€`, `£` or an ISO 4217 code such as `BRL`), with or without a space (a no-break space
  too, which is what the formatter writes);
- one leading minus (`-10`, `-R$ 10`, `R$ -10`) only when `negative=True`;
- a trailing `%` only when `percent=True`; the value is then the percent as typed;
- at most 40 characters, and within the domain's magnitude (`credit.money.MAX_AMOUNT`).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import lru_cache

from babel.numbers import (
    format_decimal,
    get_decimal_symbol,
    get_group_symbol,
    list_currencies,
)
from flask import has_request_context
from flask_babel import gettext

from .credit.errors import InvalidInput
from .credit.money import MAX_AMOUNT

MAX_LENGTH = 40
CODE = "invalid_number"

_SPACE = "[ \u00a0\u202f]"  # a space, a no-break space or a narrow one (what Babel writes)
_SYMBOL = r"R\$|US\$|\$|€|£|[A-Z]{3}"
_SHAPE = re.compile(
    rf"(?P<sign>-)?(?:(?P<before>{_SYMBOL}){_SPACE}?)?(?P<sign2>-)?"
    rf"(?P<body>[0-9.,]+)"
    rf"(?:{_SPACE}?(?P<after>{_SYMBOL}))?(?:{_SPACE}?(?P<percent>%))?",
    re.ASCII,
)
_DIGITS_APART = re.compile(r"[0-9][.,]?[\s\u00a0\u202f]+[.,]?[0-9]")


def _(message: str, **variables) -> str:
    """The message in the request's language; untranslated outside a request (a CLI import),
    where Flask-Babel's locale selector has no request to read."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables


@lru_cache(maxsize=16)
def symbols(locale: str) -> tuple[str, str]:
    """The (decimal, group) symbols of a number locale: ('.', ',') for en_US."""
    decimal, group = get_decimal_symbol(locale), get_group_symbol(locale)
    if {decimal, group} != {".", ","}:
        raise ValueError(f"Unsupported number locale {locale!r}: use en_US, pt_BR or es.")
    return decimal, group


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def parse_number(
    text: str | None,
    *,
    locale: str,
    field: str,
    label: str | None = None,
    places: int = 2,
    negative: bool = False,
    percent: bool = False,
) -> Decimal | None:
    """Read a number typed in `locale` exactly, or raise InvalidInput(code, message, field).

    None for empty or blank input (the caller decides whether empty is allowed). `label`
    names the field in the message (default: `field`); `places` is the most decimals.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError(f"parse_number reads text, not {type(text).__name__}")
    name = label or field
    typed = text.strip()
    if not typed:
        return None
    if len(typed) > MAX_LENGTH:
        raise _refuse(
            _(
                "%(field)s is too long for a number (at most %(n)d characters).",
                field=name,
                n=MAX_LENGTH,
            ),
            field,
        )
    match = _SHAPE.fullmatch(typed)
    if match is None:
        raise _refuse(_why_not(typed, name, locale, percent), field)
    parts = match.groupdict()
    symbol = parts["before"] or parts["after"]
    if parts["sign"] and parts["sign2"]:
        raise _refuse(_("%(field)s has more than one minus sign.", field=name), field)
    if parts["before"] and parts["after"]:
        raise _refuse(_not_a_number(typed, name, locale), field)
    if symbol and len(symbol) == 3 and symbol.isalpha() and symbol not in _currencies():
        raise _refuse(_letters(typed, name), field)
    if parts["percent"] and (symbol or not percent):
        raise _refuse(_no_percent(name), field)
    if (parts["sign"] or parts["sign2"]) and not negative:
        raise _refuse(_("%(field)s must not be negative.", field=name), field)
    whole, fraction = _split(parts["body"], typed, name, locale, places, field)
    value = Decimal(f"{whole or '0'}.{fraction}" if fraction else whole)
    if abs(value) > MAX_AMOUNT:
        largest = format_decimal(MAX_AMOUNT, locale=locale)
        raise _refuse(
            _("%(field)s is too large (at most %(max)s).", field=name, max=largest), field
        )
    if (parts["sign"] or parts["sign2"]) and value:
        value = -value
    return value


def format_number(value: Decimal | int | None, *, locale: str, places: int = 2, fixed=True) -> str:
    """A number as `parse_number` reads it back in `locale`, without grouping, for inputs.

    fixed: always `places` decimals (money: '1234,50'); else only those needed ('12,5').
    """
    if value is None:
        return ""
    pattern = "0" + ("." + ("0" if fixed else "#") * places if places else "")
    return format_decimal(Decimal(value), format=pattern, locale=locale)


# --- the reasons -------------------------------------------------------------------------


def _refuse(message: str, field: str) -> InvalidInput:
    return InvalidInput(CODE, message, field)


def _example(locale: str) -> str:
    return format_decimal(Decimal("1234.56"), format="#,##0.00", locale=locale)


def _wrong_separator(name: str, locale: str) -> str:
    decimal, _group = symbols(locale)
    if decimal == ".":
        return _(
            "%(field)s: use a point for decimals and a comma (or nothing) for thousands, "
            "e.g. %(example)s.",
            field=name,
            example=_example(locale),
        )
    return _(
        "%(field)s: use a comma for decimals and a point (or nothing) for thousands, "
        "e.g. %(example)s.",
        field=name,
        example=_example(locale),
    )


def _not_a_number(typed: str, name: str, locale: str) -> str:
    return _(
        '%(field)s must be a number such as %(example)s, not "%(text)s".',
        field=name,
        example=_example(locale),
        text=typed,
    )


def _no_percent(name: str) -> str:
    return _("%(field)s does not take a percentage: remove the %%.", field=name)


def _letters(typed: str, name: str) -> str:
    return _(
        '%(field)s must be a number: "%(text)s" contains letters or symbols.',
        field=name,
        text=typed,
    )


def _why_not(typed: str, name: str, locale: str, percent: bool) -> str:
    """The reason a text does not have the shape of a number, in a clerk's words."""
    if any(_is_foreign_digit(char) for char in typed):
        return _('%(field)s: type the digits 0 to 9 only, not "%(text)s".', field=name, text=typed)
    if "%" in typed and not percent:
        return _no_percent(name)
    without_symbols = re.sub(_SYMBOL, "", typed)
    if any(char.isalpha() for char in without_symbols):
        return _letters(typed, name)
    if _DIGITS_APART.search(typed):
        return _(
            "%(field)s must not have spaces between the digits: write %(example)s or %(plain)s.",
            field=name,
            example=_example(locale),
            plain=format_number(Decimal("1234.56"), locale=locale),
        )
    if typed.count("-") > 1:
        return _("%(field)s has more than one minus sign.", field=name)
    return _not_a_number(typed, name, locale)


def _is_foreign_digit(char: str) -> bool:
    """A digit that is not 0–9: '²' (str.isdigit() says yes), '١' (Arabic-Indic), '５'."""
    return char not in "0123456789" and (char.isdigit() or unicodedata.category(char) == "Nd")


def _split(
    body: str, typed: str, name: str, locale: str, places: int, field: str
) -> tuple[str, str]:
    """The digits before and after the decimal symbol, checked; raise what is wrong."""
    decimal, group = symbols(locale)
    if not any(char.isdigit() for char in body):
        raise _refuse(_not_a_number(typed, name, locale), field)
    whole, has_decimal, fraction = body.partition(decimal)
    if decimal in fraction or group in fraction:  # '1.234,56' in English, '1,5.0' …
        raise _refuse(_wrong_separator(name, locale), field)
    if has_decimal and not fraction:
        raise _refuse(
            _(
                '%(field)s ends with "%(symbol)s": type the decimals or remove it.',
                field=name,
                symbol=decimal,
            ),
            field,
        )
    if group in whole:
        groups = whole.split(group)
        if not has_decimal and len(groups) == 2 and len(groups[1]) != 3:
            raise _refuse(_wrong_separator(name, locale), field)  # '1,5' in English
        if groups[0] in ("", "0"):
            raise _refuse(_wrong_separator(name, locale), field)  # '0,500' in English
        if len(groups[0]) > 3 or groups[0].startswith("0") or any(len(g) != 3 for g in groups[1:]):
            raise _refuse(
                _(
                    '%(field)s: group thousands in threes ("%(example)s") or not at all.',
                    field=name,
                    example=_example(locale),
                ),
                field,
            )
        whole = "".join(groups)
    if len(fraction) > places:
        if places == 0:
            message = _("%(field)s must be a whole number.", field=name)
        elif len(fraction) == 3 and group not in whole:  # '1,500' in Portuguese
            message = _(
                "%(field)s must have at most %(places)d decimals; to write thousands, "
                'group them with "%(group)s", e.g. %(example)s.',
                field=name,
                places=places,
                group=group,
                example=_example(locale),
            )
        else:
            message = _(
                "%(field)s must have at most %(places)d decimals.", field=name, places=places
            )
        raise _refuse(message, field)
    return whole, fraction
