"""Login, logout, the role-based landing page and the protections around them."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from portal import people

from ..conftest import ROLE_PASSWORD


@pytest.fixture
def customer(session, make_account):
    """A customer login for the main holder of a new account."""
    account = make_account()
    return people.create_user(
        session, account.email, "customer", actor="test", password=ROLE_PASSWORD
    )


def post_login(client, email, password=ROLE_PASSWORD, next_url=None):
    url = "/login" if next_url is None else f"/login?next={next_url}"
    return client.post(url, data={"email": email, "password": password})


@pytest.mark.parametrize("role", ["owner", "finance", "support"])
def test_staff_land_on_the_dashboard(client, make_user, role):
    user = make_user(role)
    response = post_login(client, user.email)
    assert response.status_code == 302
    assert response.location == "/admin"
    assert client.get("/admin").status_code == 200
    assert client.get("/").location == "/admin"


def test_customer_lands_on_my_credits(client, customer):
    response = post_login(client, customer.email)
    assert response.location == "/my-credits"
    assert client.get("/my-credits").status_code == 200
    assert client.get("/").location == "/my-credits"


def test_login_page_renders_the_form(client):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html
    assert "Log out" not in html


@pytest.mark.parametrize("email_of", ["known", "unknown"])
def test_wrong_credentials_show_one_neutral_error(client, make_user, email_of):
    user = make_user("owner")
    email = user.email if email_of == "known" else "nobody@example.com"
    response = post_login(client, email, "wrong-password")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Wrong e-mail or password." in html
    assert client.get("/admin").location.startswith("/login")


def test_empty_form_is_refused(client):
    response = client.post("/login", data={})
    assert response.status_code == 422
    assert "is-invalid" in response.get_data(as_text=True)


def test_inactive_user_cannot_log_in(client, session, make_user):
    user = make_user("finance")
    user.active = False
    session.commit()
    assert post_login(client, user.email).status_code == 422


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example",
        "//evil.example/admin",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "",
    ],
)
def test_next_never_leaves_the_site(client, make_user, next_url):
    user = make_user("owner")
    assert post_login(client, user.email, next_url=next_url).location == "/admin"


def test_next_on_the_site_is_followed(client, make_user):
    user = make_user("support")
    response = post_login(client, user.email, next_url="/admin%3Fx%3D1")
    assert response.location == "/admin?x=1"


def test_anonymous_visitors_are_sent_to_login(client):
    assert client.get("/").location == "/login"
    response = client.get("/admin")
    assert response.status_code == 302
    assert response.location == "/login?next=/admin"
    assert client.get("/my-credits").location == "/login?next=/my-credits"


def test_login_then_follow_next_from_the_redirect(client, make_user):
    user = make_user("finance")
    login_url = client.get("/admin").location
    response = client.post(login_url, data={"email": user.email, "password": ROLE_PASSWORD})
    assert response.location == "/admin"


def test_htmx_request_without_session_gets_401_and_a_message(client):
    response = client.get("/admin", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert "HX-Redirect" not in response.headers  # the page stays; portal.js offers the login
    assert unquote(response.headers["HX-Error-Message"]) == "Your session ended — log in again."


def test_logged_in_user_visiting_login_goes_home(client, login):
    login("owner")
    assert client.get("/login").location == "/admin"


def test_logout_requires_post(client, login):
    login("owner")
    assert client.get("/logout").status_code == 405
    assert client.get("/admin").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.location == "/login"
    assert client.get("/admin").location.startswith("/login")


def test_layout_shows_user_and_role_navigation(client, login, customer):
    user = login("finance")
    html = client.get("/admin").get_data(as_text=True)
    assert user.email in html and 'href="/admin"' in html and "My Credits" not in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    client.post("/logout")
    login(user=customer)
    html = client.get("/my-credits").get_data(as_text=True)
    assert 'href="/my-credits"' in html and 'href="/admin"' not in html


def test_csrf_is_enforced_when_enabled(app, client, make_user):
    user = make_user("owner")
    app.config["WTF_CSRF_ENABLED"] = True
    refused = post_login(client, user.email)
    assert refused.status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"email": user.email, "password": ROLE_PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data).location == "/admin"
    assert client.post("/logout").status_code == 400
    # The login started a new session with a new token (tests/auth/test_sessions.py).
    assert client.post("/logout", headers={"X-CSRFToken": token}).status_code == 400
    page = client.get("/admin").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    assert client.post("/logout", headers={"X-CSRFToken": token}).location == "/login"


def test_error_pages_are_html_but_api_errors_stay_json(client, login):
    login("owner")
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert "Page not found" in missing.get_data(as_text=True)
    api = client.get("/api/creditcontrol/no-such-thing")
    assert api.status_code == 404
    assert api.is_json and api.get_json()["error"]["code"] == "not_found"
