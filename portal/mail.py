"""Outgoing e-mail over plain SMTP (optionally STARTTLS and a login).

Messages that matter (invitations, resets, reminders) go through the outbox
(`portal/outbox.py`), which calls `compose` and `deliver` when it sends a row; nothing
here ever logs a message body, since bodies carry secret links.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app


def configured() -> bool:
    """Whether an SMTP server is set (MAIL_SERVER); without one, mail waits in the outbox."""
    return bool(current_app.config.get("MAIL_SERVER"))


def compose(
    to: str,
    subject: str,
    body: str,
    *,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A plain-text message from MAIL_SENDER; `message_id` keeps retries recognisable;
    `headers` are added as they are (e.g. List-Unsubscribe)."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    if message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


def deliver(message: EmailMessage) -> None:
    """Hand the message to MAIL_SERVER; raises smtplib.SMTPException or OSError on failure."""
    config = current_app.config
    server, port = config["MAIL_SERVER"], int(config.get("MAIL_PORT", 25))
    with smtplib.SMTP(server, port, timeout=float(config.get("MAIL_TIMEOUT", 10))) as smtp:
        if config.get("MAIL_STARTTLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)


def send_mail(to: str, subject: str, body: str, *, message_id: str | None = None) -> bool:
    """Send a text e-mail now when MAIL_SERVER is configured; returns whether it was sent.

    SMTP errors propagate. Prefer `outbox.enqueue` for anything that must not be lost.
    """
    if not configured():
        current_app.logger.info("mail to %s not sent (no MAIL_SERVER): %s", to, subject)
        return False
    deliver(compose(to, subject, body, message_id=message_id))
    return True
