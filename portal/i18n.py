"""Locale selection and the money/date filters every template uses.

The page language (`select_locale`): the logged-in user's saved choice (`User.language`),
else the `lang` cookie the language menu sets on this browser, else the browser's
Accept-Language when it names one of the three languages, else the store's Locale
setting, else English; regional variants count by their prefix (pt-PT → pt_BR, es-AR →
es, en-GB → en). A request without Accept-Language (every browser sends one: this is a
script or a test client) skips the store's setting: English. The JSON API and the payment
protocol (/api, /ppp) are always English.

Numbers are written and read in one number locale per display language (`number_locale`):
what a page shows (`money`, `number`, `percent`, `number_input`) is what
`portal.numbers.parse_number` reads back from a form.

Money carries the currency's own symbol in every language: the symbol the currency's
home country writes (its ISO 4217 code's first two letters: BRL → Brazil → "R$", MXN →
Mexico → "$", USD → "$"; babel's symbol in the reader's locale when the code names no
country, EUR → "€"), always before the amount, spaced as the reader's locale spaces it:
R$5,000.00 (en), R$ 5.000,00 (pt_BR and es, whose own pattern would put it last).
"""

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache, partial

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import (
    NumberPattern,
    format_decimal,
    format_percent,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    parse_pattern,
)
from flask import Flask, g, has_app_context, has_request_context, request
from flask_babel import format_datetime, get_locale, get_translations, refresh, to_user_timezone
from flask_login import current_user
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import labels
from .extensions import babel
from .numbers import format_number

SUPPORTED = ["en", "pt_BR", "es"]
# Each language named in itself, never translated: a reader finds their own in any page.
LANGUAGE_NAMES = {"en": "English", "pt_BR": "Português (Brasil)", "es": "Español"}
LANGUAGE_COOKIE = "lang"
# The supported language of each language prefix (pt-PT → pt_BR, es-AR → es, en-GB → en).
_BY_PREFIX = {"en": "en", "pt": "pt_BR", "es": "es"}
# Machine-facing paths: canonical (English) whatever the client's Accept-Language.
CANONICAL_PATHS = ("/api", "/ppp")
# The number locale of each display language (by its language prefix: pt-PT → pt_BR).
NUMBER_LOCALES = {"en": "en_US", "pt": "pt_BR", "es": "es"}
DEFAULT_NUMBER_LOCALE = "en_US"


def supported_language(code: str | None) -> str | None:
    """The supported language a code names, by its prefix: 'pt-PT' → 'pt_BR'; 'fr' → None."""
    prefix = str(code or "").replace("-", "_").split("_")[0].lower()
    return _BY_PREFIX.get(prefix)


def select_locale() -> str:
    """The viewer's language: saved choice, `lang` cookie, Accept-Language, store, en."""
    if not has_request_context():
        return "en"
    if any(request.path == p or request.path.startswith(p + "/") for p in CANONICAL_PATHS):
        return "en"
    if current_user.is_authenticated:
        saved = supported_language(getattr(current_user, "language", None))
        if saved:
            return saved
    if language := supported_language(request.cookies.get(LANGUAGE_COOKIE)):
        return language
    if "Accept-Language" not in request.headers:
        return "en"  # not a browser: a script, a health check, the test client
    return _browser_language() or store_language() or "en"


def _browser_language() -> str | None:
    """The first language of Accept-Language (by quality) that is one of the three."""
    for code, quality in request.accept_languages:
        language = supported_language(code) if quality > 0 else None
        if language:
            return language
    return None


def store_language(session: Session | None = None) -> str | None:
    """The supported language of the store's Locale setting (pt_BR → pt_BR, es_AR → es)."""
    from .credit import get_settings
    from .extensions import db

    return supported_language(get_settings(session or db.session).locale)


def current_language() -> str:
    """The supported language the current page is shown in (what the menu marks)."""
    return supported_language(str(get_locale() or "")) or "en"


def email_language(session: Session, email: str, requested: str | None = None) -> str:
    """The language of an e-mail to `email`: its login's saved choice, else `requested`
    (the page language of whoever asked for it, e.g. a reset), else the store's, else en.
    A holder without a login gets the store's."""
    from .models import User

    saved = session.scalar(select(User.language).where(User.email == email))
    return (
        supported_language(saved)
        or supported_language(requested)
        or store_language(session)
        or "en"
    )


def number_locale_for(language: str | None) -> str:
    """The number locale of a display language: 'pt_BR', 'pt-PT', 'pt' → 'pt_BR'."""
    prefix = str(language or "").replace("-", "_").split("_")[0].lower()
    return NUMBER_LOCALES.get(prefix, DEFAULT_NUMBER_LOCALE)


def number_locale() -> str:
    """The number locale of the current language (`force_locale` included; en_US outside an
    app context)."""
    return _current()[1]


def _current() -> tuple:
    """(translations, number locale) of the current locale, worked out once per request and
    locale and kept beside Flask-Babel's own state: Flask-Babel looks its translations up
    anew on every call (three context lookups and a locale name each), and a page makes
    hundreds of `_()` and `money` calls. A `force_locale` block or a `refresh` sets another
    locale object, which misses the kept pair."""
    if not has_app_context():
        return get_translations(), DEFAULT_NUMBER_LOCALE
    context_g = g._get_current_object()  # once: each use of the proxy looks the context up
    state = getattr(context_g, "_flask_babel", None)
    kept = getattr(state, "portal_current", None)
    if kept is not None and kept[0] is getattr(state, "babel_locale", None):
        return kept[1]
    locale = get_locale()
    current = get_translations(), number_locale_for(str(locale))
    context_g._flask_babel.portal_current = (locale, current)
    return current


