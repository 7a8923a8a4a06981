"""Webhooks: signed HTTP calls (Standard Webhooks) that tell other systems what happened.

- **Endpoints** (URL, events or all, secret, active) are added by the owner
  (`add_endpoint`). The signing secret (`whsec_` + base64 of 32 random bytes) is shown
  once and stored encrypted (Fernet, with a key derived from SECRET_KEY by HKDF: changing
  SECRET_KEY makes every secret unreadable, and the endpoints need `rotate_secret`).
- **Targets**: https to a public address only. The host is resolved and every address
  must be global (not private, loopback, link-local, reserved, shared or multicast), at
  registration and again at each delivery, which then connects to the very address it
  checked (no second lookup: DNS rebinding cannot swap in an internal address). Redirects
  are never followed (a 3xx is a failed delivery). `WEBHOOKS_ALLOW_PRIVATE` lifts this
  for local development and tests, and then also allows plain http to such an address.
- **Events** are written in the transaction of the change that causes them (`emit`, one
  line in the credit operation): one `WebhookEvent` (payload `{type, timestamp, data}`,
  `data` being the API's own representation of the invoice or account) and one outbox row
  (kind "webhook", recipient = endpoint id) per active endpoint that wants it. With no
  active endpoint an operation pays one small query per transaction, nothing per call.
- **Calendar events** (invoice.due_soon, invoice.overdue, account.on_hold) come from the
  job `webhook_calendar(session, now)`: each state transition once, made a database fact
  by `WebhookEvent.dedupe_key` (e.g. `invoice.overdue:<invoice>:<due date>`); each
  account is claimed with `FOR UPDATE SKIP LOCKED` on its row, as every job does.
- **Delivery**: the job `deliver_webhooks(session, now)` leases due outbox rows of kind
  "webhook" (`outbox.claim`), POSTs the payload with `webhook-id` (the event id, the same
  on every retry), `webhook-timestamp` and `webhook-signature`, and records a
  `WebhookAttempt` per try. 2xx is sent; anything else is tried again later (exponential
  backoff) and "failed" after `WEBHOOKS_MAX_ATTEMPTS`. An endpoint failing for longer
  than `WEBHOOKS_DISABLE_AFTER` is disabled (`disabled_endpoints` for a notice).
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from . import outbox
from .credit.errors import Conflict, InvalidInput, NotFound
from .credit.ledger import write_transaction
from .credit.settings import get_settings
from .database import WRITE
from .models import (
    Account,
    Invoice,
    OutboxMessage,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from .throttle import now as clock_now

EVENTS = (
    "invoice.created",
    "invoice.due_soon",
    "invoice.overdue",
    "invoice.paid",
    "invoice.cancelled",
    "account.limit_changed",
    "account.on_hold",
    "account.hold_lifted",
)
CALENDAR_EVENTS = ("invoice.due_soon", "invoice.overdue", "account.on_hold")
ALL = "*"
KIND = "webhook"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# A calendar transition missed while no worker ran is still told within this many days;
# older ones are not (a new endpoint does not receive years of overdue invoices).
CATCH_UP_DAYS = 7
BATCH = 10  # rows leased at a time: a few slow endpoints stay well within OUTBOX_LEASE
MAX_PER_PASS = 200
USER_AGENT = "CustomerCreditPortal-Webhooks/1"
_CACHE = "portal.webhook_endpoints"
_HKDF_INFO = b"customer-credit-portal webhook secrets v1"


def _config(name: str, default):
    return current_app.config.get(name, default)


# --- secrets -----------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh signing secret, Standard Webhooks style: whsec_ + base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _fernet() -> Fernet:
    secret_key = current_app.config["SECRET_KEY"]
    if isinstance(secret_key, str):
        secret_key = secret_key.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key)
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(stored: str) -> str:
    """The endpoint's secret; InvalidToken when SECRET_KEY changed since it was stored."""
    return _fernet().decrypt(stored.encode()).decode()


