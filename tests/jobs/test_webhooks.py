"""Webhooks: endpoints and their secrets, events written with the change that causes them,
calendar events told once, signed deliveries (checked here with plain hmac), retries,
private addresses refused, the CLI and the OpenAPI description."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.fernet import InvalidToken
from sqlalchemy import func, select

from portal import credit, jobs, webhooks
from portal.credit.errors import Conflict, CreditError, InvalidInput
from portal.credit.ledger import write_transaction
from portal.extensions import db
from portal.models import (
    OutboxMessage,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookEvent,
    clock_at,
)

OWNER = "owner@store.example"
# 12:00 in São Paulo (the store's default timezone, UTC-3 all year)
BASE = datetime(2031, 3, 3, 15, 0, tzinfo=UTC)


def at_noon(day) -> datetime:
    """12:00 in São Paulo on `day`."""
    return datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC)


# --- an independent receiver -------------------------------------------------------------


def expected_signature(secret: str, msg_id: str, stamp: str, body: bytes) -> str:
    """Standard Webhooks, written from the spec (not the portal's code)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verified(secret: str, call: dict) -> bool:
    headers = call["headers"]
    expected = expected_signature(
        secret, headers["webhook-id"], headers["webhook-timestamp"], call["body"]
    )
    return any(
        hmac.compare_digest(expected, signature)
        for signature in headers["webhook-signature"].split()
    )


class Receiver:
    """A local HTTP server recording each call; answers `status` (200 by default)."""

    def __init__(self):
        self.calls: list[dict] = []
        self.status = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.calls.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                        }
                    )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks?store=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def payloads(self) -> list[dict]:
        return [json.loads(call["body"]) for call in self.calls]


@pytest.fixture
def receiver(app):
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True  # the receiver is on 127.0.0.1
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def endpoint(session, receiver):
    """An endpoint for every event at the local receiver: (endpoint id, secret)."""
    row, secret = webhooks.add_endpoint(session, receiver.url, "all", actor=OWNER)
    return row.id, secret


def deliver(session, now) -> dict:
    return webhooks.deliver_webhooks(session, now)


def events(session, event_type=None) -> list[WebhookEvent]:
    """The events, in the order they were written (that of their first outbox row)."""
    session.rollback()
    query = select(WebhookEvent)
    if event_type:
        query = query.where(WebhookEvent.type == event_type)
    order = {}
    for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())):
        order[(row.payload or {}).get("event_id")] = row.id
    return sorted(session.scalars(query), key=lambda e: (order.get(e.id, 0), e.created_at))


def webhook_rows(session) -> list[OutboxMessage]:
    session.rollback()
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "webhook").order_by(OutboxMessage.id)
        )
    )


def buy(session, account, value="300", term="10", at=BASE):
    with clock_at(at):
        hold = credit.authorize(session, account.id, value, actor="test", payment_term=term)
        credit.settle(session, account.id, hold.id, value, actor="test")
    return hold


# --- endpoints and secrets -----------------------------------------------------------------


def test_the_secret_is_shown_once_and_stored_encrypted(app, session):
    endpoint, secret = webhooks.add_endpoint(
        session, "https://93.184.216.34/hooks", ["invoice.paid"], actor=OWNER
    )
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    session.rollback()
    row = session.get(WebhookEndpoint, endpoint.id, populate_existing=True)
    assert secret not in row.secret and secret[6:] not in row.secret
    assert webhooks.decrypt_secret(row.secret) == secret
    assert row.events == ["invoice.paid"] and row.active and row.created_by == OWNER
    # another SECRET_KEY cannot read it
    app.config["SECRET_KEY"] = "another-key"
    with pytest.raises(InvalidToken):
        webhooks.decrypt_secret(row.secret)


