"""API keys: X-VTEX-API-AppKey / X-VTEX-API-AppToken, checked against each route's scope."""

from __future__ import annotations

from functools import wraps

from flask import g, request

from .. import people
from ..extensions import db
from ..models import ApiKey
from .errors import ApiError

KEY_HEADER = "X-VTEX-API-AppKey"
TOKEN_HEADER = "X-VTEX-API-AppToken"


def authenticate() -> ApiKey:
    """The active key named by the request's headers, or a 401."""
    key = people.find_api_key(
        db.session, request.headers.get(KEY_HEADER), request.headers.get(TOKEN_HEADER)
    )
    if key is None:
        raise ApiError(
            "unauthorized", f"Send a valid {KEY_HEADER} and {TOKEN_HEADER} pair.", status=401
        )
    return key


def require_scope(scope: str):
    """Allow the view only to API keys holding `scope`; sets g.api_key and g.actor."""
    if scope not in people.SCOPES:
        raise ValueError(f"unknown scope {scope}")

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            key = authenticate()
            if scope not in key.scope_set:
                raise ApiError("forbidden", f"This API key lacks the {scope} scope.", status=403)
            g.api_key = key
            g.actor = f"apikey:{key.label}"
            people.touch_api_key(db.session, key)
            return view(*args, **kwargs)

        wrapped.required_scope = scope
        return wrapped

    return decorator


def actor() -> str:
    """Who the current request acts as, for the ledger and the audit trail."""
    return g.actor
