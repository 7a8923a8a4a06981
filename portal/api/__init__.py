"""The JSON API blueprint: the Customer Credit API contract under /api/creditcontrol/.

Handlers are thin: parse the request (payload.py), call one portal/credit function,
serialise the result (serializers.py). Authentication and scopes live in auth.py,
error mapping in errors.py, Idempotency-Key handling in idempotency.py and the served
OpenAPI document and its HTML rendering in openapi.py.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import (  # noqa: E402,F401
    accounts,
    errors,
    files,
    invoices,
    openapi,
    payload,
    scheduled,
    storeconfig,
    transactions,
)
