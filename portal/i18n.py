"""Locale selection and the money/date filters every template uses.

Numbers are written and read in one number locale per display language (`number_locale`):
what a page shows (`money`, `number`, `percent`, `number_input`) is what
`portal.numbers.parse_number` reads back from a form.
"""

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_currency, format_decimal, format_percent
from flask import Flask, has_request_context, request
from flask_babel import format_date, format_datetime, get_locale

from .extensions import babel
from .numbers import format_number

SUPPORTED = ["en", "pt_BR", "es"]
# The number locale of each display language (by its language prefix: pt-PT → pt_BR).
NUMBER_LOCALES = {"en": "en_US", "pt": "pt_BR", "es": "es"}
DEFAULT_NUMBER_LOCALE = "en_US"


def select_locale() -> str:
    """The viewer's best supported locale from the Accept-Language header (en outside one)."""
    if not has_request_context():
        return "en"
    return request.accept_languages.best_match(SUPPORTED) or "en"


def number_locale_for(language: str | None) -> str:
    """The number locale of a display language: 'pt_BR', 'pt-PT', 'pt' → 'pt_BR'."""
    prefix = str(language or "").replace("-", "_").split("_")[0].lower()
    return NUMBER_LOCALES.get(prefix, DEFAULT_NUMBER_LOCALE)


def number_locale() -> str:
    """The number locale of the current request's language (en_US outside a request)."""
    if not has_request_context():
        return DEFAULT_NUMBER_LOCALE
    return number_locale_for(str(get_locale() or ""))


def store_currency() -> str:
    """The store's ISO 4217 currency (from settings, cached per request)."""
    from flask import g

    if "currency" not in g:
        from .credit.settings import get_settings
        from .extensions import db

        g.currency = get_settings(db.session).currency
    return g.currency


def money(value: Decimal | None, currency: str | None = None) -> str:
    """Format an amount in the store currency for the viewer's locale."""
    if value is None:
        return ""
    return format_currency(Decimal(value), currency or store_currency(), locale=number_locale())


def number(value: Decimal | None) -> str:
    """Format a plain number for the viewer's locale."""
    return "" if value is None else format_decimal(value, locale=number_locale())


def percent(value: Decimal | None, digits: int = 0) -> str:
    """Format a ratio (0.25) as a percentage for the viewer's locale."""
    if value is None:
        return ""
    fmt = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(value, format=fmt, locale=number_locale())


def number_input(value: Decimal | None, places: int = 2) -> str:
    """A number for an input's value, as the form reads it back: 1234.5 → '1234,50' (pt)."""
    return format_number(value, locale=number_locale(), places=places)


def day(value: date | None) -> str:
    """Format a date for the viewer's locale."""
    return "" if value is None else format_date(value, "medium")


def moment(value: datetime | None) -> str:
    """Format a timestamp for the viewer's locale and timezone."""
    return "" if value is None else format_datetime(value, "short")


def init_app(app: Flask) -> None:
    """Register Babel and the template filters."""
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(
        money=money,
        number=number,
        percent=percent,
        number_input=number_input,
        day=day,
        moment=moment,
    )
