"""Security headers on every response; HSTS and Secure cookies only over HTTPS; ProxyFix.

See portal/security.py.
"""

from __future__ import annotations

import pytest
from flask import request, session, url_for
from flask_login import login_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import AnyConverter, IntegerConverter

from portal import create_app
from portal.extensions import db
from portal.security import CONTENT_SECURITY_POLICY, HSTS

from .conftest import POSTGRES_ONLY, ROLE_PASSWORD, _test_config

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
HTTPS = "https://localhost"
STAFF_PAGES = [
    "/admin",
    "/admin/accounts",
    "/admin/invoices",
    "/admin/invoices/totals",
    "/admin/api-keys",
    "/admin/nowhere",
]


def assert_headers(response, *, https: bool = False) -> None:
    where = f"{response.request.path} ({response.status_code})"
    for header, value in EXPECTED.items():
        assert response.headers.get(header) == value, f"{header} on {where}"
    if https:
        assert response.headers.get("Strict-Transport-Security") == HSTS, where
    else:
        assert "Strict-Transport-Security" not in response.headers, where


def get_urls(app) -> list[str]:
    """One URL per GET route, path parameters filled with a dummy value."""
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            values = {}
            for name in rule.arguments:
                converter = rule._converters[name]
                if isinstance(converter, AnyConverter):
                    values[name] = sorted(converter.items)[0]
                elif isinstance(converter, IntegerConverter):
                    values[name] = 1
                else:
                    values[name] = "dummy"
            urls.append(url_for(rule.endpoint, **values))
    return sorted(set(urls))


def cookies(response) -> dict[str, str]:
    """The Set-Cookie headers of a response by cookie name."""
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        found[header.split("=", 1)[0]] = header
    return found


def is_secure(cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in cookie.split(";")[1:]]


@POSTGRES_ONLY
def test_every_get_route_answers_with_the_headers(app, client):
    urls = get_urls(app)
    assert "/admin/invoices" in urls and "/static/dummy" in urls
    statuses = set()
    for url in urls:
        response = client.get(url)
        statuses.add(response.status_code)
        assert_headers(response)
    assert {200, 302, 404} <= statuses  # pages, redirects to /login, dummy ids


@POSTGRES_ONLY
def test_every_get_route_over_https_adds_hsts(app, client):
    for url in get_urls(app):
        assert_headers(client.get(url, base_url=HTTPS), https=True)


def test_errors_and_other_methods_have_the_headers(client):
    assert_headers(client.get("/no/such/page"))
    assert_headers(client.post("/admin/invoices/bulk"))  # anonymous: redirected
    assert_headers(client.head("/login"))
    assert_headers(client.open("/login", method="OPTIONS"))
    assert_headers(client.get("/api/creditcontrol/accounts"))  # 401 JSON


@pytest.mark.parametrize("https", [False, True])
def test_staff_pages_have_the_headers(client, login, https):
    login("owner")
    base_url = HTTPS if https else "http://localhost"
    for url in STAFF_PAGES:
        response = client.get(url, base_url=base_url, headers={"HX-Request": "true"})
        assert response.status_code in (200, 404), (url, response.status_code)
        assert_headers(response, https=https)


@pytest.mark.parametrize("https", [False, True])
def test_session_cookie_is_secure_only_over_https(client, make_user, https):
    user = make_user("owner")
    response = client.post(
        "/login",
        data={"email": user.email, "password": ROLE_PASSWORD},
        base_url=HTTPS if https else "http://localhost",
    )
    assert response.status_code in (302, 303)
    session_cookie = cookies(response)["session"]
    assert is_secure(session_cookie) is https
    assert "httponly" in session_cookie.lower()
    assert_headers(response, https=https)


@pytest.mark.parametrize("https", [False, True])
def test_remember_cookie_is_secure_only_over_https(app, client, make_user, https):
    user = make_user("owner")

    @app.get("/_test/remember")
    def remember():
        login_user(user, remember=True)
        session["touched"] = True
        return "ok"

    response = client.get("/_test/remember", base_url=HTTPS if https else "http://localhost")
    assert response.status_code == 200
    sent = cookies(response)
    assert is_secure(sent["remember_token"]) is https
    assert is_secure(sent["session"]) is https
    assert "httponly" in sent["remember_token"].lower()


def test_configured_secure_cookies_stay_secure_over_http(app, client, make_user):
    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    user = make_user("owner")

    @app.get("/_test/remember")
    def remember():
        login_user(user, remember=True)
        return "ok"

    sent = cookies(client.get("/_test/remember"))
    assert is_secure(sent["remember_token"]) and is_secure(sent["session"])


@pytest.fixture
def proxied_app(database_url, tmp_path):
    """make(hops): an app with PROXY_HOPS = hops and a route showing what it sees."""
    made = []

    def make(hops: int):
        config = _test_config(database_url, str(tmp_path / f"instance-{hops}"))
        app = create_app({**config, "PROXY_HOPS": hops})

        @app.get("/_test/request")
        def seen():
            return {"remote_addr": request.remote_addr, "secure": request.is_secure}

        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def test_one_trusted_proxy_makes_forwarded_https_count(proxied_app):
    app = proxied_app(1)
    assert isinstance(app.wsgi_app, ProxyFix)
    client = app.test_client()
    response = client.get("/_test/request", headers=FORWARDED)
    assert response.json == {"remote_addr": "203.0.113.7", "secure": True}
    assert_headers(response, https=True)
    # Without the headers, the proxy's own address and plain HTTP.
    response = client.get("/_test/request")
    assert response.json == {"remote_addr": "127.0.0.1", "secure": False}
    assert_headers(response)


def test_one_trusted_proxy_trusts_only_the_last_hop(proxied_app):
    client = proxied_app(1).test_client()
    headers = {"X-Forwarded-Proto": "http, https", "X-Forwarded-For": "6.6.6.6, 203.0.113.7"}
    response = client.get("/_test/request", headers=headers)
    assert response.json == {"remote_addr": "203.0.113.7", "secure": True}


def test_secure_cookie_behind_the_proxy(proxied_app, make_user):
    email = make_user("owner").email  # in the same database, through the `app` fixture
    client = proxied_app(1).test_client()
    response = client.post(
        "/login", data={"email": email, "password": ROLE_PASSWORD}, headers=FORWARDED
    )
    assert response.status_code in (302, 303)
    assert is_secure(cookies(response)["session"])


def test_no_trusted_proxy_ignores_forwarded_headers(proxied_app):
    app = proxied_app(0)
    assert not isinstance(app.wsgi_app, ProxyFix)
    response = app.test_client().get("/_test/request", headers=FORWARDED)
    assert response.json == {"remote_addr": "127.0.0.1", "secure": False}
    assert_headers(response)


def test_default_config_trusts_no_proxy():
    from portal.config import Defaults

    assert Defaults.PROXY_HOPS == 0
