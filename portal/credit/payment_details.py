"""How customers pay, as the store sets it: a payment link template, bank details, a Pix key.

The template is an https:// address with placeholders (`{friendlyId}`, `{amountDue}` …)
that `portal/paylinks.py` fills for each open invoice. Only the rules live here: what a
template, bank details and a Pix key may be. Each refusal names the field by its label.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import gettext as _
from validate_docbr import CNPJ, CPF

from .errors import InvalidInput
from .validation import normalize_email

# The placeholders a template may hold, in the order the settings page lists them.
PLACEHOLDERS = (
    "friendlyId",
    "invoiceId",
    "accountId",
    "orderId",
    "installment",
    "amountDue",
    "value",
    "dueDate",
    "currency",
)
MAX_TEMPLATE = 500
MAX_BANK_DETAILS = 1000
MAX_PIX_KEY = 140
_PIECES = re.compile(r"(\{[^{}]*\})")  # text, {placeholder}, text, …
_NOT_IN_LINK = re.compile(r"[\s\x00-\x1f\x7f\"<>\\]")
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*", re.I)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_PHONE = re.compile(r"\+55[1-9][0-9][0-9]{8,9}", re.ASCII)  # +55, area code, 8–9 digits
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")
_DOCUMENT_PUNCTUATION = re.compile(r"[\s./-]")


def template_pieces(template: str) -> list[tuple[str, bool]]:
    """The template as (text, is_placeholder) pieces; a placeholder without its braces.

    Assumes a template `clean_link_template` accepted.
    """
    return [
        (piece[1:-1], True) if n % 2 else (piece, False)
        for n, piece in enumerate(_PIECES.split(template))
        if piece
    ]


def _refuse(name: str, message: str) -> InvalidInput:
    return InvalidInput("invalid_setting", message, name)


def clean_link_template(raw, name: str = "payment_link_template") -> str:
    """A payment link template as the store keeps it ("" for none), or InvalidInput.

    https only, a host of its own (no placeholder in it), known placeholders with
    balanced braces, at most MAX_TEMPLATE characters.
    """
    template = str(raw or "").strip()
    if not template:
        return ""
    label = _("Payment link template")
    if len(template) > MAX_TEMPLATE:
        raise _refuse(
            name,
            _(
                "%(label)s: at most %(max)d characters (this one has %(num)d).",
                label=label,
                max=MAX_TEMPLATE,
                num=len(template),
            ),
        )
    pieces = _PIECES.split(template)
    for text in pieces[::2]:
        brace = "{" if "{" in text else "}" if "}" in text else None
        if brace:
            raise _refuse(
                name,
                _(
                    "%(label)s: a “%(brace)s” has no partner; write placeholders as {friendlyId}.",
                    label=label,
                    brace=brace,
                ),
            )
    for placeholder in pieces[1::2]:
        if placeholder[1:-1] not in PLACEHOLDERS:
            raise _refuse(
                name,
                _(
                    "%(label)s: %(placeholder)s is not a placeholder; use %(known)s.",
                    label=label,
                    placeholder=placeholder,
                    known=", ".join(f"{{{p}}}" for p in PLACEHOLDERS),
                ),
            )
    _check_address(template, name, label)
    return template


def _check_address(template: str, name: str, label) -> None:
    """An https:// address with a host, placeholders only after the host."""
    bad = _NOT_IN_LINK.search(template)
    if bad:
        char = bad.group()
        shown = _("spaces or line breaks") if char.isspace() else f"“{char}”"
        raise _refuse(name, _("%(label)s: a link cannot hold %(what)s.", label=label, what=shown))
    scheme, _sep, rest = template.partition("://")
    if scheme.lower() != "https" or not _sep:
        raise _refuse(
            name,
            _(
                "%(label)s: use a secure address starting with https:// "
                "(e.g. https://pay.example.com/{friendlyId}).",
                label=label,
            ),
        )
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "{" in authority:
        raise _refuse(
            name,
            _(
                "%(label)s: placeholders go in the path or the query, not in the host.",
                label=label,
            ),
        )
    try:
        parts = urlsplit(template)
        host, _port = parts.hostname, parts.port
    except ValueError:
        host = None
    if not host or not _HOST.fullmatch(host):
        raise _refuse(
            name,
            _(
                "%(label)s: %(link)s is not a web address with a host "
                "(e.g. https://pay.example.com/{friendlyId}).",
                label=label,
                link=template,
            ),
        )


def clean_bank_details(raw, name: str = "bank_details") -> str:
    """Bank details as typed (stripped), at most MAX_BANK_DETAILS characters."""
    text = str(raw or "").strip()
    if len(text) > MAX_BANK_DETAILS:
        raise _refuse(
            name,
            _(
                "%(label)s: at most %(max)d characters (these have %(num)d).",
                label=_("Bank details"),
                max=MAX_BANK_DETAILS,
                num=len(text),
            ),
        )
    return text


def clean_pix_key(raw, name: str = "pix_key") -> str:
    """A Pix key as payers type it ("" for none), or InvalidInput for one that cannot be.

    Loose, but not blind: a CPF or CNPJ (kept as digits, check digits right), an e-mail, a
    phone as +55 with its area code (kept as +55 and digits), or a random key (a UUID).
    """
    text = str(raw or "").strip()
    if not text:
        return ""
    label = _("Pix key")
    if len(text) > MAX_PIX_KEY:
        raise _refuse(
            name, _("%(label)s: at most %(max)d characters.", label=label, max=MAX_PIX_KEY)
        )
    if _UUID.fullmatch(text):
        return text.lower()
    if "@" in text:
        try:
            return normalize_email(text, name)
        except InvalidInput:
            raise _refuse(
                name, _("%(label)s: %(key)s is not a valid e-mail.", label=label, key=text)
            ) from None
    if text.startswith("+"):
        phone = _PHONE_PUNCTUATION.sub("", text)
        if _PHONE.fullmatch(phone):
            return phone
        raise _refuse(
            name,
            _(
                "%(label)s: %(key)s is not a Brazilian phone number; write +55, the area "
                "code and the number (e.g. +55 11 91234-5678).",
                label=label,
                key=text,
            ),
        )
    digits = _DOCUMENT_PUNCTUATION.sub("", text)
    if digits.isdigit() and len(digits) in (11, 14):
        checker, kind = (CPF(), "CPF") if len(digits) == 11 else (CNPJ(), "CNPJ")
        if checker.validate(digits):
            return digits
        raise _refuse(
            name,
            _(
                "%(label)s: %(key)s is not a valid %(kind)s (check digits); a phone key "
                "starts with +55.",
                label=label,
                key=text,
                kind=kind,
            ),
        )
    raise _refuse(
        name,
        _(
            "%(label)s: %(key)s is not a Pix key. Use a CPF or CNPJ, an e-mail, a phone "
            "number as +55 and the number, or a random key "
            "(e.g. 123e4567-e89b-12d3-a456-426614174000).",
            label=label,
            key=text,
        ),
    )
