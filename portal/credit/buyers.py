"""Buyers at checkout: which account pays, found by holder e-mail, or opened for them.

The e-mail is what identifies a buyer: an account pays only for a main holder or a
dependent of it. A document is public (a company's CNPJ is printed on its invoices), so
it never finds an account on its own; it only chooses among the accounts of which the
e-mail is a holder. E-mails are compared whole (lower-cased): `ana+x@…` and `a.na@…` are
other people than `ana@…`, so a capped dependent cannot pass as someone else.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Account, Holder
from .accounts import open_account
from .errors import Conflict, InvalidInput
from .settings import get_settings
from .validation import normalize_document, normalize_email

_LENGTHS = {"CPF": 11, "CNPJ": 14}


def buyer_email(raw: str | None) -> str | None:
    """The e-mail as holders are stored (trimmed, lower-cased), or None if unusable."""
    try:
        return normalize_email(raw) if raw else None
    except InvalidInput:
        return None


def buyer_document(raw: str | None, document_type: str | None) -> tuple[str, str] | None:
    """(digits, CPF|CNPJ) from a document with any punctuation, or None if unusable.

    The type is taken from `document_type` when it agrees with the number of digits,
    otherwise from the length alone (11 digits a CPF, 14 a CNPJ).
    """
    digits = re.sub(r"\D", "", str(raw or ""))
    kind = str(document_type or "").strip().upper()
    if _LENGTHS.get(kind) == len(digits):
        return digits, kind
    for candidate, length in _LENGTHS.items():
        if len(digits) == length:
            return digits, candidate
    return None


def _find(session: Session, email: str | None, document: tuple[str, str] | None):
    """The account the e-mail holds that `document` designates, else its preferred one.

    Preferred: the account of which the e-mail is the main holder, then the oldest one
    of which it is a dependent. None when the e-mail is a holder of no account.
    """
    if email is None:
        return None
    accounts = session.scalars(
        select(Account)
        .join(Holder, Holder.account_id == Account.id)
        .where(Holder.email == email)
        .order_by(Holder.level, Account.created_at, Account.id)
    ).all()
    for account in accounts:
        if document is not None and (account.document, account.document_type) == document:
            return account
    return accounts[0] if accounts else None


def find_account(
    session: Session,
    *,
    email: str | None = None,
    document: str | None = None,
    document_type: str | None = None,
) -> Account | None:
    """The account this buyer pays with, if they have one (never opens one)."""
    return _find(session, buyer_email(email), buyer_document(document, document_type))


def _document_taken(session: Session, document: tuple[str, str]) -> bool:
    return (
        session.scalar(
            select(Account.id).where(
                Account.document == document[0], Account.document_type == document[1]
            )
        )
        is not None
    )


def account_for_buyer(
    session: Session,
    *,
    email: str | None = None,
    document: str | None = None,
    document_type: str | None = None,
    name: str = "",
    actor: str,
) -> Account | None:
    """The account a checkout buyer pays with, or None.

    Only an account of which the e-mail is a holder (main or dependent) pays: the one
    whose document is the buyer's (punctuation ignored; CPF 11 digits, CNPJ 14) if the
    e-mail holds several, else the one it is the main holder of, else the oldest one it
    is a dependent of. A document alone finds nothing. When the e-mail holds no account
    and the store opens accounts automatically, a new one is opened with the store's
    default credit; that needs a valid e-mail and a valid CPF/CNPJ that has no account
    yet (a document already taken under another e-mail is not the buyer's to use).
    Safe under concurrent checkouts of the same new buyer: the loser of the race finds
    the winner's account.
    """
    address = buyer_email(email)
    doc = buyer_document(document, document_type)
    account = _find(session, address, doc)
    if account is not None or address is None or doc is None:
        return account
    settings = get_settings(session)
    if not settings.automatic_account_creation:
        return None
    if _document_taken(session, doc):
        # Not this buyer's to open, unless their own first purchase opened it just now
        # (after the look-up above): look again, the e-mail decides.
        return _find(session, address, doc)
    try:
        normalize_document(*doc)
    except InvalidInput:
        return None
    try:
        return open_account(
            session,
            document=doc[0],
            document_type=doc[1],
            email=address,
            credit_limit=settings.default_credit_value,
            name=str(name or "").strip(),
            description="Opened automatically at checkout",
            actor=actor,
        )
    except (Conflict, IntegrityError):
        session.rollback()
        return _find(session, address, doc)


def holder_email(session: Session, account_id: str, email: str | None) -> str | None:
    """The buyer's e-mail, normalised, when it is a holder of the account; else None."""
    address = buyer_email(email)
    if address is None:
        return None
    found = session.scalar(
        select(Holder.email).where(Holder.account_id == account_id, Holder.email == address)
    )
    return found