def sign(secret: str, event_id: str, at: datetime, body: str) -> str:
    """The webhook-signature header: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">."""
    return Webhook(secret).sign(event_id, at.astimezone(UTC), body)


# --- where calls may go ------------------------------------------------------------------


class TargetRefused(Exception):
    """The URL may not be called: not https, not resolvable, or not a public address."""


def _allow_private() -> bool:
    return bool(_config("WEBHOOKS_ALLOW_PRIVATE", False))


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve_target(url: str, *, allow_private: bool | None = None) -> list[str]:
    """The addresses `url` may be called at, checked; raises TargetRefused.

    Every address the host resolves to must be public (one private answer is enough to
    refuse: a resolver could hand out either). Plain http is allowed only to a private
    address and only with `WEBHOOKS_ALLOW_PRIVATE`.
    """
    allow_private = _allow_private() if allow_private is None else allow_private
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise TargetRefused(_("not a valid URL (%(error)s)", error=error)) from None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in ("https", "http") or not host:
        raise TargetRefused(_("the URL must start with https:// and name a host"))
    if parts.username or parts.password:
        raise TargetRefused(_("the URL must not carry a user name or password"))
    try:
        infos = socket.getaddrinfo(
            host, port or (443 if scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError):
        raise TargetRefused(_("the host %(host)s does not resolve", host=host)) from None
    addresses = list(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
    private = [a for a in addresses if not _public(ipaddress.ip_address(a))]
    if private and not allow_private:
        raise TargetRefused(
            _(
                "%(host)s resolves to a private, loopback or reserved address (%(address)s): "
                "webhooks only go to public addresses",
                host=host,
                address=private[0],
            )
        )
    if scheme == "http" and not (allow_private and len(private) == len(addresses)):
        raise TargetRefused(_("the URL must use https"))
    return addresses


def _clean_url(url) -> str:
    url = str(url or "").strip()
    if not url:
        raise InvalidInput("invalid_url", _("The URL is required."), "url")
    if len(url) > 1000:
        raise InvalidInput("invalid_url", _("The URL is longer than 1000 characters."), "url")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise InvalidInput("invalid_url", _("The URL must not contain spaces."), "url")
    if "#" in url:
        raise InvalidInput("invalid_url", _("The URL must not have a #fragment."), "url")
    try:
        resolve_target(url)
    except TargetRefused as error:
        raise InvalidInput(
            "invalid_url", _("URL refused: %(reason)s.", reason=error), "url"
        ) from None
    return url


def _clean_events(events) -> list[str]:
    if isinstance(events, str):
        events = [e.strip() for e in events.split(",") if e.strip()]
    events = [str(e) for e in events or ()]
    if not events:
        raise InvalidInput("invalid_events", _("Choose at least one event (or all)."), "events")
    if ALL in events or "all" in events:
        return [ALL]
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise InvalidInput(
            "invalid_events",
            _(
                "Unknown event %(event)s; known: %(known)s.",
                event=unknown[0],
                known=", ".join(EVENTS),
            ),
            "events",
        )
    return [e for e in EVENTS if e in events]


# --- endpoints ---------------------------------------------------------------------------


def add_endpoint(session: Session, url, events, *, actor: str) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its secret, which is never shown again.

    `events` is a list of event types, or "all" / ["*"]. The URL must be https to a public
    address (see `resolve_target`).
    """
    url = _clean_url(url)
    events = _clean_events(events)
    secret = new_secret()
    with write_transaction(session):
        endpoint = WebhookEndpoint(
            url=url,
            events=events,
            secret=encrypt_secret(secret),
            active=True,
            created_by=str(actor)[:254],
            created_at=utcnow(),
            failing_since=None,
            disabled_reason="",
        )
        session.add(endpoint)
        session.flush()
        _forget_endpoints(session)
    current_app.logger.info("webhook endpoint %s added by %s", endpoint.id, actor)
    return endpoint, secret


def get_endpoint(session: Session, endpoint_id) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, _int(endpoint_id), populate_existing=True)
    if endpoint is None:
        raise NotFound(
            "endpoint_not_found",
            _("Webhook endpoint %(endpoint)s does not exist.", endpoint=endpoint_id),
        )
    return endpoint


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def rotate_secret(session: Session, endpoint_id, *, actor: str) -> str:
    """A new secret for the endpoint, returned once; the old one stops working at once."""
    secret = new_secret()
    with write_transaction(session):
        endpoint = _locked_endpoint(session, endpoint_id)
        endpoint.secret = encrypt_secret(secret)
    current_app.logger.info("webhook endpoint %s: secret rotated by %s", endpoint.id, actor)
    return secret


def set_active(session: Session, endpoint_id, active: bool, *, actor: str) -> WebhookEndpoint:
    """Deactivate (nothing more is sent to it) or reactivate an endpoint.

    Reactivating clears the failure record; deliveries that failed meanwhile can be sent
    again with `redeliver`.
    """
    with write_transaction(session):
        endpoint = _locked_endpoint(session, endpoint_id)
        endpoint.active = bool(active)
        endpoint.failing_since = None
        endpoint.disabled_reason = "" if active else f"Deactivated by {actor}"[:500]
        _forget_endpoints(session)
    return endpoint


def _locked_endpoint(session: Session, endpoint_id) -> WebhookEndpoint:
    endpoint = session.get(
        WebhookEndpoint, _int(endpoint_id), populate_existing=True, with_for_update=True
    )
    if endpoint is None:
        raise NotFound(
            "endpoint_not_found",
            _("Webhook endpoint %(endpoint)s does not exist.", endpoint=endpoint_id),
        )
    return endpoint


def endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def disabled_endpoints(session: Session) -> list[WebhookEndpoint]:
    """Endpoints the portal disabled because their deliveries kept failing (for a notice);
    those an owner deactivated by hand are not listed."""
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.active.is_(False), WebhookEndpoint.failing_since.is_not(None))
            .order_by(WebhookEndpoint.id)
        )
    )


# --- events ------------------------------------------------------------------------------


def _active_endpoints(session: Session) -> list[tuple[int, frozenset | None]]:
    """(id, event types or None for all) of the active endpoints: read once per transaction."""
    cached = session.info.get(_CACHE)
    if cached is None:
        rows = session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.events).where(
                WebhookEndpoint.active.is_(True)
            )
        ).all()
        cached = [
            (endpoint_id, None if ALL in (events or []) else frozenset(events or []))
            for endpoint_id, events in rows
        ]
        session.info[_CACHE] = cached
    return cached


def _forget_endpoints(session: Session) -> None:
    session.info.pop(_CACHE, None)


@sa_event.listens_for(Session, "after_transaction_end")
def _end_of_transaction(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CACHE, None)


def _targets(session: Session, event_type: str) -> list[int]:
    return [
        endpoint_id
        for endpoint_id, types in _active_endpoints(session)
        if types is None or event_type in types
    ]


def _represent(session: Session, obj) -> dict:
    """The API's own representation of the invoice or account."""
    from .api import serializers  # the API package imports the credit engine: import late

    settings = get_settings(session)
    if isinstance(obj, Invoice):
        return serializers.invoice(obj, settings)
    if isinstance(obj, Account):
        return serializers.account(obj, settings.tolerance_enabled)
    raise TypeError(f"no webhook representation for {type(obj).__name__}")


def _json(value) -> str:
    from .api.payload import dumps  # Decimals written as exact numbers, as the API does

    return dumps(value)


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def emit(
    session: Session,
    event_type: str,
    obj,
    *,
    dedupe_key: str | None = None,
    at: datetime | None = None,
) -> WebhookEvent | None:
    """Record that `event_type` happened to `obj` (an Invoice or an Account), inside the
    caller's write transaction, for every active endpoint that wants it.

    Returns the event, or None when no endpoint wants it or `dedupe_key` was already
    recorded (a transition told once). Never commits; a rollback takes it away with the
    change that caused it.
    """
    if event_type not in EVENTS:
        raise ValueError(f"unknown webhook event {event_type}")
    if not session.info.get(WRITE):
        raise RuntimeError("webhooks.emit must run inside write_transaction")
    targets = _targets(session, event_type)
    if not targets:
        return None
    session.flush()  # timestamps and derived figures as they will be committed
    at = at or utcnow()
    from .api.serializers import timestamp

    envelope = {"type": event_type, "timestamp": timestamp(at), "data": _represent(session, obj)}
    payload = json.loads(_json(envelope))
    values = {
        "id": new_event_id(),
        "type": event_type,
        "dedupe_key": dedupe_key,
        "payload": payload,
        "created_at": at,
    }
    if dedupe_key is None:
        session.add(WebhookEvent(**values))
        session.flush()
    else:
        inserted = session.execute(
            _insert(session, WebhookEvent)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(WebhookEvent.id)
        ).scalar_one_or_none()
        if inserted is None:
            return None
    for endpoint_id in targets:
        _enqueue(session, endpoint_id, values["id"], event_type)
    return session.get(WebhookEvent, values["id"])


def _enqueue(session: Session, endpoint_id: int, event_id: str, event_type: str):
    return outbox.enqueue(
        session,
        topic=event_type,
        recipient=str(endpoint_id),
        payload={"event_id": event_id},
        dedupe_key=f"webhook:{endpoint_id}:{event_id}",
        kind=KIND,
    )


def _insert(session: Session, model):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def redeliver(session: Session, event_id: str, endpoint_id, *, actor: str) -> OutboxMessage:
    """Send an event to an endpoint again (by hand): its delivery goes back to pending with
    fresh attempts, under the same webhook-id. A delivery still pending is refused."""
    with write_transaction(session):
        endpoint = _locked_endpoint(session, endpoint_id)
        if not endpoint.active:
            raise Conflict(
                "endpoint_inactive", _("The endpoint is not active; reactivate it first.")
            )
        event = session.get(WebhookEvent, str(event_id))
        if event is None:
            raise NotFound(
                "event_not_found", _("Webhook event %(event)s does not exist.", event=event_id)
            )
        key = f"webhook:{endpoint.id}:{event.id}"
        row = session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == key).with_for_update()
        )
        if row is None:
            row = _enqueue(session, endpoint.id, event.id, event.type)
        elif row.status == "pending":
            raise Conflict("already_pending", _("This delivery is already waiting to be sent."))
        else:
            row.status, row.attempts, row.last_error = "pending", 0, ""
            row.next_attempt_at, row.sent_at = clock_now(), None
    current_app.logger.info(
        "webhook %s to endpoint %s redelivered by %s", event_id, endpoint_id, actor
    )
    return row


