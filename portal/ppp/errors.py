"""Every refusal under /ppp as JSON, in the failure shape the protocol gives each operation.

Create payment and the credential checks answer `{"status": "error", "code", "message"}`
(the contract's Fail-BadRequest); cancellations, settlements and refunds answer their
Fail-GenericError shapes (`cancellationId` / `settleId` / `refundId` null). Credit refusals
keep their code and status (400, 404, 409); bad input never becomes a 500.
"""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from ..credit import CreditError
from . import bp
from .payload import PppError, reply

# endpoint -> the extra fields of its failure shape
SHAPES = {
    "ppp.cancel_payment": {"cancellationId": None},
    "ppp.settle_payment": {"settleId": None, "value": 0},
    "ppp.refund_payment": {"refundId": None, "value": 0},
}


def failure(code: str, message: str, status: int, headers: dict | None = None):
    """The JSON refusal of the current request, shaped for its operation."""
    shape = SHAPES.get(request.endpoint or "")
    if shape is None or status in (401, 403):
        payload = {"status": "error", "code": code, "message": message}
    else:
        request_id = (g.get("ppp_body") or {}).get("requestId")
        payload = {
            "paymentId": str((request.view_args or {}).get("payment_id", "")),
            **shape,
            "code": code,
            "message": message,
            "requestId": request_id if isinstance(request_id, str) else "",
        }
    response = reply(payload, status)
    response.headers.extend(headers or {})
    return response


def is_ppp_request() -> bool:
    """Whether the request is addressed to the protocol endpoints."""
    return request.path == bp.url_prefix or request.path.startswith(f"{bp.url_prefix}/")


@bp.errorhandler(CreditError)
@bp.errorhandler(PppError)
def _refused(exc):
    return failure(exc.code, exc.message, exc.status)


@bp.errorhandler(ArithmeticError)
def _number_out_of_range(exc):
    current_app.logger.info("number refused: %r", exc)
    return failure("invalid_amount", "A number in the request is out of range.", 400)


def _http_error(exc: HTTPException):
    status = exc.code or 500
    if status >= 500:
        return failure("internal_error", "The payment could not be processed; retry.", status)
    allowed = getattr(exc, "valid_methods", None)
    headers = {"Allow": ", ".join(allowed)} if allowed else None
    return failure(exc.name.lower().replace(" ", "_"), exc.description or exc.name, status, headers)


# Code-specific handlers of the app (HTML pages) would win over a class handler.
for _code in (400, 403, 404, 405, 413, 415, 500):
    bp.register_error_handler(_code, _http_error)
bp.register_error_handler(HTTPException, _http_error)


@bp.before_app_request
def _routing_errors_as_json():
    """Unknown paths and methods under /ppp get JSON too (no blueprint handler sees them)."""
    exc = request.routing_exception
    if isinstance(exc, NotFound | MethodNotAllowed) and is_ppp_request():
        if isinstance(exc, NotFound):
            return failure("not_found", "No such operation in the Payment Provider Protocol.", 404)
        return _http_error(exc)
    return None
