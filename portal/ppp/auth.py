"""The checkout's credentials: the portal's own API keys, sent as VTEX sends them.

VTEX sends the key pair configured for the provider as X-VTEX-API-AppKey /
X-VTEX-API-AppToken, or as X-PROVIDER-API-AppKey / X-PROVIDER-API-AppToken when the
connector sets `usesProviderHeadersName`; both are accepted (the VTEX pair first).
"""

from __future__ import annotations

from functools import wraps

from flask import g, request

from .. import people
from ..extensions import db
from .payload import PppError, storable

SCOPE = "transactions:write"
HEADER_PAIRS = (
    ("X-VTEX-API-AppKey", "X-VTEX-API-AppToken"),
    ("X-PROVIDER-API-AppKey", "X-PROVIDER-API-AppToken"),
)


def _credentials() -> tuple[str | None, str | None]:
    for key_header, token_header in HEADER_PAIRS:
        key = request.headers.get(key_header)
        if key:
            return key, request.headers.get(token_header)
    return None, None


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
        people.touch_api_key(db.session, key)
        return view(*args, **kwargs)

    wrapped.required_scope = SCOPE
    return wrapped
