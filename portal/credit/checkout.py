"""What a checkout offers a buyer: the payment terms, and what is left of a dependent's cap.

Read-only: nothing here locks or writes. `authorize` re-checks everything under the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Holder, Invoice, PreAuthorization
from .settings import active_terms

FALLBACK_TERM = "30"  # offered when the store has no active payment term
CENT = Decimal("0.01")


def offered_terms(session: Session) -> list[str]:
    """The terms a checkout offers, in display order: the store's active ones, or `30`."""
    return [term.days for term in active_terms(session)] or [FALLBACK_TERM]


@dataclass(frozen=True)
class SpendingCap:
    """A holder's own spending cap inside the shared limit, and what their purchases use."""

    cap: Decimal
    used: Decimal

    @property
    def left(self) -> Decimal:
        """What the holder may still spend under the cap (never negative)."""
        return max(self.cap - self.used, Decimal("0.00"))


def _money(value) -> Decimal:
    # SQLite returns SUM over NUMERIC as float: go through str to keep the cents exact.
    return Decimal(str(value or 0)).quantize(CENT)


def spending_cap(session: Session, account_id: str, email: str | None) -> SpendingCap | None:
    """The cap of `email` on the account, or None when they have none (or are no holder).

    `used` counts what `authorize` counts against the cap: the holder's active holds plus
    what remains open on the invoices of the purchases they made.
    """
    email = str(email or "").strip().lower()
    if not email:
        return None
    cap = session.scalar(
        select(Holder.spending_cap).where(
            Holder.account_id == str(account_id), Holder.email == email
        )
    )
    if cap is None:
        return None
    return SpendingCap(cap=cap, used=holder_spending(session, str(account_id), email))


def holder_spending(
    session: Session, account_id: str, email: str, exclude_id: str | None = None
) -> Decimal:
    """What a holder's purchases use of the account: active holds + open invoice remainders."""
    holds = session.scalar(
        select(func.coalesce(func.sum(PreAuthorization.value), 0)).where(
            PreAuthorization.account_id == account_id,
            PreAuthorization.holder_email == email,
            PreAuthorization.status == "Authorized",
            PreAuthorization.id != (exclude_id or ""),
        )
    )
    owed = session.scalar(
        select(func.coalesce(func.sum(Invoice.value - Invoice.paid_amount), 0))
        .join(PreAuthorization, PreAuthorization.id == Invoice.transaction_id)
        .where(
            Invoice.account_id == account_id,
            Invoice.status == "Opened",
            PreAuthorization.holder_email == email,
        )
    )
    return _money(holds) + _money(owed)