def test_rotating_makes_a_new_secret_and_the_old_one_stops_working(session):
    endpoint, first = webhooks.add_endpoint(session, "https://93.184.216.34/", "all", actor=OWNER)
    second = webhooks.rotate_secret(session, endpoint.id, actor=OWNER)
    assert second != first and second.startswith("whsec_")
    session.rollback()
    stored = session.get(WebhookEndpoint, endpoint.id, populate_existing=True).secret
    assert webhooks.decrypt_secret(stored) == second


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://172.16.5.5/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://0.0.0.0/hooks",
        "https://100.64.0.1/hooks",
        "https://240.0.0.1/hooks",
        "http://93.184.216.34/hooks",  # public, but not https
        "ftp://93.184.216.34/hooks",
        "https://user:pass@93.184.216.34/hooks",
        "https://no-such-host.invalid/hooks",
        "not a url",
        "",
    ],
)
def test_private_addresses_and_non_https_are_refused_at_registration(session, url):
    with pytest.raises(InvalidInput) as refused:
        webhooks.add_endpoint(session, url, "all", actor=OWNER)
    assert refused.value.code == "invalid_url" and refused.value.field == "url"
    assert session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_events_are_checked(session):
    with pytest.raises(InvalidInput, match="Unknown event"):
        webhooks.add_endpoint(session, "https://93.184.216.34/", ["invoice.lost"], actor=OWNER)
    with pytest.raises(InvalidInput, match="at least one"):
        webhooks.add_endpoint(session, "https://93.184.216.34/", [], actor=OWNER)
    endpoint, _ = webhooks.add_endpoint(
        session, "https://93.184.216.34/", "invoice.overdue,invoice.paid", actor=OWNER
    )
    assert endpoint.events == ["invoice.overdue", "invoice.paid"]  # in the catalogue's order


# --- events in the transaction of the change -----------------------------------------------


def test_no_endpoint_no_event_and_no_query_per_call(session, make_account, sql_statements):
    account = make_account(limit="5000")
    with clock_at(BASE):
        hold = credit.authorize(session, account.id, "300", actor="t", payment_term="10/20/30")
    with sql_statements() as statements:
        credit.settle(session, account.id, hold.id, "300", actor="t")  # three invoices
    looked = [s for s in statements if "webhook_endpoints" in s]
    assert len(looked) == 1, looked  # one look per transaction, not one per invoice
    assert not any("webhook_events" in s or "outbox" in s for s in statements)
    assert events(session) == []


def test_each_operation_writes_its_event_with_the_api_representation(
    session, make_account, endpoint
):
    endpoint_id, _ = endpoint
    account = make_account(limit="5000")
    hold = buy(session, account, "300", term="10/20")
    first, second = f"{hold.id}-01", f"{hold.id}-02"
    credit.pay_invoice(session, account.id, first, "50", actor="t")  # partial: nothing
    credit.pay_invoice(session, account.id, first, actor="t")
    credit.cancel_invoice(session, account.id, second, actor="t")
    credit.change_limit(session, account.id, "6000", actor="t", reason="good payer")
    credit.change_limit(session, account.id, "6000", actor="t", reason="same")  # no change
    told = events(session)
    assert [(e.type, e.payload["data"]["id"]) for e in told] == [
        ("invoice.created", first),
        ("invoice.created", second),
        ("invoice.paid", first),
        ("invoice.cancelled", second),
        ("account.limit_changed", account.id),
    ]
    paid = told[2].payload
    assert set(paid) == {"type", "timestamp", "data"} and paid["type"] == "invoice.paid"
    assert paid["timestamp"].endswith("Z")
    assert paid["data"]["status"] == "Paid" and Decimal(str(paid["data"]["paidAmount"])) == 150
    assert paid["data"]["dueDate"].endswith("T03:00:00Z")  # the API's date-time for a day
    assert told[4].payload["data"]["creditLimit"] == 6000
    assert told[4].payload["data"]["email"] == account.email
    rows = webhook_rows(session)
    assert [(r.recipient, r.topic, r.payload["event_id"]) for r in rows] == [
        (str(endpoint_id), e.type, e.id) for e in told
    ]
    assert all(
        r.dedupe_key == f"webhook:{endpoint_id}:{e.id}" for r, e in zip(rows, told, strict=True)
    )


def test_a_refused_or_rolled_back_operation_tells_nothing(session, make_account, endpoint):
    account = make_account(limit="1000")
    hold = buy(session, account, "300")
    before = len(events(session))
    with pytest.raises(ZeroDivisionError), write_transaction(session):
        credit.change_limit(session, account.id, "5000", actor="t", reason="r")
        credit.pay_invoice(session, account.id, f"{hold.id}-01", actor="t")
        1 / 0  # noqa: B018
    with pytest.raises(CreditError):
        credit.cancel_invoice(session, "nobody", f"{hold.id}-01", actor="t")
    with pytest.raises(Conflict):  # not on hold
        credit.lift_hold(session, account.id, actor="t", reason="r")
    assert len(events(session)) == before == 1
    assert len(webhook_rows(session)) == 1


