"""Store settings and payment terms: read by every rule, changed by the owner."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

import holidays
from flask import has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import PaymentTerm, StoreSettings, utcnow
from .errors import InvalidInput, NotFound
from .ledger import audit, write_transaction
from .money import parse_non_negative, parse_rate, parse_whole
from .payment_details import clean_bank_details, clean_link_template, clean_pix_key
from .store_identity import RULES as IDENTITY_RULES

_TERM = re.compile(r"^\d{1,3}(/\d{1,3}){0,23}$")
DEFAULT_TERMS = ("30", "30/60", "30/60/90")


_SNAPSHOT = "portal.store_settings"


def get_settings(session: Session) -> StoreSettings:
    """The store's settings (defaults until the owner saves some), read once per request.

    In a request the row is read on first use and kept on the request, detached from the
    session (its logo's bytes never loaded): every later rule of the request reads it
    again for free, and no commit expires it (an authorization used to read the row four
    times). Changing settings forgets it (`settings_row`). Outside a request (CLI, jobs
    worker, tests) each call reads the row as the session has it.
    """
    cache = request.environ if has_request_context() else None
    if cache is not None and _SNAPSHOT in cache:
        return cache[_SNAPSHOT]
    settings = session.get(StoreSettings, 1)
    if settings is None:
        settings = StoreSettings(id=1, **_defaults())
    elif cache is None or session.is_modified(settings):
        return settings  # being changed in this transaction: the row itself, not kept
    else:
        session.expunge(settings)
    if cache is not None:
        cache[_SNAPSHOT] = settings
    return settings


def forget_settings() -> None:
    """Drop the request's copy of the settings (they are being changed)."""
    if has_request_context():
        request.environ.pop(_SNAPSHOT, None)


@contextmanager
def settings_row(session: Session) -> Iterator[StoreSettings]:
    """Change the settings row in one write transaction (made with the defaults when
    there is none yet); the request's copy is forgotten before and after."""
    forget_settings()
    try:
        with write_transaction(session):
            settings = session.get(StoreSettings, 1)
            if settings is None:
                settings = StoreSettings(id=1, **_defaults())
                session.add(settings)
            yield settings
    finally:
        forget_settings()


def _defaults() -> dict:
    return {
        column.name: (
            column.default.arg(None) if callable(column.default.arg) else column.default.arg
        )
        for column in StoreSettings.__table__.columns
        if column.default is not None and column.name not in ("id", "updated_at")
    }


def store_today(settings: StoreSettings) -> date:
    """Today's date in the store's timezone (what 'overdue' is measured against)."""
    return utcnow().astimezone(ZoneInfo(settings.timezone)).date()


def add_business_days(start: date, days: int, country: str) -> date:
    """The date `days` business days after `start`, skipping weekends and holidays."""
    calendar = holidays.country_holidays(country, years=range(start.year, start.year + 2))
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in calendar:
            days -= 1
    return current


SETTING_FIELDS = {
    "currency": str,
    "locale": str,
    "timezone": str,
    "holiday_country": str,
    "tolerance_enabled": bool,
    "settle_after_business_days": int,
    "postponement_enabled": bool,
    "postponement_limit": int,
    "max_postponement_days": int,
    "daily_interest_rate": "rate",
    "late_fee_rate": "rate",
    "max_pre_authorization_growth_rate": "rate",
    "automatic_account_creation": bool,
    "default_credit_value": "money",
    "my_credits_enabled": bool,
    "overdue_hold_days": int,
    "payment_instructions": str,
    "payment_link_template": "link_template",
    "bank_details": "bank_details",
    "pix_key": "pix_key",
    # the store's identity (portal/credit/store_identity.py): each its own rule
    **{name: name for name in IDENTITY_RULES},
    "reminder_rules": "rules",
}
# Settings checked by their own rule (portal/credit/payment_details.py, store_identity.py).
_OWN_RULES = {
    "link_template": clean_link_template,
    "bank_details": clean_bank_details,
    "pix_key": clean_pix_key,
    **IDENTITY_RULES,
}

REMINDER_WHEN = ("before", "after")
MAX_REMINDER_RULES = 10
MAX_REMINDER_DAYS = 365
_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]", re.ASCII)


