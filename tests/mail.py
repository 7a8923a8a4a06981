"""An in-process SMTP server for the tests (aiosmtpd): what the app sends, received."""

from __future__ import annotations

import email
import email.policy
import socket


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