def test_only_active_endpoints_that_want_the_event_get_it(session, make_account, receiver):
    paid_only, _ = webhooks.add_endpoint(session, receiver.url, ["invoice.paid"], actor=OWNER)
    everything, _ = webhooks.add_endpoint(session, receiver.url, "all", actor=OWNER)
    off, _ = webhooks.add_endpoint(session, receiver.url, "all", actor=OWNER)
    webhooks.set_active(session, off.id, False, actor=OWNER)
    account = make_account(limit="1000")
    hold = buy(session, account, "100")
    credit.pay_invoice(session, account.id, f"{hold.id}-01", actor="t")
    rows = webhook_rows(session)
    assert sorted((r.topic, r.recipient) for r in rows) == sorted(
        [
            ("invoice.created", str(everything.id)),
            ("invoice.paid", str(everything.id)),
            ("invoice.paid", str(paid_only.id)),
        ]
    )
    assert len(events(session)) == 2  # one event, several deliveries


# --- delivery ------------------------------------------------------------------------------


def test_delivery_is_signed_and_each_event_arrives_once(session, make_account, endpoint, receiver):
    _, secret = endpoint
    account = make_account(limit="1000")
    hold = buy(session, account, "200", term="10/20")
    now = BASE + timedelta(minutes=1)
    assert deliver(session, now) == {"sent": 2, "failed": 0}
    assert deliver(session, now + timedelta(hours=1)) == {"sent": 0, "failed": 0}
    told = events(session)
    assert [c["headers"]["webhook-id"] for c in receiver.calls] == [e.id for e in told]
    for call, event in zip(receiver.calls, told, strict=True):
        assert call["path"] == "/hooks?store=1"
        assert call["headers"]["content-type"] == "application/json"
        assert call["headers"]["webhook-timestamp"] == str(int(now.timestamp()))
        assert verified(secret, call), call["headers"]
        assert json.loads(call["body"]) == event.payload
    assert [p["data"]["id"] for p in receiver.payloads()] == [f"{hold.id}-01", f"{hold.id}-02"]
    # a forged body does not verify
    forged = dict(receiver.calls[0], body=receiver.calls[0]["body"] + b" ")
    assert not verified(secret, forged)
    rows = webhook_rows(session)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1), ("sent", 1)]
    attempts = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
    assert [(a.status_code, a.error) for a in attempts] == [(200, ""), (200, "")]
    assert all(a.duration_ms >= 0 for a in attempts)


def test_the_standardwebhooks_package_verifies_it_too(session, make_account, endpoint, receiver):
    from standardwebhooks import Webhook

    _, secret = endpoint
    now = datetime.now(UTC)  # the package refuses timestamps more than 5 minutes away
    buy(session, make_account(limit="1000"), "100", at=now)
    deliver(session, now)
    [call] = receiver.calls
    assert Webhook(secret).verify(call["body"], call["headers"])["type"] == "invoice.created"


def test_a_failing_endpoint_is_retried_with_backoff_then_failed(
    app, session, make_account, endpoint, receiver
):
    app.config.update(WEBHOOKS_MAX_ATTEMPTS=3, WEBHOOKS_RETRY_DELAY=60)
    receiver.status = 500
    buy(session, make_account(limit="1000"), "100")
    now = BASE + timedelta(minutes=1)
    assert deliver(session, now) == {"sent": 0, "failed": 1}
    [row] = webhook_rows(session)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 500")
    assert row.next_attempt_at == now + timedelta(seconds=60)
    assert deliver(session, now + timedelta(seconds=59)) == {"sent": 0, "failed": 0}  # not yet
    assert deliver(session, now + timedelta(seconds=61)) == {"sent": 0, "failed": 1}
    [row] = webhook_rows(session)
    assert row.next_attempt_at == now + timedelta(seconds=61 + 120)  # doubled
    assert deliver(session, now + timedelta(seconds=200)) == {"sent": 0, "failed": 1}
    assert deliver(session, now + timedelta(days=1)) == {"sent": 0, "failed": 0}
    [row] = webhook_rows(session)
    assert (row.status, row.attempts) == ("failed", 3)
    attempts = session.scalars(select(WebhookAttempt)).all()
    assert [a.status_code for a in attempts] == [500, 500, 500]
    assert len({c["headers"]["webhook-id"] for c in receiver.calls}) == 1  # the same id
    assert len(receiver.calls) == 3


