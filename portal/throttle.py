"""Sign-in and password-reset throttling, counted in the database (every worker, every host).

Two counters per attempt, both rows of `SignInThrottle`:

- the **pair** (scope, account e-mail, client address): the first `THROTTLE_FREE_ATTEMPTS`
  (5) failures in a row cost nothing; after them each further attempt must wait a growing
  delay (30 s, 60 s, 120 s … capped at 15 min). While it waits, an attempt is answered
  429 without the password being checked, and does not count. A success clears the pair.
- the **account** (scope, e-mail), over every address: it only adds a short server-side
  pause (at most `THROTTLE_ACCOUNT_MAX_DELAY`, 2 s) before the password is checked. It
  never blocks anyone, so an attacker spread over many addresses cannot lock the real
  owner out, and a password reset is never refused because of it.

An attempt is counted *before* the password is checked (and forgiven on success), so
parallel requests cannot slip more guesses through than the counter allows. Unknown and
known e-mails are counted alike. Scopes are independent: failed logins never throttle
password-reset requests. Counters are forgotten after `THROTTLE_FORGET_AFTER` seconds
without a failure.

Time and sleeping go through `now()` and `sleep()`, which use `app.config["CLOCK"]` (a
callable returning an aware datetime) and `app.config["SLEEP"]` when set, so tests control
time without waiting.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from flask_babel import ngettext
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from .credit.errors import InvalidInput
from .credit.ledger import write_transaction
from .credit.validation import normalize_email
from .models import SignInThrottle, utcnow

SCOPES = ("login", "reset")
KEY_LENGTH = 400
PURGE_PROBABILITY = 0.01  # share of attempts that also delete long-forgotten counters


def now() -> datetime:
    """The current time (UTC, aware): `app.config["CLOCK"]()` when set, else the real one."""
    clock = current_app.config.get("CLOCK") if has_app_context() else None
    return clock() if clock else utcnow()


def sleep(seconds: float) -> None:
    """Pause the request: `app.config["SLEEP"](seconds)` when set, else time.sleep."""
    if seconds <= 0:
        return
    pause = current_app.config.get("SLEEP") if has_app_context() else None
    (pause or time.sleep)(seconds)


@dataclass(frozen=True)
class Gate:
    """The verdict on one attempt: wait `retry_after` seconds (blocked), or go on after
    pausing `delay` seconds."""

    retry_after: int = 0
    delay: float = 0.0

    @property
    def blocked(self) -> bool:
        return self.retry_after > 0


def _setting(name: str, default):
    return current_app.config.get(name, default) if has_app_context() else default


def pair_delay(failures: int) -> int:
    """Seconds to wait after `failures` failures in a row of one pair (0 while free)."""
    free = int(_setting("THROTTLE_FREE_ATTEMPTS", 5))
    if failures < free:
        return 0
    base = int(_setting("THROTTLE_BASE_DELAY", 30))
    cap = int(_setting("THROTTLE_MAX_DELAY", 15 * 60))
    return min(cap, base * 2 ** min(failures - free, 20))


def account_delay(failures: int) -> float:
    """The short pause every attempt on an account pays after `failures` failures, anywhere."""
    free = int(_setting("THROTTLE_FREE_ATTEMPTS", 5))
    step = float(_setting("THROTTLE_ACCOUNT_STEP", 0.25))
    cap = float(_setting("THROTTLE_ACCOUNT_MAX_DELAY", 2.0))
    return max(0.0, min(cap, step * (failures - free + 1)))


def _email_key(email: str) -> str:
    try:
        return normalize_email(email)
    except InvalidInput:
        return str(email or "").strip().lower()


def _fit(key: str) -> str:
    if len(key) <= KEY_LENGTH:
        return key
    return key[:80] + "#" + hashlib.sha256(key.encode()).hexdigest()


def pair_key(scope: str, email: str, address: str | None) -> str:
    return _fit(f"{scope}:pair:{address or '-'}:{_email_key(email)}")


def account_key(scope: str, email: str) -> str:
    return _fit(f"{scope}:account:{_email_key(email)}")


def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(SignInThrottle)


def _locked_row(session: Session, key: str) -> SignInThrottle:
    """The counter row of `key`, created if missing, locked for this transaction."""
    query = (
        select(SignInThrottle)
        .where(SignInThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        session.execute(
            _insert(session)
            .values(key=key, failures=0)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        row = session.execute(query).scalar_one()
    return row


def _count(row: SignInThrottle, at: datetime) -> int:
    """Add one failure to `row` (forgetting an old streak first); returns the count before."""
    forget = timedelta(seconds=int(_setting("THROTTLE_FORGET_AFTER", 24 * 3600)))
    if row.last_failure_at is not None and at - row.last_failure_at > forget:
        row.failures, row.blocked_until = 0, None
    before = row.failures or 0
    row.failures = before + 1
    row.last_failure_at = at
    return before


def attempt(session: Session, scope: str, email: str, address: str | None) -> Gate:
    """Count one attempt of `scope` ("login" or "reset") for this e-mail from this address.

    Returns a blocked Gate (answer 429, check nothing) or the pause to make before checking.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown throttle scope {scope!r}")
    at = now()
    with write_transaction(session):
        pair = _locked_row(session, pair_key(scope, email, address))
        if pair.blocked_until is not None and pair.blocked_until > at:
            return Gate(retry_after=max(1, math.ceil((pair.blocked_until - at).total_seconds())))
        failures = _count(pair, at) + 1
        wait = pair_delay(failures)
        pair.blocked_until = at + timedelta(seconds=wait) if wait else None
        delay = 0.0
        if scope == "login":
            delay = account_delay(_count(_locked_row(session, account_key(scope, email)), at))
        if random.random() < PURGE_PROBABILITY:
            _purge(session, at)
    return Gate(delay=delay)


def succeeded(session: Session, scope: str, email: str, address: str | None) -> None:
    """Forgive the attempts of this pair and of the account: the right secret was given."""
    with write_transaction(session):
        # one row at a time, in the order `attempt` locks them (pair, then account)
        for key in (pair_key(scope, email, address), account_key(scope, email)):
            session.execute(
                delete(SignInThrottle)
                .where(SignInThrottle.key == key)
                .execution_options(synchronize_session=False)
            )


def _purge(session: Session, at: datetime) -> int:
    forget = timedelta(seconds=int(_setting("THROTTLE_FORGET_AFTER", 24 * 3600)))
    result = session.execute(
        delete(SignInThrottle)
        .where(
            SignInThrottle.last_failure_at < at - forget,
            or_(SignInThrottle.blocked_until.is_(None), SignInThrottle.blocked_until < at),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def purge(session: Session) -> int:
    """Delete the counters forgotten for `THROTTLE_FORGET_AFTER` (housekeeping)."""
    with write_transaction(session):
        return _purge(session, now())


def retry_message(seconds: int) -> str:
    """'Too many attempts. Try again in N minutes.' for a wait of `seconds`."""
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many attempts. Try again in %(num)d minute.",
        "Too many attempts. Try again in %(num)d minutes.",
        minutes,
    )
