"""Invitation and reset tokens: own salts, own lifetimes, single use, never interchangeable."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal import people
from portal.credit.errors import InvalidInput
from portal.models import User, utcnow

SECRET = "test-secret-not-for-production"


@pytest.fixture
def holder_login(session, make_account):
    make_account(email="h@example.com")
    return people.invite_customer(session, "h@example.com", actor="t")


def test_purposes_have_their_own_salts_and_lifetimes():
    (invite_salt, invite_age), (reset_salt, reset_age) = (
        people.TOKEN_PURPOSES["invitation"],
        people.TOKEN_PURPOSES["reset"],
    )
    assert invite_salt != reset_salt and "portal-password" not in (invite_salt, reset_salt)
    assert invite_age == 7 * 24 * 3600 and reset_age == 2 * 3600


@pytest.mark.parametrize(
    ("made_for", "used_as"), [("reset", "invitation"), ("invitation", "reset")]
)
def test_a_token_is_never_accepted_for_the_other_purpose(session, holder_login, made_for, used_as):
    token = people.password_token(SECRET, holder_login, made_for)
    assert people.user_for_token(session, SECRET, token, made_for) == holder_login
    assert people.user_for_token(session, SECRET, token, used_as) is None


@pytest.mark.parametrize(("made_for", "used_as"), [("reset", "invite"), ("invitation", "reset")])
def test_the_pages_refuse_the_other_purpose(client, session, holder_login, made_for, used_as):
    token = people.password_token(SECRET, holder_login, made_for)
    response = client.get(f"/{used_as}/{token}")
    assert response.status_code == 302 and response.location == "/reset"
    page = "invite" if made_for == "invitation" else "reset"
    assert client.get(f"/{page}/{token}").status_code == 200


def test_tampered_foreign_or_unknown_purpose_tokens_are_refused(session, holder_login):
    token = people.password_token(SECRET, holder_login, "invitation")
    assert people.user_for_token(session, SECRET, token + "x", "invitation") is None
    assert people.user_for_token(session, "other-secret", token, "invitation") is None
    assert people.user_for_token(session, SECRET, token, "admin") is None


@pytest.mark.parametrize(
    ("purpose", "lifetime"), [("invitation", timedelta(days=7)), ("reset", timedelta(hours=2))]
)
def test_lifetimes(session, holder_login, purpose, lifetime):
    issued = utcnow().replace(microsecond=0)
    token = people.password_token(SECRET, holder_login, purpose, now=issued)
    at_the_end = issued + lifetime
    assert people.user_for_token(session, SECRET, token, purpose, now=at_the_end) == holder_login
    too_late = at_the_end + timedelta(seconds=1)
    assert people.user_for_token(session, SECRET, token, purpose, now=too_late) is None
    before = issued - timedelta(seconds=1)  # signed "in the future": refused too
    assert people.user_for_token(session, SECRET, token, purpose, now=before) is None


def test_the_pages_use_the_app_clock(app, client, session, holder_login, clock):
    token = people.password_token(SECRET, holder_login, "reset", now=clock.now)
    clock.advance(2 * 3600 - 1)
    assert client.get(f"/reset/{token}").status_code == 200
    clock.advance(2)
    assert client.get(f"/reset/{token}").location == "/reset"


def test_single_use_a_new_password_spends_the_token(client, session, holder_login):
    token = people.password_token(SECRET, holder_login, "invitation")
    data = {"password": "first-password", "confirm": "first-password"}
    assert client.post(f"/invite/{token}", data=data).status_code == 302
    assert client.get(f"/invite/{token}").location == "/reset"
    client.post("/logout")
    assert people.user_for_token(session, SECRET, token, "invitation") is None


def test_ending_the_sessions_spends_outstanding_tokens(session, make_user):
    user = make_user("finance")
    token = people.password_token(SECRET, user, "reset")
    assert people.user_for_token(session, SECRET, token, "reset") == user
    people.end_sessions(session, user.id)  # a logout, everywhere
    assert people.user_for_token(session, SECRET, token, "reset") is None


def test_deactivated_users_tokens_are_refused(session, make_user):
    user = make_user("support")
    token = people.password_token(SECRET, user, "reset")
    people.change_user(session, user.id, actor="t", acting_user_id=None, active=False)
    assert people.user_for_token(session, SECRET, token, "reset") is None
    people.change_user(session, user.id, actor="t", acting_user_id=None, active=True)
    assert people.user_for_token(session, SECRET, token, "reset") is None  # version moved


@pytest.mark.parametrize(("role", "shortest"), [("owner", 12), ("finance", 12), ("support", 12)])
def test_staff_passwords_have_at_least_12_characters(session, role, shortest):
    with pytest.raises(InvalidInput) as refused:
        people.create_user(session, f"{role}@s.example", role, actor="t", password="p" * 11)
    assert refused.value.code == "weak_password" and refused.value.field == "password"
    assert "12 characters" in refused.value.message
    people.create_user(session, f"{role}@s.example", role, actor="t", password="p" * shortest)


def test_customer_passwords_have_at_least_10_characters(session, make_account):
    account = make_account()
    with pytest.raises(InvalidInput) as refused:
        people.create_user(session, account.email, "customer", actor="t", password="p" * 9)
    assert refused.value.field == "password" and "10 characters" in refused.value.message
    user = people.create_user(session, account.email, "customer", actor="t", password="p" * 10)
    with pytest.raises(InvalidInput):
        people.set_password(session, user, "q" * 9, actor="t")


def test_set_password_page_asks_the_roles_length(client, session, holder_login, make_user):
    token = people.password_token(SECRET, holder_login, "invitation")
    page = client.get(f"/invite/{token}").get_data(as_text=True)
    assert "At least 10 characters." in page
    short = client.post(f"/invite/{token}", data={"password": "p" * 9, "confirm": "p" * 9})
    assert short.status_code == 422 and "Use at least 10 characters." in short.get_data(True)
    staff = make_user("owner")
    staff_token = people.password_token(SECRET, staff, "reset")
    short = client.post(f"/reset/{staff_token}", data={"password": "p" * 11, "confirm": "p" * 11})
    assert short.status_code == 422 and "Use at least 12 characters." in short.get_data(True)
    assert session.get(User, staff.id).password_hash == staff.password_hash


def test_admin_users_page_refuses_a_short_staff_password(client, login, session):
    login("owner")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "At least 12 characters for staff, 10 for customers." in page
    refused = client.post(
        "/admin/users", data={"email": "x@store.example", "role": "finance", "password": "p" * 11}
    )
    assert refused.status_code == 422
    assert "use at least 12 characters for this role" in refused.get_data(as_text=True)
