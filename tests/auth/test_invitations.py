"""Invitations and password resets: queued in the outbox, single-use links, CLI for staff."""

import re

import pytest
from sqlalchemy import func, select

from portal import credit, invitations, people
from portal.credit.errors import Conflict
from portal.credit.ledger import write_transaction
from portal.extensions import db
from portal.models import Holder, OutboxMessage, User


def _link_path(link):
    return re.sub(r"^https?://[^/]+", "", link)


def _outbox(session):
    session.rollback()
    return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_cli_invite_prints_a_link_that_sets_the_password(runner, client, make_account):
    account = make_account(email="Chief+Ops@Example.com")
    result = runner.invoke(args=["users", "invite", "chief+ops@example.com"])
    assert result.exit_code == 0, result.output
    assert "(e-mailed)" not in result.output  # no MAIL_SERVER: the invitation waits
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


def test_cli_invites_staff_logins_too(runner, client, session):
    people.create_user(session, "new.finance@store.example", "finance", actor="t")
    result = runner.invoke(args=["users", "invite", "new.finance@store.example"])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    done = client.post(
        _link_path(link), data={"password": "staff-password-1", "confirm": "staff-password-1"}
    )
    assert done.status_code == 302 and done.location == "/admin"
    created = runner.invoke(args=["users", "invite", "boss@store.example", "--role", "owner"])
    assert created.exit_code == 0, created.output
    assert session.scalar(select(User.role).where(User.email == "boss@store.example")) == "owner"
    again = runner.invoke(args=["users", "invite", "new.finance@store.example"])
    assert again.exit_code == 0 and "already has a password" in again.output


def test_invite_holder_queues_an_invitation_without_any_link(session, make_account):
    make_account(email="h@example.com")
    with write_transaction(session):
        user, queued = invitations.invite_holder(session, "H@example.com", actor="t")
    assert queued and user.role == "customer" and user.password_hash is None
    [message] = _outbox(session)
    assert (message.topic, message.recipient, message.status) == (
        "invitation",
        "h@example.com",
        "pending",
    )
    assert message.payload == {"user_id": user.id}  # no token, no link: made when sent
    user, queued = invitations.invite_holder(session, "h@example.com", actor="t")
    assert queued and len(_outbox(session)) == 1  # still waiting: not queued twice


def test_invite_holder_with_a_password_queues_nothing(session, make_account):
    account = make_account(email="has@example.com")
    people.create_user(session, account.email, "customer", actor="t", password="p" * 12)
    _user, queued = invitations.invite_holder(session, account.email, actor="t")
    assert not queued and _outbox(session) == []


def test_a_refused_invitation_writes_nothing_with_the_holder(session, make_account, make_user):
    account = make_account(email="main@example.com")
    staff = make_user("support", email="helpdesk@store.example")
    with pytest.raises(Conflict) as refused, write_transaction(session):
        credit.add_holder(session, account.id, staff.email, actor="t")
        invitations.invite_holder(session, staff.email, actor="t")
    assert refused.value.code == "not_a_customer" and refused.value.field == "email"
    session.rollback()
    assert (
        session.scalar(select(func.count()).select_from(Holder).where(Holder.email == staff.email))
        == 0
    )
    assert _outbox(session) == []


def test_holder_and_invitation_in_one_transaction(session, make_account):
    account = make_account(email="main2@example.com")
    with write_transaction(session):
        credit.add_holder(session, account.id, "kid@family.example", actor="t")
        _user, queued = invitations.invite_holder(session, "kid@family.example", actor="t")
    assert queued and [m.recipient for m in _outbox(session)] == ["kid@family.example"]


def test_enqueue_refuses_to_run_outside_a_write_transaction(session):
    from portal import outbox

    with pytest.raises(RuntimeError):
        outbox.enqueue(session, topic="reset", recipient="a@b.example", payload={})


def test_reset_request_never_reveals_accounts(client, make_user, session):
    make_user("finance", email="fin@staff.example")
    pages = []
    for email in ("fin@staff.example", "nobody@staff.example", "not an e-mail"):
        response = client.post("/reset", data={"email": email}, follow_redirects=True)
        pages.append((response.status_code, response.get_data(as_text=True)))
        assert "If the address has a login" in pages[-1][1]
    assert pages[0] == pages[1] == pages[2]
    assert [m.recipient for m in _outbox(session)] == ["fin@staff.example"]


def test_repeated_reset_requests_queue_one_message(client, make_user, session):
    make_user("finance", email="fin@staff.example")
    for _ in range(3):
        client.post("/reset", data={"email": "fin@staff.example"})
    assert len(_outbox(session)) == 1


def test_reset_link_changes_password(app, client, make_user, session):
    user = make_user("support", email="sup@staff.example")
    token = people.password_token(app.config["SECRET_KEY"], user, "reset")
    response = client.post(
        f"/reset/{token}", data={"password": "brand-new-pass", "confirm": "brand-new-pass"}
    )
    assert response.status_code == 302
    assert people.authenticate(session, "sup@staff.example", "brand-new-pass")
    assert session.get(User, user.id).password_hash


def test_invitation_is_emailed_over_smtp(app, runner, make_account, mailbox):
    make_account(email="mailme@example.com")
    result = runner.invoke(args=["users", "invite", "mailme@example.com"])
    assert result.exit_code == 0, result.output
    assert "(e-mailed)" in result.output
    [message] = mailbox.messages
    assert message["To"] == "mailme@example.com"
    assert "/invite/" in message.get_content()


def test_admin_creating_a_login_without_password_queues_its_invitation(client, login, session):
    login("owner")
    page = client.post(
        "/admin/users",
        data={"email": "new.support@store.example", "role": "support"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "the invitation to new.support@store.example waits in the outbox" in page
    assert "/invite/" not in page  # never a link on a page
    [message] = _outbox(session)
    assert (message.topic, message.recipient) == ("invitation", "new.support@store.example")
    client.post(
        "/admin/users", data={"email": "pw@store.example", "role": "finance", "password": "p" * 12}
    )
    assert len(_outbox(session)) == 1  # a login with a password needs no invitation
