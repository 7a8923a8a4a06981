"""Fixtures of the sign-in tests: an in-process SMTP server, a controlled clock."""

from __future__ import annotations

import email
import email.policy
import socket
from datetime import UTC, datetime, timedelta

import pytest


class Mailbox:
    """What an in-process SMTP server received; `refuse` makes it answer 554 to DATA."""

    def __init__(self, port: int):
        self.port = port
        self.messages: list[email.message.EmailMessage] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "554 5.6.0 Refused by the test server"
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:  # aiosmtpd cannot listen on port 0 itself
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mailbox(app):
    """An SMTP server on 127.0.0.1 that the app sends to (MAIL_SERVER set)."""
    from aiosmtpd.controller import Controller

    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=box.port)
    try:
        yield box
    finally:
        controller.stop()


class Clock:
    """A clock the app reads (CLOCK) and a sleep that only records (SLEEP)."""

    def __init__(self):
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def clock(app):
    """Controlled time for throttling, tokens and the outbox; sleeping never waits."""
    fake = Clock()
    app.config.update(CLOCK=fake, SLEEP=fake.sleep)
    return fake