def test_redeliver_by_hand_sends_the_same_event_again(session, make_account, endpoint, receiver):
    endpoint_id, secret = endpoint
    buy(session, make_account(limit="1000"), "100")
    deliver(session, BASE)
    [event] = events(session)
    webhooks.redeliver(session, event.id, endpoint_id, actor=OWNER)
    assert [(r.status, r.attempts) for r in webhook_rows(session)] == [("pending", 0)]
    with pytest.raises(Conflict, match="already"):  # still waiting: once is enough
        webhooks.redeliver(session, event.id, endpoint_id, actor=OWNER)
    deliver(session, BASE + timedelta(days=1))
    assert [c["headers"]["webhook-id"] for c in receiver.calls] == [event.id, event.id]
    assert all(verified(secret, c) for c in receiver.calls)


def test_an_endpoint_failing_too_long_is_disabled(app, session, make_account, endpoint, receiver):
    app.config.update(WEBHOOKS_DISABLE_AFTER=3600, WEBHOOKS_RETRY_DELAY=60)
    endpoint_id, _ = endpoint
    receiver.status = 503
    account = make_account(limit="1000")
    buy(session, account, "100", term="10/20")  # two events
    deliver(session, BASE)  # the first fails; the second waits (one failure per pass)
    assert len(receiver.calls) == 1
    session.rollback()
    row = session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
    assert row.active and row.failing_since == BASE
    assert webhooks.disabled_endpoints(session) == []
    deliver(session, BASE + timedelta(hours=2))
    session.rollback()
    row = session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
    assert not row.active and "failed since" in row.disabled_reason
    assert [e.id for e in webhooks.disabled_endpoints(session)] == [endpoint_id]
    deliver(session, BASE + timedelta(days=1))
    assert {r.status for r in webhook_rows(session)} == {"failed"}
    assert "inactive" in webhook_rows(session)[-1].last_error
    # reactivated, it works again and the failures can be redelivered
    receiver.status = 204
    webhooks.set_active(session, endpoint_id, True, actor=OWNER)
    for row in webhook_rows(session):
        webhooks.redeliver(session, row.payload["event_id"], endpoint_id, actor=OWNER)
    assert deliver(session, BASE + timedelta(days=2)) == {"sent": 2, "failed": 0}
    session.rollback()
    assert session.get(WebhookEndpoint, endpoint_id, populate_existing=True).failing_since is None


def test_private_addresses_are_refused_at_delivery_too(app, session, make_account, receiver):
    """Registered while allowed, then the setting is off: no call leaves."""
    webhooks.add_endpoint(session, receiver.url, "all", actor=OWNER)
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    buy(session, make_account(limit="1000"), "100")
    assert deliver(session, BASE) == {"sent": 0, "failed": 1}
    assert receiver.calls == []
    [attempt] = session.scalars(select(WebhookAttempt)).all()
    assert attempt.status_code is None and "private" in attempt.error


