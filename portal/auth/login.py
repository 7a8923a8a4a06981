"""Flask-Login wiring: load the user of a session, send anonymous visitors to /login."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..extensions import db, login_manager
from ..models import User


def init(state) -> None:
    """Configure the login manager when the auth blueprint is registered on an app."""
    login_manager.login_view = "auth.login"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    state.app.context_processor(layout_context)


def load_user(user_id: str) -> User | None:
    """The user stored in the session cookie, or None if it no longer exists."""
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


def unauthorized() -> Response:
    """htmx requests get 401 + HX-Redirect (a full page load); others a redirect with next."""
    if request.headers.get("HX-Request"):
        return Response(status=401, headers={"HX-Redirect": url_for("auth.login")})
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
