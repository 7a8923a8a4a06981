"""The outbox: e-mails written in the transaction that causes them, sent afterwards.

- `enqueue` adds a row inside the caller's `write_transaction` (it never commits), so a
  change and the message it causes are saved together or not at all.
- `send_pending` claims due rows (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: in a
  write transaction) with a short lease, renders each one *at send time* by its topic,
  sends it over SMTP with a stable `Message-ID`, and marks it sent, or records the error
  and a later attempt (exponential backoff; "failed" after `OUTBOX_MAX_ATTEMPTS`). SMTP
  failures never raise out of it. A crash between sending and marking re-sends at most
  that one message, after the lease.
- Each message is rendered in its reader's language (`force_locale`): the saved choice of
  the login with the recipient's address, else the payload's "locale", else the store's
  Locale (a holder without a login). Renderers just write in the current locale.
- Messages that carry a secret link (invitation, reset) store only what is needed to make
  one (`{"user_id": 3}`): the token and the link are made fresh when the message is sent,
  so no usable link is ever stored, logged or shown.
- In the web process, rows enqueued during a request are sent once the response has been
  delivered (`call_on_close`), in an app context of their own: the answer never waits for
  SMTP, an SMTP failure is never a 500, and the timing of a reset request does not tell
  whether the address has a login. Without MAIL_SERVER the rows simply wait for
  `flask --app portal outbox send` (or a worker calling `send_pending`).
- The back-office (/admin/outbox) lists the rows and may `send_again` a failed one; the
  job `purge_sent` deletes sent rows after `OUTBOX_KEEP_DAYS` days.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from flask import Flask, after_this_request, current_app, has_request_context, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from . import mail
from .credit.errors import Conflict, NotFound
from .credit.ledger import audit, write_transaction
from .database import WRITE
from .models import OutboxMessage, User, WebhookAttempt
from .throttle import now as clock_now

# A renderer turns a row into (subject, body) or (subject, body, extra headers), or None
# when the message no longer makes sense (the invited user has chosen a password …).
Renderer = Callable[[Session, OutboxMessage, datetime], "tuple | None"]
_RENDERERS: dict[str, Renderer] = {}
# Called in the transaction that marks a row of the topic sent: (session, row id).
_ON_SENT: dict[str, Callable[[Session, int], None]] = {}
_REQUEST_IDS = "portal.outbox_ids"
# Refusals of one message; anything else (connection refused, timeout, login refused)
# means the server is unreachable and the rest of the batch waits for the next pass.
MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def register(
    topic: str, renderer: Renderer, *, on_sent: Callable[[Session, int], None] | None = None
) -> None:
    """Teach the outbox to render the messages of `topic` (and what to note once one is sent)."""
    _RENDERERS[topic] = renderer
    if on_sent is not None:
        _ON_SENT[topic] = on_sent


def _renderer(topic: str) -> Renderer | None:
    from . import invitations, reminder_mail  # noqa: F401  (register their topics)

    return _RENDERERS.get(topic)


def _config(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def enqueue(
    session: Session,
    *,
    topic: str,
    recipient: str,
    payload: dict,
    dedupe_key: str | None = None,
    kind: str = "email",
) -> OutboxMessage | None:
    """Add a message to the current write transaction (never commits by itself).

    With a `dedupe_key` already in the outbox nothing is added and None is returned: "at
    most one message per cause" is a database fact.
    """
    if not session.info.get(WRITE):
        raise RuntimeError("outbox.enqueue must run inside write_transaction")
    at = clock_now()
    values = {
        "kind": kind,
        "topic": topic,
        "recipient": recipient,
        "payload": dict(payload),
        "dedupe_key": dedupe_key,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": at,
        "last_error": "",
        "created_at": at,
    }
    if dedupe_key is None:
        row = OutboxMessage(**values)
        session.add(row)
        session.flush()
    else:
        new_id = session.execute(
            _insert(session)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxMessage.id)
        ).scalar_one_or_none()
        if new_id is None:
            return None
        row = session.get(OutboxMessage, new_id)
    _send_after_response(row.id)
    return row


def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(OutboxMessage)


def message_id(row: OutboxMessage) -> str:
    """The row's stable Message-ID: every attempt to send it carries the same one."""
    host = urlsplit(current_app.config.get("PUBLIC_URL") or "").hostname or "localhost"
    return f"<outbox.{row.id}.{int(row.created_at.timestamp())}@{host}>"


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt (1 min, 2, 4, 8 … ≤ 6 h)."""
    base = _config("OUTBOX_RETRY_DELAY", 60)
    return timedelta(seconds=min(6 * 3600, base * 2 ** max(0, min(attempts - 1, 20))))


def send_pending(
    session: Session,
    *,
    now: datetime | None = None,
    limit: int = 100,
    ids: list[int] | None = None,
) -> tuple[int, int]:
    """Send the due pending messages (only `ids`, when given); returns (sent, failed).

    Without MAIL_SERVER nothing is claimed and the rows stay pending. Never raises for an
    SMTP problem: the error is stored on the row with the time of the next attempt.
    """
    if not mail.configured():
        return 0, 0
    stamp = (lambda: now) if now is not None else clock_now
    claimed = _claim(session, stamp(), limit, ids)
    sent = failed = 0
    for position, row_id in enumerate(claimed):
        outcome = _send_one(session, row_id, stamp)
        if outcome == "sent":
            sent += 1
            continue
        failed += 1
        if outcome == "unreachable":
            _release(session, claimed[position + 1 :], stamp())
            break
    return sent, failed


def _claim(
    session: Session, at: datetime, limit: int, ids: list[int] | None, kind: str = "email"
) -> list[int]:
    """Lease the due rows of `kind` to this sender: one more attempt, no other sender until
    the lease ends (`OUTBOX_LEASE` seconds)."""
    query = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.kind == kind,
            OutboxMessage.next_attempt_at <= at,
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # rendered by PostgreSQL only
    )
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    with write_transaction(session):
        claimed = list(session.scalars(query))
        if claimed:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(claimed))
                .values(
                    attempts=OutboxMessage.attempts + 1,
                    next_attempt_at=at + timedelta(seconds=_config("OUTBOX_LEASE", 300)),
                )
                .execution_options(synchronize_session=False)
            )
    return claimed


def _send_one(session: Session, row_id: int, stamp) -> str:
    """Render and send one claimed row, then mark it: "sent", "failed" or "unreachable"."""
    row = session.get(OutboxMessage, row_id, populate_existing=True)
    topic = row.topic
    renderer = _renderer(topic)
    try:
        rendered = render(session, row, stamp())
        if rendered is not None:
            subject, body, headers = rendered
            message = mail.compose(
                row.recipient, subject, body, message_id=message_id(row), headers=headers
            )
    except Exception as error:  # a bug in one template must not stop the others
        session.rollback()
        current_app.logger.exception("outbox message %s (%s) not rendered", row_id, topic)
        _mark_failed(session, row_id, stamp(), f"render: {type(error).__name__}")
        return "failed"
    if rendered is None:
        reason = "obsolete: nothing to send any more" if renderer else f"unknown topic {topic}"
        _mark_failed(session, row_id, stamp(), reason, final=True)
        return "failed"
    try:
        mail.deliver(message)
    except (OSError, smtplib.SMTPException) as error:
        text = f"{type(error).__name__}: {error}"
        current_app.logger.warning("outbox message %s (%s) not sent: %s", row_id, topic, text[:200])
        _mark_failed(session, row_id, stamp(), text)
        return "failed" if isinstance(error, MESSAGE_ERRORS) else "unreachable"
    _mark_sent(session, row_id, stamp(), topic)
    return "sent"


def render(session: Session, row: OutboxMessage, now: datetime) -> tuple | None:
    """(subject, body, extra headers) of a row as it is sent at `now`, in its reader's
    language; None for an unknown topic or a message no longer wanted."""
    renderer = _renderer(row.topic)
    if renderer is None:
        return None
    with force_locale(_language(session, row)):  # every e-mail in its reader's language
        rendered = renderer(session, row, now)
    if rendered is None:
        return None
    subject, body, *extra = rendered
    return subject, body, dict(*extra)


def _language(session: Session, row: OutboxMessage) -> str:
    """The language a row is rendered in: its recipient's login's choice, else the one its
    payload asked for (the page language of a reset request), else the store's."""
    from .i18n import email_language  # (i18n → numbers → credit → webhooks → outbox)

    return email_language(session, row.recipient, (row.payload or {}).get("locale"))