# --- calendar events (a job) ---------------------------------------------------------------


@dataclass(frozen=True)
class _Transition:
    account_id: str
    event_type: str
    dedupe_key: str
    invoice_id: str | None = None


def webhook_calendar(session: Session, now: datetime) -> int:
    """Record the calendar transitions of today (store timezone) once each; returns how
    many events were recorded.

    invoice.due_soon: an open invoice due within WEBHOOKS_DUE_SOON_DAYS days;
    invoice.overdue: an open invoice the day after its due date; account.on_hold: the
    account crosses the store's hold threshold (its oldest unforgiven overdue invoice is
    more than `overdue_hold_days` late). Only types some active endpoint wants are looked
    at; each account is claimed with FOR UPDATE SKIP LOCKED (a locked one waits for the
    next pass) and its transitions re-read under the lock.
    """
    session.commit()  # end any read transaction: see what other workers committed
    wanted = {
        t
        for t in CALENDAR_EVENTS
        for _id, types in _active_endpoints(session)
        if types is None or t in types
    }
    if not wanted:
        return 0
    settings = get_settings(session)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    pending = _new_transitions(session, settings, today, wanted)
    recorded = 0
    for account_id in dict.fromkeys(t.account_id for t in pending):
        with write_transaction(session):
            account = session.scalar(
                select(Account)
                .where(Account.id == account_id)
                .with_for_update(skip_locked=True)
                .execution_options(populate_existing=True)
            )
            if account is None:  # another worker or a request holds it: next pass
                continue
            settings = get_settings(session)
            for transition in _new_transitions(session, settings, today, wanted, account_id):
                obj = (
                    session.get(Invoice, transition.invoice_id, populate_existing=True)
                    if transition.invoice_id
                    else account
                )
                if emit(
                    session, transition.event_type, obj, dedupe_key=transition.dedupe_key, at=now
                ):
                    recorded += 1
    return recorded


