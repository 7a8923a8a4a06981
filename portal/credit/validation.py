"""Checks of identity input: documents with their check digits, e-mail addresses."""

import re

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from validate_docbr import CNPJ, CPF

from .errors import InvalidInput

DOCUMENT_TYPES = ("CPF", "CNPJ", "Other")
_OTHER_DOCUMENT = re.compile(r"^[A-Za-z0-9.\-]{1,40}$")  # no "/": it is part of the account id
# Plain ASCII addresses that email_validator certainly accepts; anything else goes to it.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(
    rf"^(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$"
)
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")


def normalize_document(document: str, document_type: str) -> tuple[str, str]:
    """Return (digits-only document, canonical type), or raise with a clear code."""
    kind = {t.lower(): t for t in DOCUMENT_TYPES}.get(str(document_type or "").strip().lower())
    if kind is None:
        raise InvalidInput(
            "invalid_document_type",
            _("Document type must be CPF, CNPJ or Other."),
            "document_type",
        )
    raw = str(document or "").strip()
    if kind == "Other":
        if not _OTHER_DOCUMENT.match(raw):
            raise InvalidInput(
                "invalid_document",
                _("Document must be 1–40 letters, digits, dots or dashes."),
                "document",
            )
        return raw.upper(), kind
    digits = re.sub(r"[.\-/\s]", "", raw)
    checker = CPF() if kind == "CPF" else CNPJ()
    if not digits.isdigit() or not checker.validate(digits):
        raise InvalidInput(
            "invalid_document",
            _("%(value)s is not a valid %(kind)s.", value=raw or _("(empty)"), kind=kind),
            "document",
        )
    return digits, kind


def normalize_email(email: str, field: str = "email") -> str:
    """Return the address lower-cased, or raise `invalid_email`."""
    raw = str(email or "").strip()
    if (
        len(raw) <= 254
        and _PLAIN_EMAIL.match(raw)
        and raw.rsplit(".", 1)[-1].lower() not in _SPECIAL_USE
    ):
        return raw.lower()
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(
            "invalid_email",
            _("%(value)s is not a valid e-mail.", value=raw or _("(empty)")),
            field,
        ) from None
    return result.normalized.lower()


def require_text(
    value: str | None, field: str, code: str = "reason_required", max_length: int = 500
) -> str:
    """Return the stripped text, or raise when it is empty or too long."""
    text = clean_text(value, field, max_length)
    if not text:
        raise InvalidInput(code, _("A %(field)s is required.", field=field), field)
    return text


def clean_text(value: str | None, field: str, max_length: int, *, strip: bool = True) -> str:
    """The text as typed (stripped), refused when longer than its column; never cut."""
    text = str(value or "")
    text = text.strip() if strip else text
    if len(text) > max_length:
        raise InvalidInput(
            "too_long",
            _(
                "%(field)s is longer than %(max)s characters (%(length)s).",
                field=field,
                max=max_length,
                length=len(text),
            ),
            field,
        )
    return text
