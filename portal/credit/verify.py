"""The ledger's invariants, checked over the whole database (`flask credit verify`)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ..models import Account, Invoice, PreAuthorization, StatementEntry, invoice_rollups

ZERO = Decimal("0.00")


def _d(value) -> Decimal:
    """A SQL sum as an exact Decimal (SQLite sums NUMERIC as binary floats)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def find_breaches(session: Session) -> list[str]:
    """Every invariant breach in the database, one sentence each; empty when all hold."""
    return [
        *_balances(session),
        *_limits(session),
        *_holds(session),
        *_invoices(session),
        *_settlements(session),
        *_rollups(session),
    ]


def _balances(session: Session) -> list[str]:
    sums = (
        select(StatementEntry.account_id, func.sum(StatementEntry.value).label("total"))
        .group_by(StatementEntry.account_id)
        .subquery()
    )
    rows = session.execute(
        select(Account.id, Account.balance, func.coalesce(sums.c.total, 0)).outerjoin(
            sums, sums.c.account_id == Account.id
        )
    )
    return [
        f"account {aid}: cached balance {bal} != sum of entries {_d(total)}"
        for aid, bal, total in rows
        if bal != _d(total)
    ]


def _limits(session: Session) -> list[str]:
    """The Credit entries of an account add up to its credit limit."""
    sums = (
        select(StatementEntry.account_id, func.sum(StatementEntry.value).label("total"))
        .where(StatementEntry.origin == "Credit")
        .group_by(StatementEntry.account_id)
        .subquery()
    )
    rows = session.execute(
        select(Account.id, Account.credit_limit, func.coalesce(sums.c.total, 0)).outerjoin(
            sums, sums.c.account_id == Account.id
        )
    )
    return [
        f"account {aid}: credit limit {limit} != sum of Credit entries {_d(total)}"
        for aid, limit, total in rows
        if limit != _d(total)
    ]


def _holds(session: Session) -> list[str]:
    sums = (
        select(PreAuthorization.account_id, func.sum(PreAuthorization.value).label("held"))
        .where(PreAuthorization.status == "Authorized")
        .group_by(PreAuthorization.account_id)
        .subquery()
    )
    rows = session.execute(
        select(Account.id, Account.pre_authorized, func.coalesce(sums.c.held, 0)).outerjoin(
            sums, sums.c.account_id == Account.id
        )
    )
    breaches = [
        f"account {aid}: cached holds {held} != sum of active holds {_d(total)}"
        for aid, held, total in rows
        if held != _d(total)
    ]
    over = session.execute(
        select(
            PreAuthorization.id, PreAuthorization.value, PreAuthorization.available_at_approval
        ).where(PreAuthorization.value > PreAuthorization.available_at_approval)
    )
    breaches += [
        f"transaction {tid}: approved {value} with only {available} available"
        for tid, value, available in over
    ]
    return breaches


def _invoices(session: Session) -> list[str]:
    sums = (
        select(StatementEntry.invoice_id, func.sum(StatementEntry.value).label("total"))
        .where(StatementEntry.invoice_id.is_not(None))
        .group_by(StatementEntry.invoice_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Invoice.id,
            Invoice.status,
            Invoice.value,
            Invoice.paid_amount,
            func.coalesce(sums.c.total, 0),
        ).outerjoin(sums, sums.c.invoice_id == Invoice.id)
    )
    breaches = []
    for iid, status, value, paid, total in rows:
        expected = -(value - paid) if status == "Opened" else ZERO
        if _d(total) != expected:
            breaches.append(
                f"invoice {iid} ({status}): entries sum to {_d(total)}, expected {expected:.2f}"
            )
        if status == "Paid" and paid != value:
            breaches.append(f"invoice {iid}: Paid but only {paid} of {value} paid")
    return breaches


def _settlements(session: Session) -> list[str]:
    invoiced = (
        select(Invoice.transaction_id, func.sum(Invoice.value).label("total"))
        .group_by(Invoice.transaction_id)
        .subquery()
    )
    credited = (
        select(StatementEntry.transaction_id, func.sum(StatementEntry.value).label("total"))
        .where(and_(StatementEntry.origin == "Refund", StatementEntry.invoice_id.is_(None)))
        .group_by(StatementEntry.transaction_id)
        .subquery()
    )
    rows = session.execute(
        select(
            PreAuthorization.id,
            PreAuthorization.settled_value,
            PreAuthorization.refunded_value,
            func.coalesce(invoiced.c.total, 0),
            func.coalesce(credited.c.total, 0),
        )
        .outerjoin(invoiced, invoiced.c.transaction_id == PreAuthorization.id)
        .outerjoin(credited, credited.c.transaction_id == PreAuthorization.id)
        .where(PreAuthorization.status == "Settled")
    )
    return [
        f"transaction {tid}: invoices {_d(inv)} - credited back {_d(cred)} "
        f"!= settled {settled} - refunded {refunded}"
        for tid, settled, refunded, inv, cred in rows
        if _d(inv) - _d(cred) != settled - refunded
    ]


def _rollups(session: Session) -> list[str]:
    """Each account's invoice rollups (models: invoice_rollups) add up its invoices: per
    status, how many, their value and their paid amount."""
    actual = {}
    for row in session.execute(
        select(
            Invoice.account_id,
            Invoice.status,
            func.count(),
            func.sum(Invoice.value),
            func.sum(Invoice.paid_amount),
        ).group_by(Invoice.account_id, Invoice.status)
    ):
        actual[row[0], row[1].lower()] = tuple(row[2:])
    kept = {}
    for row in session.execute(select(invoice_rollups)).mappings():
        for status in ("opened", "paid", "cancelled"):
            figures = tuple(row[f"{status}_{figure}"] for figure in ("count", "value", "paid"))
            kept[row["account_id"], status] = figures
    nothing = (0, ZERO, ZERO)
    return [
        f"account {key[0]}, {key[1]} invoices: rollup (count, value, paid) "
        f"{kept.get(key, nothing)} != {actual.get(key, nothing)}"
        for key in sorted(actual.keys() | kept.keys())
        if kept.get(key, nothing) != actual.get(key, nothing)
    ]
