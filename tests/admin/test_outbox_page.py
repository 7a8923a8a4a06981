"""/admin/outbox: owner and finance; filters; never a link or token of an invitation or a
reset; Send again (a fresh link, the old one dead), with CSRF and the confirm dialog."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from portal import invitations, outbox, people
from portal.credit.ledger import write_transaction
from portal.models import AuditEvent, OutboxMessage, User

from ..conftest import ROLE_PASSWORD

PUBLIC = "https://credit.store.example"
HTMX = {"HX-Request": "true"}
SMTP_NOTE = "No SMTP server configured: messages wait here until MAIL_SERVER is set."


@pytest.fixture(autouse=True)
def public_url(app):
    app.config["PUBLIC_URL"] = PUBLIC


def page(client, query="", headers=None):
    response = client.get(f"/admin/outbox{query}", headers=headers or {})
    return response, response.get_data(as_text=True)


def shown_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'id="outbox-(\d+)"', html)}


def queue(session, topic, recipient, payload=None, *, kind="email") -> int:
    with write_transaction(session):
        row = outbox.enqueue(
            session, topic=topic, recipient=recipient, payload=payload or {}, kind=kind
        )
        return row.id


def mark(session, row_id, **values) -> None:
    """Put a row in a state the sender would leave it in (failed, sent …)."""
    with write_transaction(session):
        row = session.get(OutboxMessage, row_id)
        for name, value in values.items():
            setattr(row, name, value)


def reload(session, row_id) -> OutboxMessage:
    session.rollback()  # see what the request committed
    return session.get(OutboxMessage, row_id, populate_existing=True)


def invited(session, email="new.customer@example.com") -> tuple[User, int]:
    """A login without a password and its queued invitation."""
    with write_transaction(session):
        user, queued = invitations.invite_login(session, email, actor="test", role="finance")
    assert queued
    row_id = session.scalar(select(OutboxMessage.id).where(OutboxMessage.recipient == email))
    return user, row_id


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


# --- who may see it ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "finance"])
def test_owner_and_finance_see_it(client, login, role):
    login(role)
    response, html = page(client)
    assert response.status_code == 200 and "<html" in html
    assert "Nothing in the outbox" in html
    assert client.get("/admin/outbox/counts").status_code == 200


@pytest.mark.parametrize("role", ["support", "customer"])
def test_support_and_customers_are_refused(client, login, make_account, session, role):
    if role == "customer":
        account = make_account(email="cust@outbox.example")
        user = people.create_user(
            session, account.email, "customer", actor="t", password=ROLE_PASSWORD
        )
        login(user=user)
    else:
        login(role)
    row_id = queue(session, "reminder", "someone@example.com")
    mark(session, row_id, status="failed", last_error="SMTPDataError: 554")
    assert client.get("/admin/outbox").status_code == 403
    assert client.get("/admin/outbox/counts").status_code == 403
    assert client.post(f"/admin/outbox/{row_id}/send-again").status_code == 403
    assert reload(session, row_id).status == "failed"


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/admin/outbox")
    assert response.status_code == 302 and "/login" in response.location


# --- the list --------------------------------------------------------------------------------


def test_rows_newest_first_with_words_and_counts(client, login, session, make_user):
    login("owner")
    user = make_user("finance")
    reset = queue(session, "reset", user.email, {"user_id": user.id})
    reminder = queue(session, "reminder", "buyer@example.com")
    hook = queue(session, "invoice.paid", "7", {"event_id": "e1"}, kind="webhook")
    mark(session, reminder, status="failed", attempts=5, last_error="SMTPDataError: 554 no")
    now = outbox.clock_now()
    mark(session, hook, status="sent", sent_at=now, created_at=now + timedelta(seconds=5))
    response, html = page(client)
    assert response.status_code == 200
    positions = [html.index(f'id="outbox-{n}"') for n in (hook, reminder, reset)]
    assert positions == sorted(positions)  # newest first (the webhook row was made last)
    for words in ("Password reset", "Reminder", "invoice.paid", "Endpoint #7", "Webhook"):
        assert words in html
    assert "SMTPDataError: 554 no" in html
    assert "1 waiting" in html and "1 failed" in html
    assert SMTP_NOTE in html  # the reset waits: no MAIL_SERVER
    # Send again only on the failed e-mail
    assert f"/admin/outbox/{reminder}/send-again" in html
    assert f"/admin/outbox/{reset}/send-again" not in html
    assert f"/admin/outbox/{hook}/send-again" not in html


def test_the_smtp_note_only_without_a_server_and_with_waiting_emails(client, login, session, app):
    login("finance")
    assert SMTP_NOTE not in page(client)[1]  # nothing waits
    queue(session, "reminder", "buyer@example.com")
    assert SMTP_NOTE in page(client)[1]
    app.config["MAIL_SERVER"] = "smtp.example.com"
    assert SMTP_NOTE not in page(client)[1]


def test_filters_and_search(client, login, session):
    login("finance")
    a = queue(session, "invitation", "ann@example.com", {"user_id": 999})
    b = queue(session, "reminder", "bob@example.com")
    c = queue(session, "invoice.paid", "3", {"event_id": "e1"}, kind="webhook")
    d = queue(session, "reset", "bob.other@example.com", {"user_id": 998})
    mark(session, b, status="failed", last_error="x")
    mark(session, c, status="sent", sent_at=outbox.clock_now())
    cases = {
        "": {a, b, c, d},
        "?status=failed": {b},
        "?status=pending": {a, d},
        "?status=sent": {c},
        "?kind=webhook": {c},
        "?kind=email": {a, b, d},
        "?kind=e-mail": {a, b, d},
        "?topic=reset": {d},
        "?topic=invoice.paid": {c},
        "?q=bob": {b, d},
        "?q=BOB&status=pending": {d},
        "?sort=attempts": {a, b, c, d},
    }
    for query, expected in cases.items():
        response, html = page(client, query)
        assert response.status_code == 200, query
        assert shown_ids(html) == expected, query
    response, html = page(client, "?status=failed", headers=HTMX)
    assert response.status_code == 200 and "<html" not in html
    assert shown_ids(html) == {b} and "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    "query",
    [
        "?status=bogus",
        "?status=%C2%B2",
        "?kind=fax",
        "?topic=%3Cscript%3E",
        "?topic=" + "x" * 40,
        "?page=abc",
        "?page=-1",
        "?perPage=%C2%B2",
        "?sort=password_hash",
        "?q=" + "x" * 5000,
    ],
)
def test_bad_filter_values_are_dropped_like_every_list(client, login, session, query):
    login("owner")
    row_id = queue(session, "reminder", "buyer@example.com")
    response, html = page(client, query)
    assert response.status_code == 200, html[:300]
    if "q=" not in query:
        assert shown_ids(html) == {row_id}  # the bad filter is ignored, the list shown


def test_a_nul_in_the_query_string_is_a_400(client, login):
    login("owner")
    assert client.get("/admin/outbox?topic=a%00b").status_code == 400


# --- never a link ----------------------------------------------------------------------------


def test_never_a_link_or_token_of_an_invitation_or_reset(client, login, session, make_user):
    login("owner")
    user, invitation = invited(session)
    staff = make_user("support")
    with write_transaction(session):
        reset = outbox.enqueue(
            session, topic="reset", recipient=staff.email, payload={"user_id": staff.id}
        ).id
    links = [invitations.invitation_link(user), invitations.reset_link(staff)]
    # an SMTP error that quotes the message would carry its link: it is blanked out
    mark(session, reset, status="failed", last_error=f"SMTPDataError: 554 rejected {links[1]}")
    for query in ("", "?status=failed", "?topic=reset"):
        html = page(client, query)[1]
        assert invitation in shown_ids(html) or reset in shown_ids(html)
        for link in links:
            token = link.rsplit("/", 1)[-1]
            assert token not in html and path_of(link) not in html
        assert "/invite/" not in html and "/reset/" not in html
        assert "user_id" not in html
    assert "SMTPDataError: 554 rejected [link]" in page(client)[1]


# --- send again --------------------------------------------------------------------------------


def test_send_again_makes_a_fresh_link_and_the_old_one_dies(client, login, session, mailbox, app):
    owner = login("owner")
    user, row_id = invited(session)
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    mailbox.refuse = True
    assert outbox.send_pending(session) == (0, 1)
    row = reload(session, row_id)
    assert row.status == "failed" and "Refused by the test server" in row.last_error
    old_link = invitations.invitation_link(user)  # what the lost e-mail carried
    assert client.get(path_of(old_link)).status_code == 200

    mailbox.refuse = False
    response = client.post(f"/admin/outbox/{row_id}/send-again", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert html.lstrip().startswith(f'<tr id="outbox-{row_id}"') and "<html" not in html
    trigger = response.headers["HX-Trigger"]
    assert "outbox-changed" in trigger and "back in line" in trigger
    assert "/invite/" not in html

    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.send_again"))
    [event] = audit.all()
    assert event.actor == owner.email and event.target_id == str(row_id)
    assert "Refused by the test server" in event.details["last_error"]
    assert event.details["fresh_link"] is True

    # the old link no longer works …
    dead = client.get(path_of(old_link))
    assert dead.status_code == 302 and dead.location.endswith("/reset")
    # … and the e-mail sent now carries a new one that does
    outbox.send_pending(session)
    row = reload(session, row_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    [message] = mailbox.messages
    new_link = re.search(r"https?://\S+", message.get_content()).group(0)
    assert new_link != old_link and new_link.startswith(f"{PUBLIC}/invite/")
    assert client.get(path_of(new_link)).status_code == 200
    assert "/invite/" not in page(client)[1]


def test_send_again_of_a_reset_voids_the_earlier_link(client, login, session, make_user):
    login("finance")
    staff = make_user("support")
    with write_transaction(session):
        row_id = outbox.enqueue(
            session, topic="reset", recipient=staff.email, payload={"user_id": staff.id}
        ).id
    mark(session, row_id, attempts=2, last_error="SMTPServerDisconnected: closed")
    old_link = invitations.reset_link(staff)
    assert client.get(path_of(old_link)).status_code == 200
    response = client.post(f"/admin/outbox/{row_id}/send-again", headers=HTMX)
    assert response.status_code == 200  # a pending row whose last attempt failed
    row = reload(session, row_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, "")
    assert row.next_attempt_at <= outbox.clock_now()
    assert client.get(path_of(old_link)).status_code == 302
    fresh = invitations.reset_link(session.get(User, staff.id, populate_existing=True))
    assert client.get(path_of(fresh)).status_code == 200


def test_send_again_of_a_reminder_changes_no_login(client, login, session):
    owner = login("owner")
    row_id = queue(session, "reminder", owner.email)
    mark(session, row_id, status="failed", attempts=5, last_error="SMTPDataError: 554")
    version = owner.session_version
    response = client.post(f"/admin/outbox/{row_id}/send-again")  # without JavaScript
    assert response.status_code == 302 and response.location.endswith("/admin/outbox")
    assert reload(session, row_id).status == "pending"
    assert session.get(User, owner.id, populate_existing=True).session_version == version
    html = page(client)[1]
    assert "back in line" in html  # the flashed message
    assert client.get("/admin").status_code == 200  # still logged in


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ({"status": "sent"}, 409),
        ({"status": "pending"}, 409),  # waiting, never failed: nothing stuck
        ({"status": "failed", "kind": "webhook"}, 409),
    ],
)
def test_send_again_is_refused_when_nothing_is_stuck(client, login, session, state, code):
    login("owner")
    row_id = queue(session, "reminder", "buyer@example.com")
    mark(session, row_id, last_error="" if state["status"] == "pending" else "x", **state)
    response = client.post(f"/admin/outbox/{row_id}/send-again", headers=HTMX)
    assert response.status_code == code
    assert unquote(response.headers["HX-Error-Message"])
    assert reload(session, row_id).status == state["status"]
    assert session.scalars(select(AuditEvent).where(AuditEvent.action.like("outbox%"))).all() == []


def test_an_invitation_no_longer_needed_is_refused(client, login, session):
    login("owner")
    user, row_id = invited(session)
    mark(session, row_id, status="failed", last_error="x")
    people.set_password(session, user, "a-long-password-1234", actor="test")
    response = client.post(f"/admin/outbox/{row_id}/send-again", headers=HTMX)
    assert response.status_code == 409
    assert "no longer needed" in unquote(response.headers["HX-Error-Message"])
    assert reload(session, row_id).status == "failed"


def test_an_unknown_row_is_a_404(client, login):
    login("owner")
    assert client.post("/admin/outbox/999999/send-again", headers=HTMX).status_code == 404


def test_send_again_requires_the_csrf_token(client, login, session, app):
    login("owner")
    row_id = queue(session, "reminder", "buyer@example.com")
    mark(session, row_id, status="failed", last_error="x")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/admin/outbox/{row_id}/send-again").status_code == 400
    forged = client.post(
        f"/admin/outbox/{row_id}/send-again", headers={**HTMX, "X-CSRFToken": "forged"}
    )
    assert forged.status_code == 400
    assert reload(session, row_id).status == "failed"
    html = page(client)[1]
    form = html[html.index(f'action="/admin/outbox/{row_id}/send-again"') :]
    assert 'data-confirm="' in form[:2000] and 'data-confirm-button="Send again"' in form[:2000]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post(f"/admin/outbox/{row_id}/send-again", data={"csrf_token": token})
    assert response.status_code == 302
    assert reload(session, row_id).status == "pending"
