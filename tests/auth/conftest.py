"""Fixtures of the sign-in tests: an in-process SMTP server, a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


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
