"""The protocol adapter: Payment Provider Protocol requests in, credit engine calls, replies out.

A payment is a pre-authorization whose transaction id is the checkout's paymentId. The
fingerprint of the request that created it is kept with it (an IdempotencyRecord of
client "ppp:payments", key paymentId), so a retry gets the payment's current status and
a different request reusing the paymentId is refused. Settlements are kept per requestId
(idempotency.py); refunds use the requestId as the engine's refund id. Every rule (who
may buy, how much, what a settlement issues) stays in portal/credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import credit
from ..credit.buyers import buyer_document, buyer_email, find_account, holder_email
from ..credit.errors import Conflict, InvalidInput, NotFound
from ..credit.ledger import write_transaction
from ..credit.money import parse_amount, parse_whole
from ..credit.settings import add_business_days
from ..models import IdempotencyRecord, PreAuthorization, StoreSettings, utcnow
from . import idempotency
from .payload import PppError, dumps, obj, storable, text

PAYMENT_METHOD = "Promissories"  # the protocol's generic method for credit on account
MAX_AUTO_SETTLE = 7 * 24 * 3600  # the protocol's ceiling for delayToAutoSettle
DELAY_TO_CANCEL = 24 * 3600  # unused for synchronous answers, but required and ≥ 600
MAX_ID = 64
MAX_REQUEST_ID = 80  # the engine keeps refund ids of up to 80 characters
SETTLEMENTS = "ppp:settlements"
PAYMENTS = "ppp:payments"
CLOSED = {  # a payment no longer approved: status -> (code, message) of its answer
    "Cancelled": ("payment_cancelled", "The payment was cancelled."),
    "Expired": ("payment_expired", "The payment's authorization expired."),
}


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
        raise InvalidInput(
            "invalid_payment_id", _("%(field)s is required.", field="paymentId"), "paymentId"
        )
    return raw.strip()


def _installments(raw):
    """The count as sent (the engine checks its range); refuse what is not a number."""
    if raw is None:
        return 1
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | str):
        raise InvalidInput(
            "invalid_installments",
            _("%(field)s must be a number.", field="installments"),
            "installments",
        )
    return raw


def _check_currency(session: Session, currency) -> None:
    """Refuse a payment in another currency than the store's (absent means the store's)."""
    store = credit.get_settings(session).currency
    if currency is not None and (not isinstance(currency, str) or currency.upper() != store):
        raise InvalidInput(
            "unsupported_currency",
            _("The currency %(currency)s is not supported.", currency=currency),
            "currency",
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


@dataclass(frozen=True)
class _Payment:
    """What a create-payment request asks for, in the form a retry is compared in."""

    payment_id: str
    amount: Decimal
    currency: str
    installments: object  # as sent; the engine checks it
    order_id: str | None
    buyer: dict
    digest: str  # of the fields a retry must repeat (see _digest)


def _count(raw) -> int | str:
    """The installment count as a number when it is one ("3", 3, 3.0 alike), else as sent."""
    try:
        return parse_whole(raw, "installments", 0, 10**9)
    except InvalidInput:
        return repr(raw)


def _digest(data: dict, amount: Decimal, currency: str, installments, buyer: dict) -> str:
    """The fingerprint of what a retry of this payment must ask for again.

    Value, currency, installments, the buyer's e-mail and document (as they are matched)
    and the order (`reference`, `orderId`); not what may change between two deliveries of
    one payment (ip, deviceFingerprint, urls, transactionId, shopperInteraction, …).
    """
    email = buyer_email(buyer["email"]) or (buyer["email"] or "").strip().lower()
    document = buyer_document(buyer["document"], buyer["document_type"])
    return idempotency.fingerprint(
        "payment/v1",
        format(amount, "f"),
        currency,
        _count(installments),
        email,
        ":".join(document) if document else (buyer["document"] or "").strip(),
        (text(data, "reference") or "").strip(),
        (text(data, "orderId") or "").strip(),
    )


def _read_payment(session: Session, data: dict) -> _Payment:
    payment_id = _payment_id(data.get("paymentId"))
    _check_currency(session, data.get("currency"))
    currency = credit.get_settings(session).currency
    amount = parse_amount(data.get("value"))
    installments = _installments(data.get("installments"))
    order_id = (text(data, "orderId") or text(data, "reference") or "").strip() or None
    buyer = _buyer(data)
    return _Payment(
        payment_id,
        amount,
        currency,
        installments,
        order_id,
        buyer,
        _digest(data, amount, currency, installments, buyer),
    )


def _same_as_hold(session: Session, hold: PreAuthorization, request: _Payment) -> bool:
    """For a hold kept without a fingerprint (made before they were kept, or by the API):
    whether the request asks for what the hold holds, for the account its buyer pays with."""
    email = request.buyer["email"]
    return (
        hold.original_value == request.amount
        and hold.installments == _count(request.installments)
        and hold.order_id == request.order_id
        and hold.holder_email == holder_email(session, hold.account_id, email)
        and getattr(
            find_account(
                session,
                email=email,
                document=request.buyer["document"],
                document_type=request.buyer["document_type"],
            ),
            "id",
            None,
        )
        == hold.account_id
    )


def _status(session: Session, hold: PreAuthorization) -> dict:
    """The answer that tells the payment's status now."""
    if hold.status in ("Authorized", "Settled"):
        return _approved(session, hold)
    code, message = CLOSED.get(hold.status, ("payment_closed", f"The payment is {hold.status}."))
    return _denied(session, hold.id, code, message)