def _new_transitions(
    session: Session, settings, today: date, wanted: set[str], account_id: str | None = None
) -> list[_Transition]:
    """Today's transitions not yet recorded (of one account when `account_id` is given)."""
    found = _transitions(session, settings, today, wanted, account_id)
    if not found:
        return []
    known = set()
    keys = [t.dedupe_key for t in found]
    for start in range(0, len(keys), 500):
        known |= set(
            session.scalars(
                select(WebhookEvent.dedupe_key).where(
                    WebhookEvent.dedupe_key.in_(keys[start : start + 500])
                )
            )
        )
    return [t for t in found if t.dedupe_key not in known]


def _transitions(
    session: Session, settings, today: date, wanted: set[str], account_id: str | None
) -> list[_Transition]:
    found: list[_Transition] = []
    opened = [Invoice.status == "Opened"]
    if account_id is not None:
        opened.append(Invoice.account_id == account_id)
    if "invoice.due_soon" in wanted:
        horizon = today + timedelta(days=int(_config("WEBHOOKS_DUE_SOON_DAYS", 3)))
        rows = session.execute(
            select(Invoice.id, Invoice.account_id, Invoice.due_date).where(
                *opened, Invoice.due_date >= today, Invoice.due_date <= horizon
            )
        )
        found += [
            _Transition(acc, "invoice.due_soon", f"invoice.due_soon:{inv}:{due}", inv)
            for inv, acc, due in rows
        ]
    if "invoice.overdue" in wanted:
        rows = session.execute(
            select(Invoice.id, Invoice.account_id, Invoice.due_date).where(
                *opened,
                Invoice.due_date < today,
                Invoice.due_date >= today - timedelta(days=CATCH_UP_DAYS),
            )
        )
        found += [
            _Transition(acc, "invoice.overdue", f"invoice.overdue:{inv}:{due}", inv)
            for inv, acc, due in rows
        ]
    if "account.on_hold" in wanted:
        found += _hold_transitions(session, settings, today, opened)
    return found