def test_dns_rebinding_is_refused_at_delivery(app, session, make_account, receiver, monkeypatch):
    """The host resolved to a public address when added, to 127.0.0.1 when called."""
    real = socket.getaddrinfo
    answer = {"ip": "93.184.216.34"}

    def fake(host, port, *args, **kwargs):
        if host == "hooks.shop.example":
            return real(answer["ip"], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    port = receiver.server.server_port
    webhooks.add_endpoint(session, f"https://hooks.shop.example:{port}/x", "all", actor=OWNER)
    answer["ip"] = "127.0.0.1"
    buy(session, make_account(limit="1000"), "100")
    assert deliver(session, BASE) == {"sent": 0, "failed": 1}
    assert receiver.calls == []
    [attempt] = session.scalars(select(WebhookAttempt)).all()
    assert "127.0.0.1" in attempt.error


def test_two_workers_deliver_each_event_once(app, session, make_account, endpoint, receiver):
    account = make_account(limit="100000")
    for _ in range(6):
        buy(session, account, "100", term="10/20/30")  # 18 events
    session.rollback()
    results = run_in_threads(app, 3, lambda: webhooks.deliver_webhooks(db.session, BASE))
    assert sum(r["sent"] for r in results) == 18, results
    ids = [c["headers"]["webhook-id"] for c in receiver.calls]
    assert len(ids) == len(set(ids)) == 18


def run_in_threads(app, workers: int, job) -> list:
    barrier = threading.Barrier(workers)
    results: list = [None] * workers

    def work(i):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = job()
            except Exception as error:  # reported, not lost in the thread
                results[i] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert not any(isinstance(r, Exception) for r in results), results
    return results


# --- calendar events -----------------------------------------------------------------------


def test_due_soon_and_overdue_are_told_once_each(app, session, make_account, endpoint):
    app.config["WEBHOOKS_DUE_SOON_DAYS"] = 3
    account = make_account(limit="1000")
    hold = buy(session, account, "100", term="10")  # due 2031-03-13
    due = BASE.date() + timedelta(days=10)
    assert webhooks.webhook_calendar(session, at_noon(due - timedelta(days=4))) == 0
    assert webhooks.webhook_calendar(session, at_noon(due - timedelta(days=3))) == 1
    assert webhooks.webhook_calendar(session, at_noon(due - timedelta(days=1))) == 0
    assert webhooks.webhook_calendar(session, at_noon(due)) == 0  # due today: not overdue
    assert webhooks.webhook_calendar(session, at_noon(due + timedelta(days=1))) == 1
    assert webhooks.webhook_calendar(session, at_noon(due + timedelta(days=2))) == 0
    [soon] = events(session, "invoice.due_soon")
    [late] = events(session, "invoice.overdue")
    assert soon.dedupe_key == f"invoice.due_soon:{hold.id}-01:{due}"
    assert late.dedupe_key == f"invoice.overdue:{hold.id}-01:{due}"
    assert late.payload["data"]["id"] == f"{hold.id}-01"
    assert late.payload["timestamp"] == "2031-03-14T15:00:00Z"


def test_a_paid_invoice_is_never_overdue_and_old_ones_are_not_replayed(
    session, make_account, endpoint
):
    account = make_account(limit="1000")
    paid = buy(session, account, "100", term="10")
    old = buy(session, account, "100", term="10", at=BASE - timedelta(days=30))
    credit.pay_invoice(session, account.id, f"{paid.id}-01", actor="t")
    day_after = BASE.date() + timedelta(days=11)
    # `old` is 31 days late: too late to be told overdue now, but it crosses the store's
    # hold threshold (30 days) today: the account goes on hold.
    assert webhooks.webhook_calendar(session, at_noon(day_after)) == 1
    assert events(session, "invoice.overdue") == []
    [held] = events(session, "account.on_hold")
    assert held.payload["data"]["id"] == account.id and old.id


def test_on_hold_is_told_once_per_hold(session, make_account, settings, endpoint):
    settings(overdue_hold_days=5)
    account = make_account(limit="1000")
    first = buy(session, account, "100", term="10")  # due D
    second = buy(session, account, "100", term="12")  # due D + 2
    due = BASE.date() + timedelta(days=10)
    assert webhooks.webhook_calendar(session, at_noon(due + timedelta(days=5))) == 2  # overdue
    assert events(session, "account.on_hold") == []
    assert webhooks.webhook_calendar(session, at_noon(due + timedelta(days=6))) == 1
    [held] = events(session, "account.on_hold")
    assert held.payload["data"]["id"] == account.id
    assert held.dedupe_key == f"account.on_hold:{account.id}:{due + timedelta(days=6)}"
    # The second invoice crosses too, then the first is paid: still the same hold.
    assert webhooks.webhook_calendar(session, at_noon(due + timedelta(days=8))) == 0
    with clock_at(at_noon(due + timedelta(days=9))):
        credit.pay_invoice(session, account.id, f"{first.id}-01", actor="t")
    assert webhooks.webhook_calendar(session, at_noon(due + timedelta(days=9))) == 0
    assert len(events(session, "account.on_hold")) == 1
    # The owner lifts it (an event); a later invoice crossing puts it on hold again.
    with clock_at(at_noon(due + timedelta(days=9))):
        credit.lift_hold(session, account.id, actor=OWNER, reason="promised to pay")
    [lifted] = events(session, "account.hold_lifted")
    third = buy(session, account, "100", term="1", at=at_noon(due + timedelta(days=9)))
    assert webhooks.webhook_calendar(session, at_noon(due + timedelta(days=16))) >= 1
    assert len(events(session, "account.on_hold")) == 2
    assert second.id and third.id and lifted.payload["data"]["id"] == account.id


def test_calendar_events_are_recorded_once_with_two_workers(app, session, make_account, endpoint):
    accounts = [make_account(limit="10000") for _ in range(8)]
    for account in accounts:
        buy(session, account, "100", term="10/11")  # two invoices each
    session.rollback()
    now = at_noon(BASE.date() + timedelta(days=12))  # both overdue
    results = run_in_threads(app, 4, lambda: webhooks.webhook_calendar(db.session, now))
    assert sum(results) == 16, results
    overdue = events(session, "invoice.overdue")
    assert len(overdue) == 16 == len({e.dedupe_key for e in overdue})
    assert len([r for r in webhook_rows(session) if r.topic == "invoice.overdue"]) == 16


def test_calendar_does_nothing_without_an_endpoint_that_wants_it(session, make_account):
    buy(session, make_account(limit="1000"), "100", term="10")
    assert webhooks.webhook_calendar(session, at_noon(BASE.date() + timedelta(days=11))) == 0
    webhooks.add_endpoint(session, "https://93.184.216.34/", ["invoice.paid"], actor=OWNER)
    assert webhooks.webhook_calendar(session, at_noon(BASE.date() + timedelta(days=11))) == 0
    assert events(session) == []


# --- the jobs pass, the CLI, the OpenAPI document ------------------------------------------


def test_the_jobs_pass_runs_the_calendar_then_delivers(session, make_account, endpoint, receiver):
    buy(session, make_account(limit="1000"), "100", term="10")
    result = jobs.run_pass(session, at_noon(BASE.date() + timedelta(days=11)))
    assert not {"webhook_calendar", "webhooks"} & set(result.errors), result.errors
    assert result.counts["webhook_calendar"] == 1
    assert result.counts["webhooks"] == {"sent": 2, "failed": 0}
    assert [p["type"] for p in receiver.payloads()] == ["invoice.created", "invoice.overdue"]


def test_cli_webhooks_add_prints_the_secret_once(app, session, runner, receiver):
    result = runner.invoke(
        args=["webhooks", "add", receiver.url, "--events", "invoice.paid,invoice.overdue"]
    )
    assert result.exit_code == 0, result.output
    session.rollback()
    [line] = [line for line in result.output.splitlines() if line.startswith("Secret: ")]
    secret = line.removeprefix("Secret: ")
    assert secret.startswith("whsec_")
    [row] = session.scalars(select(WebhookEndpoint)).all()
    assert row.events == ["invoice.overdue", "invoice.paid"]  # the catalogue's order
    assert row.created_by == "cli"
    assert webhooks.decrypt_secret(row.secret) == secret and secret not in row.secret
    refused = runner.invoke(args=["webhooks", "add", "http://93.184.216.34/x"])  # not https
    assert refused.exit_code == 1 and "invalid_url" in refused.output
    unknown = runner.invoke(args=["webhooks", "add", receiver.url, "--events", "nope"])
    assert unknown.exit_code == 1 and "invalid_events" in unknown.output


def test_openapi_describes_the_events(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.0")  # 3.0 has no `webhooks`: x-webhooks
    hooks = doc["x-webhooks"]
    assert set(hooks) == set(webhooks.EVENTS)
    for name, item in hooks.items():
        body = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        schema = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
        assert schema["properties"]["type"]["enum"] == [name]
        target = schema["properties"]["data"]["$ref"].rsplit("/", 1)[1]
        assert target == ("Invoice" if name.startswith("invoice.") else "Account")
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} == {
            p["name"] for p in item["post"]["parameters"]
        }
    invoice = doc["components"]["schemas"]["Invoice"]["properties"]
    assert {"dueDate", "remaining", "status"} <= set(invoice)
    assert "availableBalance" in doc["components"]["schemas"]["Account"]["properties"]
