"""Security headers, a strict Content-Security-Policy, Secure cookies and proxy headers.

A few lines of our own rather than Flask-Talisman: Talisman is barely maintained and we
need five headers. On every response (whatever its status, static files included):

- `Content-Security-Policy`: scripts, styles, fonts and requests from this origin only.
  No 'unsafe-inline' and no 'unsafe-eval': templates carry no inline script (a
  `<script type="application/json">` data block is fine), no `on*=`/`hx-on` attribute and
  no `style=` attribute; behaviour lives in static/js/portal.js, looks in
  static/css/portal.css, and htmx runs with `allowEval: false` (templates/base.html).
- `X-Content-Type-Options`, `Referrer-Policy`, `X-Frame-Options`.
- `Strict-Transport-Security`, only when the request came over HTTPS.

Cookies: the session cookie is `Secure` when the request is HTTPS (or when
SESSION_COOKIE_SECURE says so). Flask-Login reads REMEMBER_COOKIE_SECURE from the config,
which cannot change per request, so the remember-me cookie is marked `Secure` on HTTPS
requests here, when Flask saves the session: that runs after every `after_request` hook,
Flask-Login's included. REMEMBER_COOKIE_SECURE = True still forces it everywhere.

Behind a reverse proxy, PROXY_HOPS (config) trusted proxies set X-Forwarded-For and
X-Forwarded-Proto: werkzeug's ProxyFix then gives the right `request.remote_addr` and
`request.is_secure`. With PROXY_HOPS = 0 (the default) no X-Forwarded-* header is trusted.
"""

from __future__ import annotations

from flask import Flask, Response, abort, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000; includeSubDomains"


class SecureSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with `Secure` cookies on HTTPS requests."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or request.is_secure

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        super().save_session(app, session, response)
        if request.is_secure:
            _secure_cookie(response, app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))


def _secure_cookie(response: Response, name: str) -> None:
    """Add the `Secure` flag to the Set-Cookie headers of cookie `name` that lack it."""
    cookies = response.headers.getlist("Set-Cookie")
    if not any(_is_insecure(cookie, name) for cookie in cookies):
        return
    del response.headers["Set-Cookie"]
    for cookie in cookies:
        response.headers.add(
            "Set-Cookie", cookie + "; Secure" if _is_insecure(cookie, name) else cookie
        )


def _is_insecure(cookie: str, name: str) -> bool:
    attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
    return cookie.startswith(name + "=") and "secure" not in attributes


def add_headers(response: Response) -> Response:
    """The `after_request` hook: the security headers, on every response."""
    response.headers.update(HEADERS)
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def refuse_nul_characters() -> None:
    """The `before_request` hook: no text with a NUL character reaches a page (no database
    column can store one). The JSON API and /ppp refuse them in their own formats."""
    if request.path.startswith(("/api/", "/ppp/")):
        return
    texts = [request.path, *request.args.values(), *request.args.keys()]
    if request.method == "POST" and request.mimetype != "multipart/form-data":
        texts += [*request.form.values(), *request.form.keys()]
    if any("\x00" in text for text in texts):
        abort(400)


def init_app(app: Flask) -> None:
    """Install the headers, the session interface and (PROXY_HOPS > 0) ProxyFix."""
    app.session_interface = SecureSessionInterface()
    app.before_request(refuse_nul_characters)
    app.after_request(add_headers)
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
