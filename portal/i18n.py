"""Locale selection and the money/date filters every template uses."""

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_currency, format_decimal, format_percent
from flask import Flask, request
from flask_babel import format_date, format_datetime, get_locale

from .extensions import babel

SUPPORTED = ["en", "pt_BR", "es"]


def select_locale() -> str:
    """The viewer's best supported locale from the Accept-Language header."""
    return request.accept_languages.best_match(SUPPORTED) or "en"


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
    return format_currency(Decimal(value), currency or store_currency(), locale=str(get_locale()))


def number(value: Decimal | None) -> str:
    """Format a plain number for the viewer's locale."""
    return "" if value is None else format_decimal(value, locale=str(get_locale()))


def percent(value: Decimal | None, digits: int = 0) -> str:
    """Format a ratio (0.25) as a percentage for the viewer's locale."""
    if value is None:
        return ""
    fmt = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(value, format=fmt, locale=str(get_locale()))


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
        money=money, number=number, percent=percent, day=day, moment=moment
    )