def _clean(name: str, kind, raw):
    if kind == "rate":
        return parse_rate(raw, name)
    if kind == "money":
        return parse_non_negative(raw, name)
    if kind is bool:
        if not isinstance(raw, bool):
            raise InvalidInput(
                "invalid_setting", _("%(field)s must be true or false.", field=name), name
            )
        return raw
    if kind is int:
        return parse_whole(raw, name, 0, 3650, "invalid_setting")
    if kind == "rules":
        return clean_reminder_rules(raw, name)
    if kind in _OWN_RULES:
        return _OWN_RULES[kind](raw, name)
    return _clean_text(name, str(raw or "").strip())


def clean_reminder_rules(raw, name: str = "reminder_rules") -> list[dict]:
    """Reminder rules as the store keeps them, or InvalidInput (nothing half-taken).

    Each rule is {"when": "before" | "after", "days": 0–365, "time": "HH:MM"} (the time of
    day in the store's timezone); one rule per when and days, at most MAX_REMINDER_RULES.
    Kept in one order: before (latest first), then after (earliest first).
    """

    def refuse(message: str, key: str = "") -> InvalidInput:
        return InvalidInput("invalid_setting", message, f"{name}.{key}" if key else name)

    if not isinstance(raw, list | tuple):
        raise refuse(_("Reminder rules must be a list of {when, days, time}."))
    if len(raw) > MAX_REMINDER_RULES:
        raise refuse(_("At most %(max)s reminder rules.", max=MAX_REMINDER_RULES))
    rules, seen = [], set()
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"when", "days", "time"}:
            raise refuse(_("Each reminder rule is {when, days, time}."))
        when, days, time = item.get("when"), item.get("days"), item.get("time")
        if when not in REMINDER_WHEN:
            raise refuse(
                _(
                    "%(when)s is not a reminder rule: before or after the due date.",
                    when=repr(when),
                ),
                "when",
            )
        if isinstance(days, bool) or not isinstance(days, int):
            raise refuse(_("Reminder days must be whole numbers."), "days")
        if not 0 <= days <= MAX_REMINDER_DAYS:
            raise refuse(_("Reminder days must be 0–%(max)s.", max=MAX_REMINDER_DAYS), "days")
        if not isinstance(time, str) or not _TIME.fullmatch(time):
            raise refuse(
                _(
                    "%(time)s is not a time of day (HH:MM, e.g. 09:30).",
                    time=time or _("(empty)"),
                ),
                "time",
            )
        if (when, days) in seen:
            raise refuse(
                _("Two reminder rules for day %(days)s before the due date: keep one.", days=days)
                if when == "before"
                else _(
                    "Two reminder rules for day %(days)s after the due date: keep one.", days=days
                )
            )
        seen.add((when, days))
        rules.append({"when": when, "days": days, "time": time})
    return sorted(rules, key=rule_order)


def rule_order(rule: dict) -> tuple:
    """The order reminder rules are kept and shown: before (latest first), then after."""
    return (0, -rule["days"]) if rule["when"] == "before" else (1, rule["days"])


def _clean_text(name: str, value: str) -> str:
    checks = {
        "currency": lambda v: re.fullmatch(r"[A-Z]{3}", v),
        "locale": lambda v: re.fullmatch(r"[a-z]{2}(_[A-Z]{2})?", v),
        "timezone": lambda v: v in available_timezones(),
        "holiday_country": lambda v: v in holidays.list_supported_countries(),
    }
    if name in checks and not checks[name](value):
        raise InvalidInput(
            "invalid_setting",
            _("%(value)s is not a valid %(name)s.", value=value or _("(empty)"), name=name),
            name,
        )
    return value[:2000]


