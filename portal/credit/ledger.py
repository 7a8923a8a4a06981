"""The unit of work: one locked, all-or-nothing transaction per credit operation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TypeVar

from flask import has_request_context
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from ..database import WRITE
from ..models import Account, AuditEvent, StatementEntry
from .errors import NotFound
from .validation import clean_text

T = TypeVar("T")
CENT = Decimal("0.01")


@contextmanager
def write_transaction(session: Session) -> Iterator[None]:
    """Run the block as one transaction; commit it, or roll everything back on error.

    This is the one shape of every write in the portal:

    - one transaction per request-level operation: nested calls join the outer one, so a
      composite operation (an API PUT that changes e-mail, limit and tolerance; an import)
      commits whole or not at all;
    - any read transaction the caller had open is ended first (it must hold no unsaved
      change), so on SQLite the write starts with BEGIN IMMEDIATE and holds the write
      lock from its first read;
    - inside, an operation locks the account row first (`lock_account`), then re-reads
      every row it changes (`reread`): a row read before the lock may already have been
      changed by the request that held it. Lock order is always the account, then its
      holds, invoices or batches;
    - in a request, the commit at the end keeps the objects' values (what was just
      written and read under the lock): the reply is built from them without reading
      them back. The next write expires everything again when it starts
      (`_end_read_transaction` commits, which expires), so no write decides on a value
      read before its own transaction. Outside a request (CLI, jobs, tests) the commit
      expires as usual.
    """
    if session.info.get(WRITE):
        yield
        return
    _end_read_transaction(session)
    session.connection(execution_options={WRITE: True})
    session.info[WRITE] = True
    try:
        yield
        _commit_keeping_values(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(WRITE, None)


def _end_read_transaction(session: Session) -> None:
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        raise RuntimeError("changes made outside write_transaction would be committed with it")
    session.commit()


def _commit_keeping_values(session: Session) -> None:
    if not has_request_context():
        session.commit()
        return
    real = session.registry() if isinstance(session, scoped_session) else session
    real.expire_on_commit = False
    try:
        real.commit()
    finally:
        real.expire_on_commit = True


def reread(session: Session, model: type[T], key) -> T | None:
    """The row as it is now, replacing any copy the session read earlier (after the lock)."""
    return session.get(model, key, populate_existing=True)


def lock_account(session: Session, account_id: str) -> Account:
    """Load the account row locked for update (PostgreSQL), or raise NotFound.

    Every operation that reads a balance and changes it calls this first, and only once,
    so two operations on one account are serialised and locks are taken in one order.
    """
    account = session.execute(
        select(Account)
        .where(Account.id == str(account_id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if account is None:
        raise NotFound(
            "account_not_found", _("Account %(account)s does not exist.", account=account_id)
        )
    return account


AS_VALUE = object()  # an entry the API's statement reports at its own value


def post(
    session: Session,
    account: Account,
    origin: str,
    value: Decimal,
    actor: str,
    *,
    invoice=None,
    transaction_id: str | None = None,
    description: str = "",
    statement_value=AS_VALUE,
    details: dict | None = None,
) -> StatementEntry:
    """Append a ledger entry and move the cached balance by the same amount."""
    entry = StatementEntry(
        account_id=account.id,
        origin=origin,
        value=value,
        invoice_id=invoice.id if invoice is not None else None,
        transaction_id=transaction_id or (invoice.transaction_id if invoice else None),
        installment=invoice.installment if invoice is not None else None,
        description=clean_text(description, "reason", 500),
        done_by=actor,
        statement_value=value if statement_value is AS_VALUE else statement_value,
        details=details,
    )
    session.add(entry)
    account.balance = account.balance + value
    return entry


def post_limit(
    session: Session,
    account: Account,
    limit: Decimal,
    actor: str,
    *,
    description: str,
    opening: bool = False,
) -> StatementEntry | None:
    """Set the credit limit: a Credit entry of the difference, which the API's statement
    reports as Δlimit × (1 + tolerance), as VTEX does; the opening limit is not listed."""
    old = account.credit_limit
    account.credit_limit = limit
    if limit == old:
        return None
    delta = limit - old
    return post(
        session,
        account,
        "Credit",
        delta,
        actor,
        description=description,
        statement_value=None if opening else (delta * (1 + account.tolerance)).quantize(CENT),
        details={"old": str(old), "new": str(limit), "tolerance": _rate(account.tolerance)},
    )


def _rate(value: Decimal) -> str:
    return format(value.normalize(), "f")


def post_tolerance(
    session: Session, account: Account, rate: Decimal, actor: str, *, description: str
) -> StatementEntry | None:
    """Set the tolerance: a Tolerance entry of value 0 (the balance does not move), which
    the API's statement reports as a Credit of Δtolerance × limit, as VTEX does."""
    old = account.tolerance
    account.tolerance = rate
    if rate == old:
        return None
    return post(
        session,
        account,
        "Tolerance",
        Decimal("0.00"),
        actor,
        description=description,
        statement_value=((rate - old) * account.credit_limit).quantize(CENT),
        details={"old": _rate(old), "new": _rate(rate), "limit": str(account.credit_limit)},
    )


def audit(
    session: Session,
    actor: str,
    action: str,
    target,
    *,
    account_id: str | None = None,
    reason: str = "",
    **details,
) -> None:
    """Record who did what to which record."""
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            target_type=type(target).__name__,
            target_id=str(target.id),
            account_id=account_id,
            reason=clean_text(reason, "reason", 500),
            details={k: (str(v) if isinstance(v, Decimal) else v) for k, v in details.items()},
        )
    )
