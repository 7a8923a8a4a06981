"""Every refusal under /api as JSON: {"error": {"code", "message", "field"}} with its status.

Domain errors (CreditError) keep their code and status; malformed requests are 400,
unknown routes and ids 404. Bad input never becomes a 500.
"""

from __future__ import annotations

import json
from decimal import DecimalException

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

from ..credit import CreditError
from . import bp

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
}


class ApiError(Exception):
    """A refusal decided by the API layer itself (authentication, JSON, idempotency)."""

    def __init__(self, code: str, message: str, field: str | None = None, *, status: int):
        super().__init__(message)
        self.code, self.message, self.field, self.status = code, message, field, status


def error_response(
    code: str, message: str, field: str | None, status: int, headers: dict | None = None
) -> Response:
    """The JSON error document every /api refusal uses."""
    payload = {"error": {"code": code, "message": message, "field": field}}
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status=status,
        mimetype="application/json",
        headers=headers,
    )


def to_response(exc: Exception) -> Response:
    """Map a CreditError or an ApiError to its JSON response."""
    return error_response(exc.code, exc.message, exc.field, exc.status)


def is_api_request() -> bool:
    """Whether the current request is addressed to the JSON API."""
    return request.path == "/api" or request.path.startswith("/api/")


def refusal_response(exc: Exception) -> Response | None:
    """The response for an expected refusal, or None for a genuine failure."""
    if isinstance(exc, CreditError | ApiError):
        return to_response(exc)
    if isinstance(exc, DecimalException):
        # decimal.InvalidOperation escapes the domain's number parsers for values like 1e40.
        current_app.logger.info("number refused: %r", exc)
        return error_response(
            "invalid_amount", "A number in the request is out of range.", None, 400
        )
    return None


@bp.errorhandler(CreditError)
@bp.errorhandler(ApiError)
@bp.errorhandler(DecimalException)
def _refused(exc):
    return refusal_response(exc)


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    """JSON for HTTP errors under /api (unknown routes too); the default page elsewhere."""
    if not is_api_request():
        return exc
    status = exc.code or 500
    if status >= 500:
        return error_response(
            "internal_error", "The server could not complete the request.", None, status
        )
    code = HTTP_CODES.get(status, "http_error")
    message = exc.description or exc.name
    if status == 404:
        message = "No such resource in the API."
    allowed = getattr(exc, "valid_methods", None)
    headers = {"Allow": ", ".join(allowed)} if allowed else None
    return error_response(code, message, None, status, headers)
