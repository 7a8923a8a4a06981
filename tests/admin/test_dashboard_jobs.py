"""The dashboard's "Background work" card: the last worker pass in words, a warning when
the worker has not run for 10 minutes, disabled webhooks (owner) and the outbox (owner,
finance)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from portal import credit, jobs
from portal.credit.ledger import write_transaction
from portal.models import OutboxMessage, WebhookEndpoint, clock_at

PAST = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday: a hold made then is due by NOW
NOW = datetime(2026, 4, 22, 12, 0, tzinfo=UTC)
LATE = "The jobs worker has"
START = "Start it with <code>flask --app portal jobs worker</code> (make run starts it)."


def dashboard(client) -> str:
    response = client.get("/admin")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def card(page: str) -> str:
    """The text of the Background work card (tags and spacing removed)."""
    section = page.split('id="background-work"')[1].split("</section>")[0]
    return " ".join(re.sub(r"<[^>]+>", " ", section).split())


def warning(page: str) -> str | None:
    """The worker warning, or None when there is none."""
    found = re.search(
        r'<div class="alert[^"]*" role="alert" id="worker-late">(.*?)</div>', page, re.S
    )
    return " ".join(found.group(1).split()) if found else None


def counting(**counts):
    """A job that "did" `counts` (an int, or a dict of ints)."""
    value = counts.pop("n", None)

    def job(session, now):
        return value if value is not None else counts

    return job


def test_no_pass_ever_warns_that_the_worker_has_never_run(client, login):
    login("support")
    page = dashboard(client)
    assert warning(page).startswith(
        "The jobs worker has never run: holds are not settled and no e-mails go out."
    )
    assert START in page
    assert "No worker pass has finished yet." in card(page)


def test_a_real_pass_settles_a_hold_and_the_card_says_so(client, login, session, make_account):
    account = make_account(limit="1000")
    with clock_at(PAST):
        credit.authorize(session, account.id, "100.00", actor="test", transaction_id="T1")
    result = jobs.run_pass(session, NOW, worker="host-a:41")
    assert result.errors == {} and result.counts["settle"] == 1
    login("finance")
    page = dashboard(client)
    assert warning(page) is None and LATE not in page
    text = card(page)
    assert "The last worker pass finished" in text and "(worker host-a:41)" in text
    assert "1 hold settled" in text
    assert "It ran as of" in text  # run_pass was given an explicit moment


def test_a_fresh_pass_shows_its_counts_in_words(client, login, session):
    registry = [
        jobs.Job("expire", counting(n=0)),
        jobs.Job("settle", counting(n=2)),
        jobs.Job("reminders", counting(reminders=3, emails=0, busy=0)),
        jobs.Job("outbox_purge", counting(n=6)),
        jobs.Job("outbox", counting(sent=1, failed=0)),
        jobs.Job("mystery", counting(n=4)),
        jobs.Job("odd", counting(things=5)),
    ]
    jobs.run_pass(session, jobs=registry, worker="host-b:7")
    login("owner")
    page = dashboard(client)
    assert warning(page) is None
    text = card(page)
    assert (
        "2 holds settled, 3 reminders, 6 old sent messages deleted, 1 e-mail sent, mystery: 4, "
        "odd.things: 5"
    ) in text
    assert "expire" not in text and "It ran as of" not in text
    assert 'id="last-pass-errors"' not in page


def test_a_pass_with_nothing_to_do_says_so(client, login, session):
    jobs.run_pass(session, jobs=[jobs.Job("settle", counting(n=0))])
    login("support")
    assert "Nothing was due." in card(dashboard(client))


def test_a_pass_older_than_10_minutes_warns(client, login, session):
    jobs.run_pass(session, jobs=[jobs.Job("settle", counting(n=2))])
    finished = jobs.last_run(session).finished_at
    login("support")
    with clock_at(finished + timedelta(minutes=9, seconds=50)):
        assert warning(dashboard(client)) is None
    with clock_at(finished + timedelta(minutes=11, seconds=5)):
        page = dashboard(client)
    assert warning(page) == (
        "The jobs worker has not run for 11 minutes: holds are not settled and no e-mails go "
        "out. " + START
    )
    assert "2 holds settled" in card(page)  # the last pass is still described
    with clock_at(finished + timedelta(days=3, minutes=1)):
        assert "has not run for 3 days:" in warning(dashboard(client))


def test_a_failed_job_is_listed_with_its_message(client, login, session):
    def boom(session, now):
        raise ValueError("the printer is on fire")

    result = jobs.run_pass(
        session, jobs=[jobs.Job("settle", counting(n=1)), jobs.Job("boom", boom)]
    )
    assert result.errors
    login("support")
    page = dashboard(client)
    errors = page.split('id="last-pass-errors"')[1].split("</ul>")[0]
    assert "alert-warning" in page.split('id="last-pass-errors"')[0].rsplit("<div", 1)[1]
    assert "1 job failed in that pass:" in errors
    assert "<code>boom</code>: ValueError: the printer is on fire" in errors
    assert "1 hold settled" in card(page) and warning(page) is None


def _disabled_endpoint(session, url: str, since: datetime, *, automatic=True) -> WebhookEndpoint:
    with write_transaction(session):
        endpoint = WebhookEndpoint(
            url=url,
            events=["*"],
            secret="not-used",
            active=False,
            created_by="test",
            failing_since=since if automatic else None,
            disabled_reason="Disabled automatically: …" if automatic else "Deactivated by test",
        )
        session.add(endpoint)
    return endpoint


@pytest.mark.parametrize("role", ["owner", "finance", "support"])
def test_endpoints_disabled_for_failing_are_shown_to_the_owner(app, client, login, session, role):
    since = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    failing = _disabled_endpoint(session, "https://93.184.216.34/failing", since)
    _disabled_endpoint(session, "https://93.184.216.34/by-hand", since, automatic=False)
    login(role)
    page = dashboard(client)
    notices = re.findall(r'id="webhook-disabled-(\d+)">(.*?)</div>', page, re.S)
    if role != "owner":
        assert notices == [] and "/failing" not in page
        return
    ((endpoint_id, notice),) = notices
    assert int(endpoint_id) == failing.id
    text = " ".join(notice.split())
    with app.test_request_context():
        when = " ".join(app.jinja_env.filters["moment"](since).split())
    assert text.startswith(
        "The webhook endpoint https://93.184.216.34/failing was disabled: every delivery has "
        f"failed since {when}."
    )
    assert '<a href="/admin/webhooks">Check the webhooks</a>' in text
    assert "/by-hand" not in page  # deactivated by a person: no notice


def _outbox(session, **statuses: int) -> None:
    with write_transaction(session):
        for status, count in statuses.items():
            for i in range(count):
                session.add(
                    OutboxMessage(
                        topic="reminder",
                        recipient=f"{status}{i}@example.com",
                        payload={},
                        status=status,
                    )
                )


@pytest.mark.parametrize("role", ["owner", "finance", "support"])
def test_outbox_counts_link_to_the_outbox_for_who_may_open_it(client, login, session, role):
    _outbox(session, pending=3, failed=2, sent=7)
    login(role)
    page = dashboard(client)
    assert 'id="background-work"' in page
    if role == "support":  # the outbox page is not theirs: no figures, no link
        assert "/admin/outbox" not in page and 'id="outbox-backlog"' not in page
        return
    backlog = page.split('id="outbox-backlog">')[1].split("</p>")[0]
    assert '<a href="/admin/outbox">Outbox</a>' in backlog
    assert '<a href="/admin/outbox?status=pending" id="outbox-pending">3 messages waiting</a>' in (
        backlog
    )
    failed = (
        '<a href="/admin/outbox?status=failed" class="link-danger fw-semibold" id="outbox-failed">'
    )
    assert f"{failed}2 failed</a>" in backlog  # highlighted
    for href in re.findall(r'href="([^"]+)"', backlog):  # every link opens
        assert client.get(href).status_code == 200, href


def test_no_failed_message_is_not_highlighted(client, login, session):
    _outbox(session, pending=1)
    login("finance")
    backlog = dashboard(client).split('id="outbox-backlog">')[1].split("</p>")[0]
    assert 'id="outbox-pending">1 message waiting</a>' in backlog
    assert 'class="link-secondary" id="outbox-failed">0 failed</a>' in backlog


def test_the_card_costs_one_query_per_figure_however_much_there_is(
    client, login, session, sql_statements
):
    login("owner")

    def card_queries() -> dict[str, int]:
        with sql_statements() as statements:
            dashboard(client)
        tables = ("job_runs", "webhook_endpoints", "outbox")
        return {t: sum(f"FROM {t} " in s.replace("\n", " ") for s in statements) for t in tables}

    one_each = {"job_runs": 1, "webhook_endpoints": 1, "outbox": 1}
    jobs.run_pass(session, jobs=[jobs.Job("settle", counting(n=1))])
    _disabled_endpoint(session, "https://93.184.216.34/a", NOW)
    _outbox(session, pending=1, failed=1, sent=1)
    assert card_queries() == one_each
    for _ in range(3):
        jobs.run_pass(session, jobs=[jobs.Job("settle", counting(n=1))])
    for name in "bcde":
        _disabled_endpoint(session, f"https://93.184.216.34/{name}", NOW)
    _outbox(session, pending=20, failed=10, sent=30)
    assert card_queries() == one_each
