"""/admin/webhooks: owner only; add an endpoint (its secret shown once), rotate, deactivate,
the recent deliveries and Redeliver."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal import webhooks
from portal.models import OutboxMessage, WebhookAttempt, WebhookEndpoint

PUBLIC_URL = "https://93.184.216.34/hooks"  # a public address: nothing is ever sent to it


def page(client, **kwargs):
    response = client.get("/admin/webhooks", **kwargs)
    return response, response.get_data(as_text=True)


def secrets_in(html: str) -> list[str]:
    return re.findall(r"whsec_[A-Za-z0-9+/=]+", html)


@pytest.mark.parametrize("role", ["finance", "support"])
def test_only_the_owner_reaches_it(client, login, role):
    login(role)
    assert client.get("/admin/webhooks").status_code == 403
    assert client.post("/admin/webhooks", data={"url": PUBLIC_URL}).status_code == 403
    assert client.post("/admin/webhooks/1/rotate").status_code == 403
    assert client.post("/admin/webhooks/1/active", data={"active": "off"}).status_code == 403
    assert client.post("/admin/webhooks/redeliver").status_code == 403


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/admin/webhooks")
    assert response.status_code == 302 and "/login" in response.location


def test_add_an_endpoint_shows_its_secret_once(client, login, session):
    owner = login("owner")
    response, html = page(client)
    assert response.status_code == 200 and "No webhook endpoint yet." in html
    assert "invoice.overdue" in html  # the events to choose from
    response = client.post(
        "/admin/webhooks", data={"url": PUBLIC_URL, "events": ["invoice.paid", "invoice.overdue"]}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    [secret] = secrets_in(html)
    assert "cannot be shown again" in html
    session.rollback()
    [row] = session.scalars(select(WebhookEndpoint)).all()
    assert row.url == PUBLIC_URL and row.events == ["invoice.overdue", "invoice.paid"]
    assert row.created_by == owner.email and secret not in row.secret
    assert webhooks.decrypt_secret(row.secret) == secret
    response, html = page(client)  # never again
    assert secrets_in(html) == [] and PUBLIC_URL in html


def test_refused_urls_and_events_are_explained(client, login, session):
    login("owner")
    response = client.post(
        "/admin/webhooks", data={"url": "https://192.168.1.20/hooks", "events": ["*"]}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The URL was refused" in html and "private" in html
    assert 'value="https://192.168.1.20/hooks"' in html  # kept to be corrected
    response = client.post("/admin/webhooks", data={"url": PUBLIC_URL})
    assert response.status_code == 422
    assert "Choose at least one event" in response.get_data(as_text=True)
    session.rollback()
    assert session.scalars(select(WebhookEndpoint)).all() == []


def test_rotate_shows_a_new_secret_and_deactivate_asks_first(client, login, session):
    login("owner")
    endpoint, first = webhooks.add_endpoint(session, PUBLIC_URL, "all", actor="t")
    _, html = page(client)
    assert "All events" in html
    assert 'data-confirm="Deactivate' in html and "data-confirm-danger" in html
    assert 'data-confirm="Make a new signing secret' in html
    response = client.post(f"/admin/webhooks/{endpoint.id}/rotate")
    [second] = secrets_in(response.get_data(as_text=True))
    assert response.status_code == 200 and second != first
    session.rollback()
    stored = session.get(WebhookEndpoint, endpoint.id, populate_existing=True)
    assert webhooks.decrypt_secret(stored.secret) == second
    response = client.post(f"/admin/webhooks/{endpoint.id}/active", data={"active": "off"})
    assert response.status_code == 302
    session.rollback()
    assert not session.get(WebhookEndpoint, endpoint.id, populate_existing=True).active
    _, html = page(client)
    assert "inactive" in html and "Reactivate" in html
    client.post(f"/admin/webhooks/{endpoint.id}/active", data={"active": "on"})
    session.rollback()
    assert session.get(WebhookEndpoint, endpoint.id, populate_existing=True).active
    assert client.post("/admin/webhooks/999/rotate").status_code == 302  # flashed, no 500


def test_recent_deliveries_and_redeliver(app, client, login, session, make_account, purchase):
    login("owner")
    endpoint, _ = webhooks.add_endpoint(session, PUBLIC_URL, "all", actor="t")
    account = make_account(limit="1000")
    hold = purchase(account, "100")
    # Pretend it was tried and the receiver said 500, then gave up.
    [row] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")).all()
    event_id = row.payload["event_id"]
    session.add(
        WebhookAttempt(
            outbox_id=row.id,
            endpoint_id=endpoint.id,
            event_id=event_id,
            attempted_at=datetime.now(UTC),
            status_code=500,
            duration_ms=37,
            error="HTTP 500",
        )
    )
    row.status, row.attempts = "failed", 8
    session.commit()
    response, html = page(client)
    assert "invoice.created" in html and event_id in html
    assert "500" in html and "37 ms" in html and "failed" in html
    response = client.post(
        "/admin/webhooks/redeliver", data={"event_id": event_id, "endpoint_id": endpoint.id}
    )
    assert response.status_code == 302
    session.rollback()
    row = session.get(OutboxMessage, row.id, populate_existing=True)
    assert (row.status, row.attempts) == ("pending", 0)
    # pending again: no Redeliver button, and a second request is refused politely
    client.post(
        "/admin/webhooks/redeliver", data={"event_id": event_id, "endpoint_id": endpoint.id}
    )
    _, html = page(client)
    assert "already waiting" in html and hold.id


def test_the_page_has_no_inline_script_or_style(client, login, session):
    login("owner")
    webhooks.add_endpoint(session, PUBLIC_URL, "all", actor="t")
    _, html = page(client)
    assert " style=" not in html and "<style" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag, tag
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no onclick= …


def test_webhooks_are_reached_from_settings(client, login):
    login("owner")
    settings = client.get("/admin/settings").get_data(as_text=True)
    assert 'href="/admin/webhooks"' in settings
    page = client.get("/admin/webhooks").get_data(as_text=True)
    nav = page.split('id="main-nav"')[1].split("</ul>")[0]
    assert 'class="nav-link active" aria-current="true" href="/admin/settings"' in nav