def _hold_transitions(session: Session, settings, today: date, opened: list) -> list:
    """Accounts that went on hold lately: the oldest unforgiven open invoice crossed the
    threshold (`since`) within CATCH_UP_DAYS, and the account was not already on hold
    through an invoice settled since then (one hold, told once)."""
    days = settings.overdue_hold_days
    forgiven = func.coalesce(Account.hold_forgiven_before, date.min)
    oldest = func.min(Invoice.due_date)
    rows = session.execute(
        select(Invoice.account_id, oldest, Account.hold_forgiven_before)
        .join(Account, Account.id == Invoice.account_id)
        .where(
            *opened, Invoice.due_date < today - timedelta(days=days), Invoice.due_date >= forgiven
        )
        .group_by(Invoice.account_id, Account.hold_forgiven_before)
        .having(oldest >= today - timedelta(days=CATCH_UP_DAYS + days + 1))
    ).all()
    zone = ZoneInfo(settings.timezone)
    found = []
    for account_id, due, forgiven_before in rows:
        due = due if isinstance(due, date) else date.fromisoformat(str(due))
        since = due + timedelta(days=days + 1)
        start = datetime.combine(since, datetime.min.time(), zone).astimezone(UTC)
        held_before = session.scalar(
            select(Invoice.id)
            .where(
                Invoice.account_id == account_id,
                Invoice.status.in_(("Paid", "Cancelled")),
                Invoice.due_date < since - timedelta(days=days),
                Invoice.due_date >= (forgiven_before or date.min),
                Invoice.resolved_at >= start,
            )
            .limit(1)
        )
        if held_before is None:
            found.append(
                _Transition(account_id, "account.on_hold", f"account.on_hold:{account_id}:{since}")
            )
    return found