def _mark_sent(session: Session, row_id: int, at: datetime, topic: str = "") -> None:
    with write_transaction(session):
        marked = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
            .values(status="sent", sent_at=at, last_error="")
            .execution_options(synchronize_session=False)
        ).rowcount
        if marked and topic in _ON_SENT:
            _ON_SENT[topic](session, row_id)


def _mark_failed(
    session: Session, row_id: int, at: datetime, error: str, *, final: bool = False
) -> None:
    with write_transaction(session):
        row = session.get(OutboxMessage, row_id, populate_existing=True, with_for_update=True)
        if row is None or row.status != "pending":
            return
        row.last_error = error[:500]
        if final or row.attempts >= _config("OUTBOX_MAX_ATTEMPTS", 5):
            row.status = "failed"
        else:
            row.next_attempt_at = at + retry_delay(row.attempts)


def _release(session: Session, row_ids: list[int], at: datetime) -> None:
    """Give back claimed rows that were not tried (the server was unreachable)."""
    if not row_ids:
        return
    with write_transaction(session):
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(row_ids), OutboxMessage.status == "pending")
            .values(attempts=OutboxMessage.attempts - 1, next_attempt_at=at + retry_delay(1))
            .execution_options(synchronize_session=False)
        )


# --- other kinds of rows (webhook calls: portal/webhooks.py sends and marks them) ---------


