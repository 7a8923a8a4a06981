"""The protocol's operations: authenticate, parse, call one adapter function, reply."""

from __future__ import annotations

from flask import g

from ..extensions import db
from . import bp, protocol
from .auth import require_key
from .payload import body, reply


@bp.get("/manifest")
def manifest():
    """The provider manifest: its payment method (public, as the protocol says)."""
    return reply(protocol.manifest())


@bp.post("/payments")
@require_key
def create_payment():
    """Approve or deny a payment on the buyer's credit account."""
    return reply(protocol.create_payment(db.session, body(), actor=g.actor))


@bp.post("/payments/<payment_id>/settlements")
@require_key
def settle_payment(payment_id: str):
    """Settle an approved payment into invoices."""
    return reply(protocol.settle_payment(db.session, payment_id, body(), actor=g.actor))


@bp.post("/payments/<payment_id>/cancellations")
@require_key
def cancel_payment(payment_id: str):
    """Cancel a payment that is not settled."""
    return reply(protocol.cancel_payment(db.session, payment_id, body(), actor=g.actor))


@bp.post("/payments/<payment_id>/refunds")
@require_key
def refund_payment(payment_id: str):
    """Refund part or all of a settled payment."""
    return reply(protocol.refund_payment(db.session, payment_id, body(), actor=g.actor))