def store_currency() -> str:
    """The store's ISO 4217 currency (from settings, cached per request)."""
    if "currency" not in g:
        from .credit.settings import get_settings
        from .extensions import db

        g.currency = get_settings(db.session).currency
    return g.currency


def money(value: Decimal | None, currency: str | None = None) -> str:
    """Format an amount in the store currency for the viewer's locale."""
    if value is None:
        return ""
    return format_money(value, currency or store_currency(), number_locale())


def format_money(value: Decimal, currency: str, locale: str) -> str:
    """An amount for number locale `locale`, with the currency's own symbol first:
    ('5000', 'BRL', 'es') → 'R$\xa05.000,00'; the currency's decimals (JPY: none)."""
    return _money_format(currency, locale)(Decimal(value))


@lru_cache(maxsize=64)
def _money_format(currency: str, locale: str) -> Callable[[Decimal], str]:
    """The function that writes amounts of `currency` for `locale`: babel's pattern, applied
    with Python's own grouping when that gives babel's text (checked here on a positive and
    a negative sample, and by a property test), since babel's `apply` takes ~9 µs an amount
    and a list page writes a hundred."""
    pattern = _money_pattern(currency_symbol(currency, locale), locale)
    by_babel = partial(pattern.apply, locale=_locale(locale), currency=currency)
    if pattern.grouping != (3, 3) or pattern.scale or pattern.exp_prec:
        return by_babel
    quantum = Decimal(1).scaleb(-get_currency_precision(currency))
    spec = f",.{get_currency_precision(currency)}f"
    symbols = str.maketrans({",": get_group_symbol(locale), ".": get_decimal_symbol(locale)})

    def digits(value: Decimal) -> str:
        return format(abs(value).quantize(quantum), spec).translate(symbols)

    sample = Decimal("1234567.891")
    affixes = []
    for value in (sample, -sample):
        before, found, after = by_babel(value).partition(digits(value))
        if not found:
            return by_babel
        affixes.append((before, after))
    (prefix, suffix), (negative_prefix, negative_suffix) = affixes

    def by_python(value: Decimal) -> str:
        if not value.is_finite():
            return by_babel(value)
        if value.is_signed():
            return negative_prefix + digits(value) + negative_suffix
        return prefix + digits(value) + suffix

    return by_python


@lru_cache(maxsize=16)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


@lru_cache(maxsize=64)
def currency_symbol(currency: str, locale: str) -> str:
    """The symbol the currency's home country writes (BRL → 'R$', MXN → '$'); babel's in
    `locale` when its code names no country (EUR → '€')."""
    try:
        home = Locale.parse("und_" + currency[:2].upper())
    except (ValueError, UnknownLocaleError):
        return get_currency_symbol(currency, locale=locale)
    return get_currency_symbol(currency, locale=home)


@lru_cache(maxsize=64)
def _money_pattern(symbol: str, locale: str) -> NumberPattern:
    """The locale's currency pattern with `symbol` as a literal, moved first when the
    locale writes it last (es: '#,##0.00 ¤' → '¤ #,##0.00', keeping its space); parsed
    once (a page formats hundreds of amounts)."""
    literal = "'" + symbol.replace("'", "''") + "'"
    parts = []
    for part in Locale.parse(locale).currency_formats["standard"].pattern.split(";"):
        if part.endswith("¤"):
            amount = part[:-1]
            space = amount[-1] if amount[-1:].isspace() else ""
            part = "¤" + space + amount.rstrip()
        parts.append(part.replace("¤", literal))
    return parse_pattern(";".join(parts))


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
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    return _medium_date(value, get_locale())


@lru_cache(maxsize=4096)
def _medium_date(value: date, locale: Locale) -> str:
    """A list page writes the same few due dates over and over: each is formatted once."""
    return format_date(value, "medium", locale=locale)


def moment(value: datetime | None) -> str:
    """Format a timestamp for the viewer's locale and timezone."""
    return "" if value is None else format_datetime(value, "short")


@pass_eval_context
def _template_gettext(eval_ctx: EvalContext, string: str, /, **variables) -> str:
    """`_()` in templates: Jinja's new-style gettext (the translation is a format string,
    autoescaped) in one call, where the i18n extension's takes three plus Flask-Babel's
    lookups (a fifth of a list page's time)."""
    translated = _current()[0].ugettext(string)
    if eval_ctx.autoescape:
        translated = Markup(translated)
    return translated % variables if variables or "%" in translated else translated


@pass_eval_context
def _template_ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **variables):
    """`ngettext()` in templates, the same way (`num` is among the variables)."""
    variables.setdefault("num", num)
    translated = _current()[0].ungettext(singular, plural, num)
    if eval_ctx.autoescape:
        translated = Markup(translated)
    return translated % variables


def _forget_locale() -> None:
    """Choose the language afresh on every request: Flask-Babel caches it in `g`, which
    outlives a request when an app context is shared by several (as in tests)."""
    if "_flask_babel" in g:
        refresh()


def _language_context() -> dict:
    """What the language menus need: the languages, named in themselves, and the current."""
    return {"languages": LANGUAGE_NAMES, "current_language": current_language()}


def init_app(app: Flask) -> None:
    """Register Babel and the template filters (the glossary's too: portal.labels)."""
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(  # over the i18n extension's (which Flask-Babel installs)
        _=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext
    )
    app.before_request(_forget_locale)
    app.context_processor(_language_context)
    labels.init_app(app)
    app.jinja_env.filters.update(
        money=money,
        number=number,
        percent=percent,
        number_input=number_input,
        day=day,
        moment=moment,
    )
