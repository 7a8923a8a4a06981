"""Sessions end on the server: logout, password changes and deactivation end every copy."""

from __future__ import annotations

import re

import pytest

from portal import people
from portal.models import User

from ..conftest import ROLE_PASSWORD


def copy_session(app, source):
    """A second browser holding a copy of `source`'s session cookie."""
    thief = app.test_client()
    cookie = source.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value)
    return thief


def logged_out(client) -> bool:
    page = client.get("/admin")
    htmx = client.get("/admin", headers={"HX-Request": "true"})
    return (
        page.status_code == 302
        and page.location.startswith("/login")
        and htmx.status_code == 401
        and "HX-Error-Message" in htmx.headers
    )


def test_the_session_stores_the_session_version(app, client, login, session):
    user = login("owner")
    with client.session_transaction() as cookie:
        assert cookie["_user_id"] == f"{user.id}:0"


def test_a_cookie_copied_before_logout_opens_nothing_after_it(app, client, login, session):
    user = login("owner")
    thief = copy_session(app, client)
    assert thief.get("/admin").status_code == 200  # the copy works while the session lives
    assert client.post("/logout").location == "/login"
    assert logged_out(client)
    assert logged_out(thief)
    session.rollback()
    assert session.get(User, user.id).session_version == 1


def test_logging_in_again_after_logout_works(client, login):
    user = login("finance")
    client.post("/logout")
    login(user=user)
    assert client.get("/admin").status_code == 200


def test_old_session_format_is_refused(app, client, login):
    user = login("owner")
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(user.id)  # a cookie from before session versions
    assert logged_out(client)


def test_password_change_ends_other_sessions_and_keeps_this_one(app, client, login, session):
    user = login("support")
    other = copy_session(app, client)
    page = client.get("/account/password")
    assert page.status_code == 200 and "At least 12 characters" in page.get_data(as_text=True)
    new = "a-much-longer-secret-1"
    response = client.post(
        "/account/password", data={"current": ROLE_PASSWORD, "password": new, "confirm": new}
    )
    assert response.status_code == 302 and response.location == "/admin"
    assert client.get("/admin").status_code == 200  # this session logged in again
    assert logged_out(other)
    session.rollback()
    assert session.get(User, user.id).session_version == 1
    assert people.authenticate(session, user.email, new)


def test_password_change_checks_the_current_password_and_the_length(client, login, session):
    user = login("owner")
    wrong = client.post(
        "/account/password",
        data={"current": "not-my-password", "password": "x" * 14, "confirm": "x" * 14},
    )
    assert wrong.status_code == 422 and "This is not your password." in wrong.get_data(True)
    short = client.post(
        "/account/password",
        data={"current": ROLE_PASSWORD, "password": "x" * 11, "confirm": "x" * 11},
    )
    assert short.status_code == 422 and "Use at least 12 characters." in short.get_data(True)
    session.rollback()
    assert session.get(User, user.id).session_version == 0
    assert client.get("/admin").status_code == 200


def test_reset_link_ends_every_session(app, client, login, session, make_user):
    user = login("finance")
    other = copy_session(app, client)
    token = people.password_token(app.config["SECRET_KEY"], user, "reset")
    browser = app.test_client()
    done = browser.post(
        f"/reset/{token}", data={"password": "reset-password-12", "confirm": "reset-password-12"}
    )
    assert done.status_code == 302
    assert browser.get("/admin").status_code == 200  # logged in by the reset
    assert logged_out(client) and logged_out(other)


def test_deactivation_ends_the_users_sessions(app, client, login, session, make_user):
    login("owner")
    victim = make_user("finance")
    victim_client = app.test_client()
    response = victim_client.post("/login", data={"email": victim.email, "password": ROLE_PASSWORD})
    assert response.status_code == 302
    assert victim_client.get("/admin").status_code == 200
    client.post(f"/admin/users/{victim.id}", data={"active": "off"})
    assert logged_out(victim_client)
    client.post(f"/admin/users/{victim.id}", data={"active": "on"})
    assert logged_out(victim_client)  # reactivating does not bring the old session back
    assert (
        victim_client.post(
            "/login", data={"email": victim.email, "password": ROLE_PASSWORD}
        ).location
        == "/admin"
    )


def test_role_change_keeps_the_session(app, client, login, make_user):
    login("owner")
    staff = make_user("finance")
    staff_client = app.test_client()
    staff_client.post("/login", data={"email": staff.email, "password": ROLE_PASSWORD})
    client.post(f"/admin/users/{staff.id}", data={"role": "support"})
    assert staff_client.get("/admin").status_code == 200


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    match = match or re.search(r'"X-CSRFToken": "([^"]+)"', page)
    return match.group(1)


@pytest.fixture
def csrf(app):
    app.config["WTF_CSRF_ENABLED"] = True


def test_csrf_token_changes_at_login(app, client, make_user, csrf):
    user = make_user("owner")
    before = csrf_token(client.get("/login").get_data(as_text=True))
    with client.session_transaction() as cookie:
        raw_before = cookie["csrf_token"]
    data = {"email": user.email, "password": ROLE_PASSWORD, "csrf_token": before}
    assert client.post("/login", data=data).location == "/admin"
    with client.session_transaction() as cookie:
        assert "csrf_token" not in cookie  # nothing from before the login survived
    after = csrf_token(client.get("/admin").get_data(as_text=True))
    with client.session_transaction() as cookie:
        assert cookie["csrf_token"] != raw_before
    assert after != before
    assert client.post("/logout", headers={"X-CSRFToken": before}).status_code == 400
    assert client.post("/logout", headers={"X-CSRFToken": after}).location == "/login"


def test_a_remember_me_cookie_dies_with_the_session_version(app, client, session, make_user):
    from flask_login.utils import encode_cookie

    user = make_user("finance")
    with app.test_request_context():
        remembered = encode_cookie(user.get_id())
    browser = app.test_client()
    browser.set_cookie("remember_token", remembered)
    assert browser.get("/admin").status_code == 200  # the cookie logs the browser in
    people.end_sessions(session, user.id)
    stale = app.test_client()
    stale.set_cookie("remember_token", remembered)
    assert logged_out(stale)
