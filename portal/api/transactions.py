"""Pre-authorizations (holds), their settlement into invoices, refunds and cancellation."""

from __future__ import annotations

from .. import credit
from ..extensions import db
from . import bp, serializers
from .auth import actor, require_scope
from .idempotency import current_key, idempotent
from .payload import body, bounded, optional_bool, optional_text, parse_date, reply

ACCOUNT = "/creditcontrol/accounts/<creditAccountId>"
TRANSACTION = f"{ACCOUNT}/transactions/<transactionId>"


def _json(hold):
    """One pre-authorization as the reply, its expiration date in the store's timezone."""
    zone = serializers.store_zone(credit.get_settings(db.session))
    return reply(serializers.pre_authorization(hold, zone))


def _authorize(account_id: str, data: dict, transaction_id: str | None = None):
    return credit.authorize(
        db.session,
        account_id,
        data.get("value"),
        actor=actor(),
        transaction_id=transaction_id,
        installments=bounded(data.get("installments"), "installments"),
        payment_term=optional_text(data, "paymentTerm"),
        settle=optional_bool(data, "settle", True),
        expiration_date=parse_date(data.get("expirationDate"), "expirationDate"),
        holder_email=optional_text(data, "holderEmail"),
        order_id=optional_text(data, "orderId"),
    )


@bp.post(f"{ACCOUNT}/transactions")
@require_scope("transactions:write")
@idempotent
def create_pre_authorization(creditAccountId):
    """Hold `value` of the account's credit for a purchase."""
    hold = _authorize(creditAccountId, body())
    return _json(hold)


@bp.put(TRANSACTION)
@require_scope("transactions:write")
def put_pre_authorization(creditAccountId, transactionId):
    """Create the hold with this id, or change the value of the existing one."""
    data = body()
    try:
        credit.get_transaction(db.session, creditAccountId, transactionId)
    except credit.NotFound:
        hold = _authorize(creditAccountId, data, transaction_id=transactionId)
    else:
        hold = credit.update_authorization(
            db.session, creditAccountId, transactionId, data.get("value"), actor=actor()
        )
    return _json(hold)


@bp.delete(TRANSACTION)
@require_scope("transactions:write")
def cancel_pre_authorization(creditAccountId, transactionId):
    """Release a hold that was not settled."""
    hold = credit.cancel_authorization(db.session, creditAccountId, transactionId, actor=actor())
    return _json(hold)


@bp.put(f"{TRANSACTION}/settlement")
@require_scope("transactions:write")
def settle(creditAccountId, transactionId):
    """Bill the purchase: one invoice per installment (again with another value adjusts)."""
    data = body()
    hold = credit.settle(
        db.session, creditAccountId, transactionId, data.get("value"), actor=actor()
    )
    return reply(serializers.settlement(hold))


@bp.post(f"{TRANSACTION}/refunds")
@require_scope("transactions:write")
@idempotent
def refund(creditAccountId, transactionId):
    """Give back part or all of a settled purchase; the Idempotency-Key names the refund."""
    data = body()
    record = credit.refund(
        db.session,
        creditAccountId,
        transactionId,
        data.get("value"),
        actor=actor(),
        refund_id=current_key(),
    )
    return reply(serializers.refund(record))
