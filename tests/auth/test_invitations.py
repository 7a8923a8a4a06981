"""Invitations and password resets: single-use signed links, e-mail or CLI."""

import re

from portal import people
from portal.extensions import db
from portal.models import User


def _link_path(link):
    return re.sub(r"^https?://[^/]+", "", link)


def test_cli_invite_prints_a_link_that_sets_the_password(runner, client, make_account):
    account = make_account(email="Chief+Ops@Example.com")
    result = runner.invoke(args=["users", "invite", "chief+ops@example.com"])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:5000/invite/")
    page = client.get(_link_path(link))
    assert page.status_code == 200 and account.email in page.get_data(as_text=True)
    mismatch = client.post(
        _link_path(link), data={"password": "long-password-1", "confirm": "other-password"}
    )
    assert mismatch.status_code == 422 and "The passwords differ." in mismatch.get_data(True)
    done = client.post(
        _link_path(link), data={"password": "long-password-1", "confirm": "long-password-1"}
    )
    assert done.status_code == 302 and done.location.endswith("/my-credits")
    assert people.authenticate(db.session, "CHIEF+OPS@example.com", "long-password-1")
    client.post("/logout")
    reused = client.get(_link_path(link))
    assert reused.status_code == 302 and "/reset" in reused.location  # single use


def test_invite_requires_a_holder(runner):
    result = runner.invoke(args=["users", "invite", "stranger@example.com"])
    assert result.exit_code == 1 and "not_a_holder" in result.output


def test_tampered_or_expired_token_is_refused(app, session, make_account):
    make_account(email="h@example.com")
    user = people.invite_customer(session, "h@example.com", actor="t")
    token = people.password_token(app.config["SECRET_KEY"], user)
    assert people.user_for_token(session, app.config["SECRET_KEY"], token, 60) == user
    assert people.user_for_token(session, app.config["SECRET_KEY"], token + "x", 60) is None
    assert people.user_for_token(session, "other-secret", token, 60) is None
    assert people.user_for_token(session, app.config["SECRET_KEY"], token, -1) is None


def test_reset_request_never_reveals_accounts(client, make_user):
    make_user("finance", email="fin@staff.example")
    for email in ("fin@staff.example", "nobody@staff.example"):
        response = client.post("/reset", data={"email": email}, follow_redirects=True)
        assert "If the address has a login" in response.get_data(as_text=True)


def test_reset_link_changes_password(app, client, make_user, session):
    user = make_user("support", email="sup@staff.example")
    with app.test_request_context():
        token = people.password_token(app.config["SECRET_KEY"], user)
    response = client.post(
        f"/reset/{token}", data={"password": "brand-new-pass", "confirm": "brand-new-pass"}
    )
    assert response.status_code == 302
    assert people.authenticate(session, "sup@staff.example", "brand-new-pass")
    assert session.get(User, user.id).password_hash


def test_invitation_is_emailed_over_smtp(app, runner, make_account):
    import email
    import email.policy
    import socket

    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            return "250 OK"

    with socket.socket() as probe:  # aiosmtpd cannot listen on port 0 itself
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        make_account(email="mailme@example.com")
        result = runner.invoke(args=["users", "invite", "mailme@example.com"])
    finally:
        controller.stop()
    assert "(e-mailed)" in result.output
    [message] = received
    assert message["To"] == "mailme@example.com"
    assert "/invite/" in message.get_content()
