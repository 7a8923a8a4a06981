"""The history of one invoice, as a timeline of moments (a shared read for staff pages).

Money moments come from the ledger (issued, paid, refunded: who and when, with the amount);
the others from the audit trail (cancelled, reopened — with their reason —, postponed,
payment link or observation changed). Oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEvent, Invoice, StatementEntry

LEDGER_KINDS = {"Invoice": "issued", "Payment": "paid", "Refund": "refunded"}
AUDIT_KINDS = {
    "invoice.cancel": "cancelled",
    "invoice.reopen": "reopened",
    "invoice.postpone": "postponed",
    "invoice.annotate": "annotated",
}


@dataclass
class Moment:
    """One thing that happened to an invoice."""

    when: datetime
    kind: str  # issued | paid | refunded | cancelled | reopened | postponed | annotated
    who: str
    amount: Decimal | None = None
    reason: str = ""
    due_date: date | None = None  # the new due date of a postponement
    changes: dict = field(default_factory=dict)  # annotated: payment_link / observation


def invoice_timeline(session: Session, invoice: Invoice) -> list[Moment]:
    """Every moment of `invoice`, oldest first (two queries)."""
    moments = [
        Moment(entry.created_at, LEDGER_KINDS[entry.origin], entry.done_by, abs(entry.value))
        for entry in session.scalars(
            select(StatementEntry)
            .where(
                StatementEntry.invoice_id == invoice.id,
                StatementEntry.origin.in_(LEDGER_KINDS),
            )
            .order_by(StatementEntry.id)
        )
    ]
    for event in session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.target_type == "Invoice",
            AuditEvent.target_id == invoice.id,
            AuditEvent.action.in_(AUDIT_KINDS),
        )
        .order_by(AuditEvent.id)
    ):
        details = event.details or {}
        due = details.get("due_date")
        moments.append(
            Moment(
                event.created_at,
                AUDIT_KINDS[event.action],
                event.actor,
                reason=event.reason,
                due_date=date.fromisoformat(due) if due else None,
                changes={k: v for k, v in details.items() if k in ("payment_link", "observation")},
            )
        )
    return sorted(moments, key=lambda m: m.when)
