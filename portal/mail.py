"""Outgoing e-mail: invitations, password resets and reminders, over plain SMTP."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


def send_mail(to: str, subject: str, body: str) -> bool:
    """Send a text e-mail when MAIL_SERVER is configured; returns whether it was sent."""
    server = current_app.config.get("MAIL_SERVER")
    if not server:
        current_app.logger.info("mail to %s not sent (no MAIL_SERVER): %s", to, subject)
        return False
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(server, int(current_app.config.get("MAIL_PORT", 25)), timeout=10) as smtp:
        smtp.send_message(message)
    return True
