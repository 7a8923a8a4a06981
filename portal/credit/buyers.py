"""Buyers at checkout: which account pays, found by e-mail or document, or opened for them."""

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


def _email(raw: str | None) -> str | None:
    try:
        return normalize_email(raw) if raw else None
    except InvalidInput:
        return None


def _document(raw: str | None, document_type: str | None) -> tuple[str, str] | None:
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
    if email is not None:
        rows = session.execute(
            select(Holder.level, Account)
            .join(Account, Account.id == Holder.account_id)
            .where(Holder.email == email)
            .order_by(Holder.level, Account.created_at, Account.id)
        ).all()
        if rows and rows[0][0] == 1:
            return rows[0][1]
        for _level, account in rows:  # a dependent of several accounts: the document decides
            if document is not None and (account.document, account.document_type) == document:
                return account
        if rows:
            return rows[0][1]
    if document is not None:
        return session.scalar(
            select(Account).where(
                Account.document == document[0], Account.document_type == document[1]
            )
        )
    return None


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

    Looked up in this order: the account whose main holder is the e-mail, an account
    where the e-mail is a dependent (the one matching the document if several), the
    account of the document (punctuation ignored; CPF 11 digits, CNPJ 14). When none
    matches and the store opens accounts automatically, a new one is opened with the
    store's default credit, which needs a valid e-mail and a valid CPF/CNPJ; without
    them, None. Safe under concurrent checkouts of the same new buyer: the loser of the
    race finds the winner's account.
    """
    address = _email(email)
    doc = _document(document, document_type)
    account = _find(session, address, doc)
    if account is not None or address is None or doc is None:
        return account
    settings = get_settings(session)
    if not settings.automatic_account_creation:
        return None
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
    address = _email(email)
    if address is None:
        return None
    found = session.scalar(
        select(Holder.email).where(Holder.account_id == account_id, Holder.email == address)
    )
    return found