# --- delivery (a job) ----------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 1 min, 2, 4 … at most 6 h."""
    base = int(_config("WEBHOOKS_RETRY_DELAY", 60))
    return timedelta(seconds=min(6 * 3600, base * 2 ** max(0, min(attempts - 1, 20))))


@dataclass
class _Outcome:
    status_code: int | None = None
    duration_ms: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def deliver_webhooks(session: Session, now: datetime) -> dict[str, int]:
    """Send the due webhook calls; returns {"sent": …, "failed": …} (failed tries).

    Rows are leased a few at a time (SKIP LOCKED on PostgreSQL); an endpoint that fails
    once in a pass gets no more tries in that pass (its other rows are given back). No
    database transaction is open while an endpoint is being called.
    """
    sent = failed = tried = 0
    failing: set[int] = set()
    while tried < MAX_PER_PASS:
        claimed = outbox.claim(session, KIND, now, BATCH)
        if not claimed:
            break
        tried += len(claimed)
        for row_id in claimed:
            result = _deliver_one(session, row_id, now, failing)
            if result == "sent":
                sent += 1
            elif result == "failed":
                failed += 1
            elif result == "skipped":
                outbox.release(session, [row_id], now)
        if len(claimed) < BATCH:
            break
    return {"sent": sent, "failed": failed}


def _deliver_one(session: Session, row_id: int, now: datetime, failing: set[int]) -> str:
    row = session.get(OutboxMessage, row_id, populate_existing=True)
    if row is None or row.status != "pending":
        return "gone"
    endpoint = session.get(WebhookEndpoint, _int(row.recipient), populate_existing=True)
    event = session.get(WebhookEvent, str((row.payload or {}).get("event_id")))
    if endpoint is None or event is None:
        _finish(session, row_id, None, now, _Outcome(error="endpoint or event deleted"), final=True)
        return "failed"
    if endpoint.id in failing:
        return "skipped"
    if not endpoint.active:
        _finish(session, row_id, None, now, _Outcome(error="endpoint inactive"), final=True)
        return "failed"
    url, stored_secret, endpoint_id = endpoint.url, endpoint.secret, endpoint.id
    payload, event_id = event.payload, event.id
    session.commit()  # no transaction held open while the endpoint answers
    try:
        secret = decrypt_secret(stored_secret)
    except InvalidToken:
        outcome = _Outcome(error="secret unreadable (SECRET_KEY changed?): rotate the secret")
    else:
        outcome = _call(url, secret, event_id, payload, now)
    if not outcome.ok:
        failing.add(endpoint_id)
    _finish(session, row_id, endpoint_id, now, outcome, event_id=event_id)
    return "sent" if outcome.ok else "failed"