def _existing(session: Session, request: _Payment) -> dict | None:
    """The answer to a repeated paymentId, None for a new one; refuse a different request.

    A retry (same fingerprint, or for an older hold, the same value, installments, order,
    buyer and account) gets the payment's current status; anything else reusing the id is
    refused with 400 and changes nothing.
    """
    if len(request.payment_id) > MAX_ID:
        return None  # the engine refuses the id
    hold = session.get(PreAuthorization, request.payment_id)
    if hold is None:
        return None
    record = idempotency.kept(session, PAYMENTS, request.payment_id)
    same = (
        record.request_hash == request.digest
        if record is not None
        else _same_as_hold(session, hold, request)
    )
    if not same:
        raise PppError(
            "payment_id_reused",
            f"Payment {request.payment_id} already exists with other data "
            "(value, currency, installments, buyer or order).",
            400,
        )
    return _status(session, hold)


def create_payment(session: Session, data: dict, *, actor: str) -> dict:
    """Approve (hold the value on the buyer's account) or deny a payment.

    Same paymentId, same request: the payment's current status, nothing held again. Same
    paymentId, another request: refused (400 `payment_id_reused`). The request's
    fingerprint is kept with the hold, in the same transaction; a twin arriving at the
    same moment waits on its unique key, then is answered as a retry (or refused).
    Denials are not kept: a denied payment retried is evaluated again.
    """
    request = _read_payment(session, data)
    answer = _existing(session, request)
    if answer is not None:
        return answer
    buyer = request.buyer
    account = credit.account_for_buyer(session, **buyer, actor=actor)
    if account is None:
        return _denied(
            session,
            request.payment_id,
            "account_not_found",
            "The buyer has no customer credit account.",
        )
    try:
        with write_transaction(session):
            record = None
            if len(request.payment_id) <= MAX_ID:  # longer: the engine refuses the id
                record = IdempotencyRecord(
                    client=PAYMENTS, key=request.payment_id, request_hash=request.digest
                )
                session.add(record)
                session.flush()  # a twin's uncommitted record makes this wait
            hold = credit.authorize(
                session,
                account.id,
                request.amount,
                actor=actor,
                transaction_id=request.payment_id,
                installments=request.installments,
                holder_email=holder_email(session, account.id, buyer["email"]),
                order_id=request.order_id,
            )
            answer = _approved(session, hold)
            if record is not None:
                record.status_code, record.response_body = 200, dumps(answer)
    except IntegrityError:  # a twin kept this paymentId first
        answer = _existing(session, request)
        if answer is None:
            raise
        return answer
    except Conflict as refusal:
        answer = _existing(session, request)  # the same paymentId was approved meanwhile
        if answer is not None:
            return answer
        return _denied(session, request.payment_id, refusal.code, refusal.message)
    return answer


def _payment(session: Session, payment_id: str) -> PreAuthorization:
    hold = None
    if len(payment_id) <= MAX_ID and storable(payment_id):
        hold = session.get(PreAuthorization, payment_id)
    if hold is None:
        raise NotFound(
            "payment_not_found", _("Payment %(payment)s does not exist.", payment=payment_id)
        )
    return hold


def _request_id(data: dict) -> str:
    value = (text(data, "requestId") or "").strip()
    if not value or len(value) > MAX_REQUEST_ID:
        raise InvalidInput(
            "invalid_request_id",
            _("%(field)s must be 1–%(max)s characters.", field="requestId", max=MAX_REQUEST_ID),
            "requestId",
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
