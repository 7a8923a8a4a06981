"""API keys: X-VTEX-API-AppKey / X-VTEX-API-AppToken, checked against each route's scope."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import g, request
from sqlalchemy import or_, update

from .. import people
from ..credit.ledger import write_transaction
from ..extensions import db
from ..models import ApiKey, utcnow
from .errors import ApiError

KEY_HEADER = "X-VTEX-API-AppKey"
TOKEN_HEADER = "X-VTEX-API-AppToken"
LAST_USED_EVERY = timedelta(hours=1)


def _touch(key: ApiKey) -> None:
    """Record last use at most once an hour, in a short write of its own."""
    now = utcnow()
    cutoff = now - LAST_USED_EVERY
    if key.last_used_at is not None and key.last_used_at > cutoff:
        return
    with write_transaction(db.session):  # a write transaction (BEGIN IMMEDIATE on SQLite)
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id,
                   or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < cutoff))
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )


def authenticate() -> ApiKey:
    """The active key named by the request's headers, or a 401."""
    key = people.find_api_key(db.session, request.headers.get(KEY_HEADER),
                              request.headers.get(TOKEN_HEADER))
    if key is None:
        raise ApiError("unauthorized",
                       f"Send a valid {KEY_HEADER} and {TOKEN_HEADER} pair.", status=401)
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
            _touch(key)
            return view(*args, **kwargs)

        wrapped.required_scope = scope
        return wrapped

    return decorator


def actor() -> str:
    """Who the current request acts as, for the ledger and the audit trail."""
    return g.actor