def claim(session: Session, kind: str, at: datetime, limit: int) -> list[int]:
    """Lease due rows of `kind` (e.g. "webhook") as e-mails are leased: SKIP LOCKED on
    PostgreSQL, one more attempt, no other sender until `OUTBOX_LEASE` ends."""
    return _claim(session, at, limit, None, kind=kind)


def release(session: Session, row_ids: list[int], at: datetime) -> None:
    """Give back claimed rows that were not tried (their destination just failed)."""
    _release(session, row_ids, at)


def counts(session: Session) -> dict[str, int]:
    """How many messages are pending, sent and failed."""
    rows = session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    return {"pending": 0, "sent": 0, "failed": 0, **{status: n for status, n in rows}}


def pending_emails(session: Session) -> int:
    """How many e-mails wait to be sent (the ones a missing MAIL_SERVER holds back)."""
    waiting = (OutboxMessage.status == "pending") & (OutboxMessage.kind == "email")
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(waiting)) or 0


# --- what the back-office does with rows -------------------------------------------------

# Topics whose e-mail carries a secret link (a token made when the row is sent).
LINK_TOPICS = ("invitation", "reset")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def may_send_again(row: OutboxMessage) -> bool:
    """Whether the back-office may send this row again: an e-mail that failed for good, or a
    pending one whose last attempt failed (it waits for its next try)."""
    if row.kind != "email":
        return False  # webhook deliveries: Redeliver on the Webhooks page
    return row.status == "failed" or (row.status == "pending" and bool(row.last_error))


def shown_error(row: OutboxMessage) -> str:
    """The row's last error as a page may show it: never a link of a message that has one."""
    error = row.last_error or ""
    return _URL.sub("[link]", error) if row.topic in LINK_TOPICS else error


