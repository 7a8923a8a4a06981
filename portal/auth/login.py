"""Flask-Login wiring: sessions that end on the server, and /login for anonymous visitors.

The session stores "<user id>:<session version>" (`User.get_id`); the version is bumped
on logout, password change and deactivation, and every request compares it, so a copied
cookie or a remember-me cookie stops working the moment the session is ended.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, current_app, flash, g, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from .. import people
from ..extensions import db, login_manager
from ..htmx import error_response
from ..models import User


def init(state) -> None:
    """Configure the login manager when the auth blueprint is registered on an app."""
    login_manager.login_view = "auth.login"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    state.app.context_processor(layout_context)
    state.app.before_request(forget_loaded_user)


def forget_loaded_user() -> None:
    """Load the user afresh on every request: Flask-Login caches it in `g`, which outlives
    a request when an app context is shared by several (as in tests)."""
    g.pop("_login_user", None)


def load_user(user_id: str) -> User | None:
    """The user of a session ("<id>:<session version>"), or None when the user is gone or
    inactive, or the version is old: logout, a password change or a deactivation ended it.
    """
    user_key, _sep, version = str(user_id or "").partition(":")
    try:
        user_key, version = int(user_key), int(version)
    except ValueError:
        return None
    user = db.session.get(User, user_key, populate_existing=True)
    if user is None or not user.active or (user.session_version or 0) != version:
        return None
    return user


def start_session(user: User) -> None:
    """Log `user` in on a clean session: nothing from before the login survives, so the
    CSRF token changes (and a session id planted before login is worthless)."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    login_user(user)


def end_session() -> None:
    """Log out here and everywhere: bump the session version, then clear this session."""
    if current_user.is_authenticated:
        people.end_sessions(db.session, current_user.id)
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    logout_user()


def unauthorized() -> Response:
    """htmx requests get 401 and a message (the page stays: portal.js shows it with a link
    to /login?next=<the page>); others a redirect to /login with next."""
    if request.headers.get("HX-Request"):
        return error_response(_("Your session ended — log in again."), 401)
    flash(_("Please log in to see this page."), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def home_url(user=None) -> str:
    """Where a user lands: staff on the dashboard, customers on My Credits."""
    user = user or current_user
    if not user.is_authenticated:
        return url_for("auth.login")
    return url_for("admin.dashboard") if user.is_staff else url_for("mycredits.index")


ROLE_LABELS = {
    "owner": _l("Owner"),
    "finance": _l("Finance"),
    "support": _l("Support"),
    "customer": _l("Customer"),
}


def layout_context() -> dict:
    """What base.html needs on every page: the page language and the user's role label."""
    role = getattr(current_user, "role", None)
    return {
        "html_lang": str(get_locale() or "en").replace("_", "-"),
        "role_label": ROLE_LABELS.get(role, role or ""),
    }