def _clean_all(changes: dict) -> tuple[dict, dict[str, InvalidInput]]:
    """Every setting cleaned, and the refusal of each one refused (all, not the first)."""
    unknown = set(changes) - set(SETTING_FIELDS)
    if unknown:
        raise InvalidInput(
            "unknown_setting",
            _("Unknown setting: %(names)s.", names=", ".join(sorted(unknown))),
        )
    cleaned, refused = {}, {}
    for name, raw in changes.items():
        try:
            cleaned[name] = _clean(name, SETTING_FIELDS[name], raw)
        except InvalidInput as error:
            refused[name] = error
    return cleaned, refused


def setting_errors(changes: dict) -> dict[str, str]:
    """The message of every setting in `changes` that `update_settings` would refuse, by
    setting name (a form shows them all at once); {} when it would take them all."""
    return {name: error.message for name, error in _clean_all(changes)[1].items()}


def update_settings(session: Session, changes: dict, actor: str) -> StoreSettings:
    """Validate and save store settings; unknown names are refused, nothing half-saved."""
    cleaned, refused = _clean_all(changes)
    if refused:
        raise next(iter(refused.values()))
    with settings_row(session) as settings:
        before = {k: getattr(settings, k) for k in cleaned}
        for name, value in cleaned.items():
            setattr(settings, name, value)
        changed = {
            k: v if isinstance(v, list) else str(v) for k, v in cleaned.items() if before[k] != v
        }
        if changed:
            audit(session, actor, "settings.update", settings, **changed)
    return settings


def parse_term(days: str) -> str:
    """Normalise a term like ' 30 / 60/90 ' to '30/60/90', due days strictly increasing."""
    text = re.sub(r"\s+", "", str(days or ""))
    if not _TERM.match(text):
        raise InvalidInput(
            "invalid_payment_term",
            _("A term is days separated by '/', e.g. 30/60/90."),
            "days",
        )
    offsets = [int(p) for p in text.split("/")]
    if any(b <= a for a, b in pairwise(offsets)):
        raise InvalidInput("invalid_payment_term", _("Due days must increase: 30/60/90."), "days")
    return "/".join(str(o) for o in offsets)


def active_terms(session: Session) -> list[PaymentTerm]:
    """The payment terms offered at checkout, in display order."""
    return list(
        session.scalars(
            select(PaymentTerm)
            .where(PaymentTerm.active)
            .order_by(PaymentTerm.position, PaymentTerm.id)
        )
    )


def save_term(
    session: Session, days: str, actor: str, *, interest_rate="0", term_id: int | None = None
) -> PaymentTerm:
    """Create or change a payment term."""
    text = parse_term(days)
    rate = parse_rate(interest_rate, "interest_rate")
    with write_transaction(session):
        existing = session.scalar(select(PaymentTerm).where(PaymentTerm.days == text))
        term = session.get(PaymentTerm, term_id) if term_id else existing
        if term_id and term is None:
            raise NotFound(
                "payment_term_not_found",
                _("Payment term %(term)s does not exist.", term=term_id),
            )
        if existing is not None and term is not None and existing.id != term.id:
            raise InvalidInput(
                "duplicate_payment_term", _("Term %(term)s already exists.", term=text), "days"
            )
        if term is None:
            position = len(active_terms(session))
            term = PaymentTerm(days=text, position=position)
            session.add(term)
        term.days, term.interest_rate, term.active = text, rate, True
        session.flush()
        audit(session, actor, "payment_term.save", term, days=text, interest_rate=rate)
    return term


def remove_term(session: Session, term_id: int, actor: str) -> None:
    """Stop offering a payment term (past purchases keep their own copy of it)."""
    with write_transaction(session):
        term = session.get(PaymentTerm, term_id)
        if term is None:
            raise NotFound(
                "payment_term_not_found",
                _("Payment term %(term)s does not exist.", term=term_id),
            )
        term.active = False
        audit(session, actor, "payment_term.remove", term, days=term.days)
