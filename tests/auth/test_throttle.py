"""Sign-in and reset throttling, counted in the database, with a controlled clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import create_app, people, throttle
from portal.extensions import db
from portal.models import OutboxMessage, SignInThrottle

from ..conftest import ROLE_PASSWORD

ATTACKER = "203.0.113.7"
OWNER_PC = "198.51.100.20"


def post_login(client, email, password, address=ATTACKER):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def fail(client, email, times, address=ATTACKER):
    for _ in range(times):
        response = post_login(client, email, "wrong-password", address)
        assert response.status_code == 422, response.status_code


@pytest.fixture
def owner(make_user):
    return make_user("owner", email="boss@store.example")


def test_five_failures_then_429_without_checking_the_password(
    app, client, clock, owner, monkeypatch
):
    fail(client, owner.email, 5)
    checked = []
    monkeypatch.setattr(people, "authenticate", lambda *a, **k: checked.append(a))
    blocked = post_login(client, owner.email, ROLE_PASSWORD)
    assert blocked.status_code == 429 and checked == []
    page = blocked.get_data(as_text=True)
    assert "Too many attempts. Try again in 1 minute." in page
    assert blocked.headers["Retry-After"] == "30"


def test_waiting_the_delay_allows_one_more_try_and_the_delay_grows(app, client, clock, owner):
    fail(client, owner.email, 5)
    clock.advance(29)
    assert post_login(client, owner.email, "wrong-password").status_code == 429
    clock.advance(1)
    assert post_login(client, owner.email, "wrong-password").status_code == 422  # one try
    blocked = post_login(client, owner.email, "wrong-password")
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "60"
    clock.advance(60)
    fail(client, owner.email, 1)
    blocked = post_login(client, owner.email, ROLE_PASSWORD)
    assert blocked.headers["Retry-After"] == "120"
    assert "Try again in 2 minutes." in blocked.get_data(as_text=True)


def test_the_delay_is_capped_at_15_minutes(app):
    with app.app_context():
        delays = [throttle.pair_delay(n) for n in range(1, 15)]
    assert delays[:4] == [0, 0, 0, 0]
    assert delays[4:8] == [30, 60, 120, 240]
    assert max(delays) == 900 and delays[-1] == 900


def test_a_success_clears_the_pair(app, client, clock, owner, session):
    fail(client, owner.email, 4)
    assert post_login(client, owner.email, ROLE_PASSWORD).status_code == 302
    client.post("/logout")
    fail(client, owner.email, 4)  # four more free failures: the streak started over
    assert post_login(client, owner.email, "wrong-password").status_code == 422
    assert post_login(client, owner.email, ROLE_PASSWORD).status_code == 429


def test_a_blocked_pair_leaves_the_owner_free_from_another_address(app, client, clock, owner):
    fail(client, owner.email, 5)
    for _ in range(5):  # blocked attempts do not count (nor check anything)
        assert post_login(client, owner.email, ROLE_PASSWORD).status_code == 429
    fail(client, owner.email, 3, address="192.0.2.1")
    fail(client, owner.email, 4, address="192.0.2.2")
    assert post_login(client, owner.email, "wrong-password").status_code == 429
    clock.slept.clear()
    response = post_login(client, owner.email, ROLE_PASSWORD, address=OWNER_PC)
    assert response.status_code == 302 and response.location == "/admin"
    # the account-wide counter only made the owner wait a little, on the server
    assert clock.slept and 0 < clock.slept[-1] <= 2.0


def test_the_account_wide_counter_never_blocks_a_fresh_address(app, client, clock, owner):
    for n in range(4):  # a spray from many addresses, four guesses each
        fail(client, owner.email, 4, address=f"10.0.{n}.1")
    clock.slept.clear()
    for n in range(5):  # every fresh address still gets its answers (never 429)
        fail(client, owner.email, 1, address=f"10.1.{n}.1")
    assert max(clock.slept) == 2.0  # the pause grew to its bound, and no further
    assert post_login(client, owner.email, ROLE_PASSWORD, address=OWNER_PC).status_code == 302
    client.post("/logout")
    clock.slept.clear()
    post_login(client, owner.email, ROLE_PASSWORD, address=OWNER_PC)
    assert clock.slept == []  # a success forgave the account counter


def test_unknown_emails_are_throttled_alike(app, client, clock):
    fail(client, "nobody@store.example", 5)
    assert post_login(client, "nobody@store.example", "x").status_code == 429


def test_the_email_is_normalised_in_the_key(app, client, clock, owner):
    fail(client, "Boss@Store.example", 3)
    fail(client, " boss@store.example", 2)
    assert post_login(client, "BOSS@store.example", ROLE_PASSWORD).status_code == 429


def test_counters_live_in_the_database(app, client, clock, owner, session):
    fail(client, owner.email, 5)
    session.rollback()
    pair = session.get(SignInThrottle, throttle.pair_key("login", owner.email, ATTACKER))
    assert pair.failures == 5 and pair.blocked_until == clock.now + timedelta(seconds=30)
    account = session.get(SignInThrottle, throttle.account_key("login", owner.email))
    assert account.failures == 5
    # another worker (another app on the same database) sees the same block
    other = create_app(
        {
            "INSTANCE_PATH": app.instance_path,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "CLOCK": clock,
            "SLEEP": clock.sleep,
        }
    )
    try:
        with other.app_context():
            response = post_login(other.test_client(), owner.email, ROLE_PASSWORD)
            assert response.status_code == 429
    finally:
        with other.app_context():
            db.engine.dispose()


def test_counters_are_forgotten_after_a_quiet_day(app, client, clock, owner):
    fail(client, owner.email, 5)
    clock.advance(24 * 3600 + 1)
    fail(client, owner.email, 4)
    assert post_login(client, owner.email, ROLE_PASSWORD).status_code == 302


def test_reset_requests_are_throttled_per_pair_known_or_not(app, client, clock, owner, session):
    for email in (owner.email, "nobody@store.example"):
        for _ in range(5):
            response = client.post(
                "/reset", data={"email": email}, environ_base={"REMOTE_ADDR": ATTACKER}
            )
            assert response.status_code == 302
        blocked = client.post(
            "/reset", data={"email": email}, environ_base={"REMOTE_ADDR": ATTACKER}
        )
        assert blocked.status_code == 429
        assert "Too many attempts. Try again in 1 minute." in blocked.get_data(as_text=True)
    # the owner, elsewhere, can still ask (and failed logins never block a reset)
    fail(client, owner.email, 5, address=OWNER_PC)
    response = client.post(
        "/reset", data={"email": owner.email}, environ_base={"REMOTE_ADDR": OWNER_PC}
    )
    assert response.status_code == 302
    session.rollback()
    assert session.scalars(select(OutboxMessage.recipient)).all() == [owner.email]


def test_a_successful_reset_clears_the_login_throttle(app, client, clock, owner, session):
    fail(client, owner.email, 5)
    assert post_login(client, owner.email, ROLE_PASSWORD).status_code == 429
    token = people.password_token(app.config["SECRET_KEY"], owner, "reset", now=clock.now)
    new = "brand-new-password"
    done = client.post(
        f"/reset/{token}",
        data={"password": new, "confirm": new},
        environ_base={"REMOTE_ADDR": ATTACKER},
    )
    assert done.status_code == 302
    client.post("/logout")
    assert post_login(client, owner.email, new).status_code == 302


def test_the_password_change_form_is_throttled(app, client, clock, owner):
    post_login(client, owner.email, ROLE_PASSWORD)
    for _ in range(5):
        wrong = client.post(
            "/account/password",
            data={"current": "guess-guess", "password": "n" * 14, "confirm": "n" * 14},
            environ_base={"REMOTE_ADDR": ATTACKER},
        )
        assert wrong.status_code == 422
    blocked = client.post(
        "/account/password",
        data={"current": ROLE_PASSWORD, "password": "n" * 14, "confirm": "n" * 14},
        environ_base={"REMOTE_ADDR": ATTACKER},
    )
    assert blocked.status_code == 429


def test_real_clock_and_sleep_by_default(app, monkeypatch):
    slept = []
    monkeypatch.setattr(throttle.time, "sleep", slept.append)
    throttle.sleep(0.5)
    throttle.sleep(0)
    assert slept == [0.5]
    assert abs((throttle.now() - throttle.utcnow()).total_seconds()) < 5
