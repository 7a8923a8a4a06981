"""Outgoing e-mail over SMTP: plain, STARTTLS or implicit TLS (SMTP_SSL), and a login.

Messages that matter (invitations, resets, reminders) go through the outbox
(`portal/outbox.py`), which calls `compose` and `deliver` when it sends a row; nothing
here ever logs a message body, since bodies carry secret links.
"""

from __future__ import annotations

import smtplib
import ssl
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


class MailSettingsError(smtplib.SMTPException):
    """The MAIL_* settings contradict each other: no message can be sent until fixed."""


def tls_mode(config) -> str:
    """ "ssl" (implicit TLS, MAIL_SSL), "starttls" (MAIL_STARTTLS) or "" (plain SMTP).

    Both at once raise MailSettingsError: they are two ways to speak to different ports,
    and guessing one would either fail late or send in clear.
    """
    use_ssl, starttls = bool(config.get("MAIL_SSL")), bool(config.get("MAIL_STARTTLS"))
    if use_ssl and starttls:
        raise MailSettingsError(
            "MAIL_SSL and MAIL_STARTTLS are both set: choose one (MAIL_SSL for implicit TLS, "
            "usually port 465; MAIL_STARTTLS to upgrade a plain connection, usually port 587)."
        )
    return "ssl" if use_ssl else "starttls" if starttls else ""


def _connect(config) -> smtplib.SMTP:
    """An open connection to MAIL_SERVER, TLS as configured (certificates verified)."""
    mode = tls_mode(config)
    server, port = config["MAIL_SERVER"], int(config.get("MAIL_PORT", 25))
    timeout = float(config.get("MAIL_TIMEOUT", 10))
    if mode == "ssl":
        return smtplib.SMTP_SSL(server, port, timeout=timeout, context=ssl.create_default_context())
    smtp = smtplib.SMTP(server, port, timeout=timeout)
    if mode == "starttls":
        try:
            smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
    return smtp


def deliver(message: EmailMessage) -> None:
    """Hand the message to MAIL_SERVER; raises smtplib.SMTPException or OSError on failure
    (MailSettingsError when MAIL_SSL and MAIL_STARTTLS are both set)."""
    config = current_app.config
    with _connect(config) as smtp:
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
