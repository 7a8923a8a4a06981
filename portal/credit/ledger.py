"""The unit of work: one locked, all-or-nothing transaction per credit operation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..database import WRITE
from ..models import Account, AuditEvent, StatementEntry
from .errors import NotFound


@contextmanager
def write_transaction(session: Session) -> Iterator[None]:
    """Run the block as one transaction; commit it, or roll everything back on error.

    Any read transaction the caller had open is ended first, so that the write starts
    from a fresh snapshot and (on SQLite) holds the write lock from its first read.
    Nested calls join the outer transaction, so composite operations stay all-or-nothing.
    """
    if session.info.get(WRITE):
        yield
        return
    session.commit()
    session.connection(execution_options={WRITE: True})
    session.info[WRITE] = True
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(WRITE, None)


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
        raise NotFound("account_not_found", f"Account {account_id} does not exist.")
    return account


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
) -> StatementEntry:
    """Append a ledger entry and move the cached balance by the same amount."""
    entry = StatementEntry(
        account_id=account.id,
        origin=origin,
        value=value,
        invoice_id=invoice.id if invoice is not None else None,
        transaction_id=transaction_id or (invoice.transaction_id if invoice else None),
        installment=invoice.installment if invoice is not None else None,
        description=description,
        done_by=actor,
    )
    session.add(entry)
    account.balance = account.balance + value
    return entry


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
            reason=reason,
            details={k: (str(v) if isinstance(v, Decimal) else v) for k, v in details.items()},
        )
    )
