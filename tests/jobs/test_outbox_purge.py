"""The job "outbox_purge": sent rows older than OUTBOX_KEEP_DAYS go (a webhook delivery with
its attempts), recent, pending and failed rows stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from portal import jobs, outbox
from portal.credit.ledger import write_transaction
from portal.models import OutboxMessage, WebhookAttempt, WebhookEndpoint, WebhookEvent

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def row(session, status, *, days_ago, kind="email", topic="reminder", sent_days_ago=None) -> int:
    """A row made `days_ago` days before NOW (and sent `sent_days_ago` days before, if sent)."""
    made = NOW - timedelta(days=days_ago)
    sent = NOW - timedelta(days=days_ago if sent_days_ago is None else sent_days_ago)
    with write_transaction(session):
        message = OutboxMessage(
            kind=kind,
            topic=topic,
            recipient="buyer@example.com" if kind == "email" else "1",
            payload={},
            status=status,
            attempts=1,
            next_attempt_at=made,
            last_error="" if status == "sent" else "SMTPDataError: 554",
            created_at=made,
            sent_at=sent if status == "sent" else None,
        )
        session.add(message)
        session.flush()
        return message.id


def webhook_delivery(session, *, days_ago) -> int:
    """A sent webhook delivery with its attempt (endpoint and event included)."""
    row_id = row(session, "sent", days_ago=days_ago, kind="webhook", topic="invoice.paid")
    with write_transaction(session):
        endpoint = WebhookEndpoint(url="https://93.184.216.34/hooks", events=["*"], secret="x")
        event = WebhookEvent(id=f"msg_{row_id}", type="invoice.paid", payload={})
        session.add_all([endpoint, event])
        session.flush()
        session.add(WebhookAttempt(outbox_id=row_id, endpoint_id=endpoint.id, event_id=event.id))
    return row_id


def remaining(session) -> set[int]:
    session.rollback()
    return set(session.scalars(select(OutboxMessage.id)))


def test_old_sent_rows_go_and_the_rest_stay(session):
    old_sent = row(session, "sent", days_ago=31)
    made_long_ago_sent_lately = row(session, "sent", days_ago=90, sent_days_ago=2)
    recent_sent = row(session, "sent", days_ago=29)
    old_pending = row(session, "pending", days_ago=120)
    old_failed = row(session, "failed", days_ago=120)
    old_hook = webhook_delivery(session, days_ago=45)
    assert outbox.purge_sent(session, NOW) == 2
    assert remaining(session) == {made_long_ago_sent_lately, recent_sent, old_pending, old_failed}
    assert old_sent not in remaining(session) and old_hook not in remaining(session)
    # the delivery's attempts went with it; the event stays
    assert session.scalar(select(func.count()).select_from(WebhookAttempt)) == 0
    assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 1
    assert outbox.purge_sent(session, NOW) == 0  # nothing left to do


def test_keep_days_comes_from_the_config(app, session):
    five = row(session, "sent", days_ago=5)
    one = row(session, "sent", days_ago=1)
    assert outbox.purge_sent(session, NOW) == 0  # the default keeps 30 days
    app.config["OUTBOX_KEEP_DAYS"] = 3
    assert outbox.purge_sent(session, NOW) == 1
    assert remaining(session) == {one}
    assert five not in remaining(session)


def test_it_deletes_in_batches(session, monkeypatch):
    monkeypatch.setattr(outbox, "PURGE_BATCH", 3)
    ids = [row(session, "sent", days_ago=40) for _ in range(7)]
    kept = row(session, "failed", days_ago=40)
    assert outbox.purge_sent(session, NOW) == 7
    assert remaining(session) == {kept}
    assert not set(ids) & remaining(session)


def test_the_worker_runs_it_before_sending(session):
    names = [job.name for job in jobs.JOBS]
    assert names.index("outbox_purge") == names.index("outbox") - 1
    row(session, "sent", days_ago=40)
    kept = row(session, "pending", days_ago=40)
    [purge] = [job for job in jobs.JOBS if job.name == "outbox_purge"]
    result = jobs.run_pass(session, now=NOW, jobs=[purge])
    assert result.counts == {"outbox_purge": 1} and result.errors == {}
    assert remaining(session) == {kept}
