"""The checkout's credentials: the portal's own API keys, sent as VTEX sends them.

VTEX sends the key pair configured for the provider as X-VTEX-API-AppKey /
X-VTEX-API-AppToken, or as X-PROVIDER-API-AppKey / X-PROVIDER-API-AppToken when the
connector sets `usesProviderHeadersName`; both are accepted (the VTEX pair first).
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import g, request
from sqlalchemy import or_, update

from .. import people
from ..credit.ledger import write_transaction
from ..extensions import db
from ..models import ApiKey, utcnow
from .payload import PppError, storable

SCOPE = "transactions:write"
HEADER_PAIRS = (
    ("X-VTEX-API-AppKey", "X-VTEX-API-AppToken"),
    ("X-PROVIDER-API-AppKey", "X-PROVIDER-API-AppToken"),
)
LAST_USED_EVERY = timedelta(hours=1)


def _credentials() -> tuple[str | None, str | None]:
    for key_header, token_header in HEADER_PAIRS:
        key = request.headers.get(key_header)
        if key:
            return key, request.headers.get(token_header)
    return None, None


def _touch(key: ApiKey) -> None:
    """Record the key's last use, at most once an hour."""
    now = utcnow()
    cutoff = now - LAST_USED_EVERY
    if key.last_used_at is not None and key.last_used_at > cutoff:
        return
    with write_transaction(db.session):
        db.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key.id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < cutoff),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )


def require_key(view):
    """Allow only an active API key holding the transactions:write scope; sets g.actor."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        app_key, app_token = _credentials()
        if not (app_key and app_token and storable(app_key) and storable(app_token)):
            key = None
        else:
            key = people.find_api_key(db.session, app_key, app_token)
        if key is None:
            raise PppError(
                "unauthorized", "Send a valid X-VTEX-API-AppKey and X-VTEX-API-AppToken.", 401
            )
        if SCOPE not in key.scope_set:
            raise PppError("forbidden", f"This API key lacks the {SCOPE} scope.", 403)
        g.actor = f"apikey:{key.label}"
        _touch(key)
        return view(*args, **kwargs)

    wrapped.required_scope = SCOPE
    return wrapped