def send_again(session: Session, row_id: int, *, actor: str) -> OutboxMessage:
    """Put a failed (or stuck pending) e-mail back in line, to be sent now.

    The row becomes pending with no attempts, due now; its last error is kept in the audit
    trail (`outbox.send_again`), not on the row. For an invitation or a reset, every link
    made for that login before is voided (its session version is bumped: a password token
    is bound to it, and the login's sessions end too), so only the link of the e-mail sent
    now works. Refused (Conflict) for a webhook delivery, a row that is neither failed nor
    stuck, and a link whose login no longer wants it (removed, deactivated, e-mail
    changed, or an invitation whose login has a password). With MAIL_SERVER set, the row
    is sent once the answer is delivered (as a newly queued one).
    """
    from . import people

    with write_transaction(session):
        row = session.get(OutboxMessage, row_id, populate_existing=True)
        if row is None:
            raise NotFound(
                "message_not_found", _("Outbox message %(id)s does not exist.", id=row_id)
            )
        user = _link_user(session, row) if row.topic in LINK_TOPICS else None
        row = session.get(OutboxMessage, row_id, populate_existing=True, with_for_update=True)
        if row.kind != "email":
            raise Conflict(
                "webhook_delivery", _("Webhook deliveries are sent again from the Webhooks page.")
            )
        if not may_send_again(row):
            raise Conflict(
                "not_stuck",
                _(
                    "Only a failed message, or a pending one whose last attempt failed, "
                    "can be sent again."
                ),
            )
        if user is not None:
            people.end_sessions(session, user.id)  # every older link of this login dies
        audit(
            session,
            actor,
            "outbox.send_again",
            row,
            topic=row.topic,
            recipient=row.recipient,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            fresh_link=user is not None,
        )
        row.status, row.attempts, row.last_error = "pending", 0, ""
        row.next_attempt_at, row.sent_at = clock_now(), None
    _send_after_response(row.id)
    return row


def _link_user(session: Session, row: OutboxMessage) -> User:
    """The login an invitation or reset is for, locked; Conflict when it wants none."""
    user_id = (row.payload or {}).get("user_id")
    user = (
        session.get(User, user_id, populate_existing=True, with_for_update=True)
        if isinstance(user_id, int)
        else None
    )
    if user is None or not user.active or user.email != row.recipient:
        raise Conflict(
            "obsolete",
            _(
                "This message is no longer needed: its login was removed, deactivated "
                "or has another e-mail address now."
            ),
        )
    if row.topic == "invitation" and user.password_hash:
        raise Conflict(
            "obsolete",
            _("This invitation is no longer needed: the login has chosen a password."),
        )
    return user


PURGE_BATCH = 500


def purge_sent(session: Session, now: datetime) -> int:
    """Delete sent rows (e-mails and webhook deliveries) sent more than OUTBOX_KEEP_DAYS
    days before `now`, a batch per transaction; returns how many were deleted.

    Pending and failed rows are never deleted. A webhook delivery's attempts (its log, which
    references the row) go with it; its event stays. Rows another worker has locked are
    skipped (SKIP LOCKED on PostgreSQL) and left for the next pass.
    """
    cutoff = now - timedelta(days=_config("OUTBOX_KEEP_DAYS", 30))
    old = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == "sent",
            func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < cutoff,
        )
        .order_by(OutboxMessage.id)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)  # rendered by PostgreSQL only
    )
    deleted = 0
    while True:
        with write_transaction(session):
            ids = list(session.scalars(old))
            if ids:
                session.execute(
                    delete(WebhookAttempt)
                    .where(WebhookAttempt.outbox_id.in_(ids))
                    .execution_options(synchronize_session=False)
                )
                session.execute(
                    delete(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sent")
                    .execution_options(synchronize_session=False)
                )
        deleted += len(ids)
        if len(ids) < PURGE_BATCH:
            return deleted


# --- sending from the web process --------------------------------------------------------


def _send_after_response(row_id: int) -> None:
    """Remember a row enqueued by this request, to send it once the answer is delivered."""
    if not has_request_context():
        return
    ids = request.environ.setdefault(_REQUEST_IDS, [])
    if not ids:
        after_this_request(_schedule)
    ids.append(row_id)


def _schedule(response):
    ids = list(request.environ.get(_REQUEST_IDS) or [])
    if ids and mail.configured():
        response.call_on_close(partial(send_in_background, current_app._get_current_object(), ids))
    return response


def send_in_background(app: Flask, ids: list[int]) -> None:
    """Send these rows in an app context of their own; log (never raise) any failure."""
    from .extensions import db

    try:
        with app.app_context():
            send_pending(db.session, ids=ids)
    except Exception as error:  # the answer is gone: nobody to tell but the log
        app.logger.warning("outbox messages %s left for later: %s", ids, type(error).__name__)
