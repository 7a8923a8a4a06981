"""The outbox: rows written with the change, sent after it, links made at send time."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import outbox, people
from portal.credit.ledger import write_transaction
from portal.models import OutboxMessage, User

from ..mail import free_port

PUBLIC = "https://credit.store.example"


@pytest.fixture(autouse=True)
def public_url(app):
    app.config["PUBLIC_URL"] = PUBLIC


def rows(session):
    session.rollback()  # see what other sessions committed
    return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def queue_reset(session, user):
    with write_transaction(session):
        return outbox.enqueue(
            session, topic="reset", recipient=user.email, payload={"user_id": user.id}
        ).id


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.get_content()).group(0)


def test_enqueue_joins_the_callers_transaction(session, make_user):
    user = make_user("finance")
    with pytest.raises(ZeroDivisionError), write_transaction(session):
        outbox.enqueue(session, topic="reset", recipient=user.email, payload={"user_id": user.id})
        1 / 0  # noqa: B018
    assert rows(session) == []
    queue_reset(session, user)
    [row] = rows(session)
    assert (row.status, row.attempts, row.payload) == ("pending", 0, {"user_id": user.id})


def test_dedupe_key_makes_one_message_per_cause(session, make_user):
    user = make_user("finance")
    with write_transaction(session):
        first = outbox.enqueue(
            session, topic="reset", recipient=user.email, payload={}, dedupe_key="k:1"
        )
        again = outbox.enqueue(
            session, topic="reset", recipient=user.email, payload={}, dedupe_key="k:1"
        )
    assert first is not None and again is None and len(rows(session)) == 1


def test_without_mail_server_rows_wait(app, session, make_user, runner):
    queue_reset(session, make_user("support"))
    assert outbox.send_pending(session) == (0, 0)
    assert [r.status for r in rows(session)] == ["pending"]
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0 and "sent 0, failed 0, pending 1" in result.output


def test_send_pending_renders_a_fresh_link_from_public_url(app, session, make_user, mailbox):
    user = make_user("owner")
    row_id = queue_reset(session, user)
    assert outbox.send_pending(session) == (1, 0)
    [message] = mailbox.messages
    [row] = rows(session)
    assert row.status == "sent" and row.sent_at is not None and row.last_error == ""
    # in the store's language (pt_BR by default): the login has not chosen one
    assert message["To"] == user.email and message["Subject"] == "Redefina a sua senha"
    assert message["Message-ID"].startswith(f"<outbox.{row_id}.")
    assert message["Message-ID"].endswith("@credit.store.example>")
    link = link_in(message)
    assert link.startswith(f"{PUBLIC}/reset/")
    token = link.rsplit("/", 1)[1]
    assert people.user_for_token(session, app.config["SECRET_KEY"], token, "reset") == user
    assert outbox.send_pending(session) == (0, 0)  # nothing sent twice


def test_reset_mail_link_ignores_the_host_header(app, client, session, make_user, mailbox):
    user = make_user("finance")
    response = client.post(
        "/reset",
        data={"email": user.email},
        headers={"Host": "evil.example"},
        buffered=True,  # the answer is delivered (closed): the mail goes out after it
    )
    assert response.status_code == 302
    [message] = mailbox.messages
    link = link_in(message)
    assert link.startswith(f"{PUBLIC}/reset/") and "evil.example" not in message.get_content()
    path = link.removeprefix(PUBLIC)
    assert client.get(path).status_code == 200
    assert [r.status for r in rows(session)] == ["sent"]


def test_an_smtp_refusal_keeps_the_row_and_never_breaks_the_page(
    app, client, session, make_user, mailbox, caplog
):
    user = make_user("support")
    mailbox.refuse = True
    with caplog.at_level(logging.DEBUG):
        response = client.post("/reset", data={"email": user.email}, follow_redirects=True)
    assert response.status_code == 200
    assert "If the address has a login" in response.get_data(as_text=True)
    [row] = rows(session)
    assert row.status == "pending" and row.attempts == 1 and "554" in row.last_error
    assert row.next_attempt_at > row.created_at
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "not sent: SMTPDataError" in ours  # (mail.log is the test SMTP server's own log)
    assert "/reset/" not in ours and "https://" not in ours  # never the link
    mailbox.refuse = False
    assert outbox.send_pending(session, now=row.next_attempt_at - timedelta(seconds=1)) == (0, 0)
    assert outbox.send_pending(session, now=row.next_attempt_at) == (1, 0)
    [row] = rows(session)
    assert row.status == "sent" and row.attempts == 2
    [message] = mailbox.messages
    assert message["Message-ID"] == outbox.message_id(row)  # the same on every attempt


def test_backoff_then_failed_after_five_attempts(app, session, make_user, mailbox):
    mailbox.refuse = True
    queue_reset(session, make_user("owner"))
    waits = []
    for attempt in range(1, 6):
        [row] = rows(session)
        at = row.next_attempt_at
        assert outbox.send_pending(session, now=at) == (0, 1)
        [row] = rows(session)
        assert row.attempts == attempt
        waits.append(row.next_attempt_at - at)
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert row.status == "failed" and "554" in row.last_error
    assert outbox.send_pending(session, now=row.next_attempt_at + timedelta(days=1)) == (0, 0)


def test_an_unreachable_server_leaves_the_batch_for_later(app, session, make_user):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    user = make_user("owner")
    for _ in range(3):
        queue_reset(session, user)
    assert outbox.send_pending(session) == (0, 1)
    tried, *waiting = rows(session)
    assert tried.attempts == 1 and tried.last_error
    assert [r.attempts for r in waiting] == [0, 0] and all(r.status == "pending" for r in waiting)


def test_invitation_rendered_at_send_time_and_dropped_when_obsolete(
    app, session, make_account, mailbox
):
    from portal import invitations

    make_account(email="kid@family.example")
    make_account(email="late@family.example")
    with write_transaction(session):
        invitations.invite_holder(session, "kid@family.example", actor="t")
        late, _queued = invitations.invite_holder(session, "late@family.example", actor="t")
    people.set_password(session, late, "chosen-already", actor="t")  # before it was sent
    assert outbox.send_pending(session) == (1, 1)
    [message] = mailbox.messages
    assert message["To"] == "kid@family.example" and "/invite/" in link_in(message)
    sent, obsolete = rows(session)
    assert sent.status == "sent"
    assert obsolete.status == "failed" and obsolete.last_error.startswith("obsolete")


def test_outbox_send_cli_prints_counts(app, runner, session, make_user, mailbox):
    user = make_user("owner")
    queue_reset(session, user)
    queue_reset(session, make_user("finance"))
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 2, failed 0, pending 0" in result.output
    assert len(mailbox.messages) == 2


def test_a_staff_invitation_from_the_cli_is_mailed(app, runner, session, mailbox):
    people.create_user(session, "ops@store.example", "support", actor="t")
    result = runner.invoke(args=["users", "invite", "ops@store.example"])
    assert result.exit_code == 0 and "(e-mailed)" in result.output
    [message] = mailbox.messages
    assert link_in(message).startswith(f"{PUBLIC}/invite/")
    password = select(User.password_hash).where(User.email == "ops@store.example")
    assert session.scalar(password) is None