def request_headers(secret: str, event_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers of one try."""
    stamp = datetime.fromtimestamp(int(at.timestamp()), UTC)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": sign(secret, event_id, stamp, body),
    }


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, not to a fresh lookup of the host."""

    def __init__(self, host, port, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: the certificate is checked against the URL's host name."""

    def __init__(self, host, port, *, address: str, timeout: float):
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def _call(url: str, secret: str, event_id: str, payload: dict, now: datetime) -> _Outcome:
    """POST the event to the endpoint once; what came of it (never raises)."""
    started = time.monotonic()
    try:
        addresses = resolve_target(url)  # again: the address may have changed since
    except TargetRefused as error:
        return _Outcome(error=f"refused: {error}"[:500])
    body = _json(payload)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timeout = float(_config("WEBHOOKS_TIMEOUT", 10))
    connection_class = (
        _PinnedHTTPSConnection if parts.scheme.lower() == "https" else _PinnedHTTPConnection
    )
    connection = connection_class(parts.hostname, parts.port, address=addresses[0], timeout=timeout)
    try:
        connection.request(
            "POST", path, body=body.encode(), headers=request_headers(secret, event_id, now, body)
        )
        response = connection.getresponse()
        response.read(64 * 1024)
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        return _Outcome(duration_ms=_ms(started), error=f"{type(error).__name__}: {error}"[:500])
    finally:
        connection.close()
    error = "" if 200 <= status < 300 else f"HTTP {status}"
    return _Outcome(status_code=status, duration_ms=_ms(started), error=error)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _finish(
    session: Session,
    row_id: int,
    endpoint_id: int | None,
    now: datetime,
    outcome: _Outcome,
    *,
    event_id: str | None = None,
    final: bool = False,
) -> None:
    """Record the try and its consequences: the row sent, retried later or failed; the
    endpoint's failure record (and disabling it when it has failed for too long).

    Lock order: the endpoint, then the outbox row (as `redeliver`). The endpoint comes
    first because inserting the attempt takes a key-share lock on it (its foreign key):
    two workers that each took that lock and then asked to update the endpoint would
    deadlock on PostgreSQL.
    """
    with write_transaction(session):
        endpoint = None
        if endpoint_id is not None:
            endpoint = session.get(
                WebhookEndpoint, endpoint_id, populate_existing=True, with_for_update=True
            )
        row = session.get(OutboxMessage, row_id, populate_existing=True, with_for_update=True)
        if row is None or row.status != "pending":
            return
        if endpoint is not None:
            session.add(
                WebhookAttempt(
                    outbox_id=row.id,
                    endpoint_id=endpoint.id,
                    event_id=event_id,
                    attempted_at=now,
                    status_code=outcome.status_code,
                    duration_ms=outcome.duration_ms,
                    error=outcome.error[:500],
                )
            )
        if outcome.ok:
            row.status, row.sent_at, row.last_error = "sent", now, ""
        else:
            row.last_error = outcome.error[:500] or "failed"
            if final or row.attempts >= int(_config("WEBHOOKS_MAX_ATTEMPTS", 8)):
                row.status = "failed"
            else:
                row.next_attempt_at = now + retry_delay(row.attempts)
        if endpoint is not None:
            _record_health(endpoint, now, outcome)


def _record_health(endpoint: WebhookEndpoint, now: datetime, outcome: _Outcome) -> None:
    if outcome.ok:
        endpoint.failing_since = None
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        return
    limit = timedelta(seconds=int(_config("WEBHOOKS_DISABLE_AFTER", 3 * 24 * 3600)))
    if endpoint.active and now - endpoint.failing_since > limit:
        endpoint.active = False
        endpoint.disabled_reason = (
            f"Disabled automatically: every delivery has failed since "
            f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC (last: {outcome.error})"
        )[:500]
        current_app.logger.warning("webhook endpoint %s disabled: failing", endpoint.id)


# --- what the back-office shows ------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One event for one endpoint, with its latest try."""

    row: OutboxMessage
    event_id: str
    endpoint_id: int
    last: WebhookAttempt | None


def recent_deliveries(session: Session, limit: int = 50) -> list[Delivery]:
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == KIND)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).all()
    latest: dict[int, WebhookAttempt] = {}
    if rows:
        newest = (
            select(func.max(WebhookAttempt.id))
            .where(WebhookAttempt.outbox_id.in_([r.id for r in rows]))
            .group_by(WebhookAttempt.outbox_id)
        )
        for attempt in session.scalars(select(WebhookAttempt).where(WebhookAttempt.id.in_(newest))):
            latest[attempt.outbox_id] = attempt
    return [
        Delivery(
            row=row,
            event_id=str((row.payload or {}).get("event_id", "")),
            endpoint_id=_int(row.recipient),
            last=latest.get(row.id),
        )
        for row in rows
    ]
