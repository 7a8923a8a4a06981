"""The protocol adapter: Payment Provider Protocol requests in, credit engine calls, replies out.

A payment is a pre-authorization whose transaction id is the checkout's paymentId, so
the engine's unique id makes create-payment idempotent; settlements are kept per
requestId (idempotency.py); refunds use the requestId as the engine's refund id. Every
rule (who may buy, how much, what a settlement issues) stays in portal/credit.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from .. import credit
from ..credit.buyers import holder_email
from ..credit.errors import Conflict, InvalidInput, NotFound
from ..credit.money import parse_amount
from ..credit.settings import add_business_days
from ..models import PreAuthorization, StoreSettings, utcnow
from . import idempotency
from .payload import obj, storable, text

PAYMENT_METHOD = "Promissories"  # the protocol's generic method for credit on account
MAX_AUTO_SETTLE = 7 * 24 * 3600  # the protocol's ceiling for delayToAutoSettle
DELAY_TO_CANCEL = 24 * 3600  # unused for synchronous answers, but required and ≥ 600
MAX_ID = 64
MAX_REQUEST_ID = 80  # the engine keeps refund ids of up to 80 characters
SETTLEMENTS = "ppp:settlements"


def manifest() -> dict:
    """What the provider offers: credit on account, no split of payments."""
    return {"paymentMethods": [{"name": PAYMENT_METHOD, "allowsSplit": "disabled"}]}


def auto_settle_delay(settings: StoreSettings, since: datetime) -> int:
    """Seconds from `since` until the store settles automatically (its business days)."""
    start = since.astimezone(ZoneInfo(settings.timezone)).date()
    ready = add_business_days(start, settings.settle_after_business_days, settings.holiday_country)
    return min((ready - start).days * 86400, MAX_AUTO_SETTLE)


def _answer(session: Session, payment_id: str, since: datetime, status: str, **fields) -> dict:
    """The create-payment answer; `fields` are authorizationId, nsu, code and message."""
    delay = auto_settle_delay(credit.get_settings(session), since)
    return {
        "paymentId": payment_id,
        "status": status,
        "authorizationId": fields["authorizationId"],
        "nsu": fields["nsu"],
        "tid": payment_id,
        "acquirer": None,
        "code": fields["code"],
        "message": fields["message"],
        "delayToAutoSettle": delay,
        "delayToAutoSettleAfterAntifraud": delay,
        "delayToCancel": DELAY_TO_CANCEL,
    }


def _approved(session: Session, hold: PreAuthorization) -> dict:
    return _answer(
        session,
        hold.id,
        hold.created_at,
        "approved",
        authorizationId=hold.id,
        nsu=hold.id,
        code=None,
        message="Approved on customer credit.",
    )


def _denied(session: Session, payment_id: str, code: str, message: str) -> dict:
    return _answer(
        session,
        payment_id,
        utcnow(),
        "denied",
        authorizationId=None,
        nsu=None,
        code=code,
        message=message,
    )


def _payment_id(raw) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("invalid_payment_id", "paymentId is required.", "paymentId")
    return raw.strip()


def _installments(raw):
    """The count as sent (the engine checks its range); refuse what is not a number."""
    if raw is None:
        return 1
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | str):
        raise InvalidInput("invalid_installments", "installments must be a number.", "installments")
    return raw


def _check_currency(session: Session, currency) -> None:
    """Refuse a payment in another currency than the store's (absent means the store's)."""
    store = credit.get_settings(session).currency
    if currency is not None and (not isinstance(currency, str) or currency.upper() != store):
        raise InvalidInput(
            "unsupported_currency", f"The currency {currency} is not supported.", "currency"
        )


def _buyer(data: dict) -> dict:
    buyer = obj(obj(data, "miniCart"), "buyer")
    corporate = buyer.get("isCorporate") is True and text(buyer, "corporateDocument")
    name = " ".join(filter(None, (text(buyer, "firstName"), text(buyer, "lastName"))))
    return {
        "email": text(buyer, "email"),
        "document": text(buyer, "corporateDocument") if corporate else text(buyer, "document"),
        "document_type": "CNPJ" if corporate else text(buyer, "documentType"),
        "name": (text(buyer, "corporateName") if corporate else None) or name,
    }


def create_payment(session: Session, data: dict, *, actor: str) -> dict:
    """Approve (hold the value on the buyer's account) or deny a payment; same paymentId,
    same answer: a retry of an approved payment returns it and holds nothing more."""
    payment_id = _payment_id(data.get("paymentId"))
    existing = session.get(PreAuthorization, payment_id) if len(payment_id) <= MAX_ID else None
    if existing is not None:
        return _approved(session, existing)
    _check_currency(session, data.get("currency"))
    amount = parse_amount(data.get("value"))
    installments = _installments(data.get("installments"))
    order_id = (text(data, "orderId") or text(data, "reference") or "").strip()[:MAX_ID] or None
    buyer = _buyer(data)
    account = credit.account_for_buyer(session, **buyer, actor=actor)
    if account is None:
        return _denied(
            session, payment_id, "account_not_found", "The buyer has no customer credit account."
        )
    try:
        hold = credit.authorize(
            session,
            account.id,
            amount,
            actor=actor,
            transaction_id=payment_id,
            installments=installments,
            holder_email=holder_email(session, account.id, buyer["email"]),
            order_id=order_id,
        )
    except Conflict as refusal:
        twin = session.get(PreAuthorization, payment_id)
        if twin is not None:  # the same paymentId was approved meanwhile
            return _approved(session, twin)
        return _denied(session, payment_id, refusal.code, refusal.message)
    return _approved(session, hold)


def _payment(session: Session, payment_id: str) -> PreAuthorization:
    hold = None
    if len(payment_id) <= MAX_ID and storable(payment_id):
        hold = session.get(PreAuthorization, payment_id)
    if hold is None:
        raise NotFound("payment_not_found", f"Payment {payment_id} does not exist.")
    return hold


def _request_id(data: dict) -> str:
    value = (text(data, "requestId") or "").strip()
    if not value or len(value) > MAX_REQUEST_ID:
        raise InvalidInput(
            "invalid_request_id", f"requestId must be 1–{MAX_REQUEST_ID} characters.", "requestId"
        )
    return value


def settle_payment(session: Session, payment_id: str, data: dict, *, actor: str) -> dict:
    """Bill the payment (one invoice per installment); once per requestId."""
    hold = _payment(session, payment_id)
    request_id = _request_id(data)
    amount = parse_amount(data.get("value"))

    def settle() -> dict:
        settled = credit.settle(session, hold.account_id, hold.id, amount, actor=actor)
        return {
            "paymentId": settled.id,
            "settleId": settled.id,
            "value": settled.settled_value,
            "code": None,
            "message": "Successfully settled",
            "requestId": request_id,
        }

    key = f"{hold.id}/{request_id}"
    return idempotency.once(
        session, SETTLEMENTS, key, idempotency.fingerprint(hold.id, amount), settle
    )


def cancel_payment(session: Session, payment_id: str, data: dict, *, actor: str) -> dict:
    """Release the held value; cancelling again changes nothing, a settled one is refused."""
    hold = _payment(session, payment_id)
    request_id = _request_id(data)
    hold = credit.cancel_authorization(session, hold.account_id, hold.id, actor=actor)
    return {
        "paymentId": hold.id,
        "cancellationId": hold.id,
        "code": None,
        "message": "Successfully cancelled",
        "requestId": request_id,
    }


def refund_payment(session: Session, payment_id: str, data: dict, *, actor: str) -> dict:
    """Give back part or all of a settled payment; the requestId is the refund's id."""
    hold = _payment(session, payment_id)
    request_id = _request_id(data)
    refund = credit.refund(
        session, hold.account_id, hold.id, data.get("value"), actor=actor, refund_id=request_id
    )
    return {
        "paymentId": hold.id,
        "refundId": refund.id,
        "value": refund.value,
        "code": None,
        "message": "Successfully refunded",
        "requestId": request_id,
    }
