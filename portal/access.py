"""Role checks for views: every route says who may use it."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

STAFF = ("owner", "finance", "support")
WRITERS = ("owner", "finance")


def roles_required(*roles: str):
    """Allow only logged-in users whose role is in `roles`; others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def actor() -> str:
    """How the current user is named in the ledger and audit trail."""
    return current_user.email if current_user.is_authenticated else "anonymous"
