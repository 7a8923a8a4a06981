"""The store's identity as the owner sets it: names, CNPJ, address, support contacts.

Shown on My Credits, checkout, the login page, e-mails and printed documents
(`portal/identity.py` reads it). Only the rules live here; `settings.update_settings`
applies them with every other setting. Each may be empty (the trade name then gives way
to the product's name); each refusal names its field by its label.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from validate_docbr import CNPJ

from .errors import InvalidInput
from .validation import normalize_email

MAX_TRADE_NAME = 120
MAX_LEGAL_NAME = 200
MAX_ADDRESS = 500
MAX_PHONE = 40
_DOCUMENT_PUNCTUATION = re.compile(r"[\s./-]")
_PHONE = re.compile(r"[0-9 +()-]*[0-9][0-9 +()-]*", re.ASCII)  # at least one digit
_LINE_BREAKS = re.compile(r"\r\n?")


def _refuse(name: str, message: str) -> InvalidInput:
    return InvalidInput("invalid_setting", message, name)


def _too_long(name: str, label: str, text: str, most: int) -> InvalidInput:
    return _refuse(
        name,
        _(
            "%(label)s: at most %(max)d characters (this one has %(num)d).",
            label=label,
            max=most,
            num=len(text),
        ),
    )


def _line(raw, name: str, label: str, most: int) -> str:
    text = " ".join(str(raw or "").split())  # one line, single spaces
    if len(text) > most:
        raise _too_long(name, label, text, most)
    return text


def clean_trade_name(raw, name: str = "trade_name") -> str:
    """The name customers know the store by ("" for the product's name)."""
    return _line(raw, name, _("Trade name"), MAX_TRADE_NAME)


def clean_legal_name(raw, name: str = "legal_name") -> str:
    """The store's registered company name ("" for none)."""
    return _line(raw, name, _("Legal name"), MAX_LEGAL_NAME)


def clean_tax_id(raw, name: str = "tax_id") -> str:
    """A CNPJ with or without its punctuation, kept as its 14 digits ("" for none)."""
    text = str(raw or "").strip()
    if not text:
        return ""
    digits = _DOCUMENT_PUNCTUATION.sub("", text)
    if not (digits.isascii() and digits.isdigit() and CNPJ().validate(digits)):
        raise _refuse(
            name,
            _(
                "%(label)s: %(value)s is not a valid CNPJ; type its 14 digits, with or "
                "without punctuation (e.g. 11.222.333/0001-81).",
                label=_("CNPJ"),
                value=text[:40],
            ),
        )
    return digits


def format_cnpj(digits: str) -> str:
    """A CNPJ's 14 digits as people write them: 11.222.333/0001-81 (others as they are)."""
    d = str(digits or "")
    if len(d) != 14:
        return d
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"


def clean_address(raw, name: str = "address") -> str:
    """The store's address as typed, its lines kept ("" for none)."""
    lines = _LINE_BREAKS.sub("\n", str(raw or "")).split("\n")
    text = "\n".join(" ".join(line.split()) for line in lines).strip()
    if len(text) > MAX_ADDRESS:
        raise _too_long(name, _("Address"), text, MAX_ADDRESS)
    return text


def clean_support_email(raw, name: str = "support_email") -> str:
    """The address customers write to for help, lower-cased ("" for none)."""
    text = str(raw or "").strip()
    if not text:
        return ""
    try:
        return normalize_email(text, name)
    except InvalidInput:
        raise _refuse(
            name,
            _(
                "%(label)s: %(value)s is not a valid e-mail address.",
                label=_("Support e-mail"),
                value=text[:254],
            ),
        ) from None


def clean_support_phone(raw, name: str = "support_phone") -> str:
    """The number customers call for help, as typed: digits, spaces, +, - and
    parentheses ("" for none)."""
    text = " ".join(str(raw or "").split())
    if not text:
        return ""
    label = _("Support phone")
    if len(text) > MAX_PHONE:
        raise _too_long(name, label, text, MAX_PHONE)
    if not _PHONE.fullmatch(text):
        raise _refuse(
            name,
            _(
                "%(label)s: use digits, spaces, +, - and parentheses only (e.g. +55 11 4000-1234).",
                label=label,
            ),
        )
    return text


# The kind of each identity setting (credit.settings.SETTING_FIELDS) and its rule.
RULES = {
    "trade_name": clean_trade_name,
    "legal_name": clean_legal_name,
    "tax_id": clean_tax_id,
    "address": clean_address,
    "support_email": clean_support_email,
    "support_phone": clean_support_phone,
}
