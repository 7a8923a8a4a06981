"""Scheduled limit changes on the account page: the owner schedules and cancels (htmx or a
plain form), every refusal is shown on its field and writes nothing, finance and support
only read, and the page shows a change once the jobs worker applied it."""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import func, select

from portal import credit
from portal.credit.scheduled import apply_scheduled_limits
from portal.models import AuditEvent, ScheduledLimitChange

HTMX = {"HX-Request": "true", "HX-Target": "scheduled-card"}


@pytest.fixture
def acme(make_account):
    return make_account(limit="1000", tolerance="0.05", email="a@acme.example", name="ACME Ltda")


@pytest.fixture
def today(session):
    return credit.store_today(credit.get_settings(session))


def _shown(day) -> str:
    """A day as the page writes it (|day, English)."""
    return format_date(day, "medium", locale="en")


def _schedule(client, account, headers=None, **data):
    url = f"/admin/accounts/{account.id}/scheduled-limits"
    return client.post(url, data=data, headers=headers or {})


def _valid(today, **changes) -> dict:
    data = {
        "credit_limit": "2,500.00",
        "tolerance": "10",
        "effective_on": (today + timedelta(days=3)).isoformat(),
        "reason": "Seasonal increase",
    }
    return {**data, **changes}


def _changes(session) -> list[ScheduledLimitChange]:
    session.expire_all()
    return list(session.scalars(select(ScheduledLimitChange).order_by(ScheduledLimitChange.id)))


def _card(page: str) -> str:
    return page.split('id="scheduled-card"')[1].split("</section>")[0]


def _form(page: str) -> str:
    return page.split('id="schedule-limit"')[1].split("</form>")[0]


def _errors(form_html: str, field_id: str) -> str:
    """The error text shown under one field of the form ('' when it has none)."""
    match = re.search(
        rf'<div class="invalid-feedback" id="{field_id}-errors">(.*?)</div>\s*</div>',
        form_html,
        re.S,
    )
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""


def _schedule_one(session, account, today, days=3, limit="2500", actor="boss@store.example"):
    return credit.schedule_limit(
        session,
        account.id,
        limit,
        effective_on=today + timedelta(days=days),
        reason="Seasonal increase",
        actor=actor,
    )


# --- scheduling -----------------------------------------------------------------------------


def test_the_owner_schedules_a_change_it_is_listed_and_audited(client, login, session, acme, today):
    owner = login("owner")
    response = _schedule(client, acme, **_valid(today))
    day = today + timedelta(days=3)
    assert response.status_code == 302
    assert response.location.endswith(f"/admin/accounts/{acme.id}#scheduled-card")
    [change] = _changes(session)
    assert (change.credit_limit, change.tolerance, change.effective_on, change.status) == (
        Decimal("2500.00"),
        Decimal("0.1000"),
        day,
        "pending",
    )
    assert change.scheduled_by == owner.email
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "account.schedule_limit")
    ).one()
    assert event.actor == owner.email and event.reason == "Seasonal increase"
    assert credit.get_account(session, acme.id).credit_limit == Decimal("1000.00")  # not yet

    page = client.get(response.location).get_data(as_text=True)
    assert f"Limit change scheduled for {_shown(day)}." in page  # the flash
    card = _card(page)
    assert _shown(day) in card and "R$1,000.00" in card and "R$2,500.00" in card
    assert "Tolerance 5.0% → 10.0%" in card and "Seasonal increase" in card
    assert f"Scheduled by {owner.email}" in card
    assert f'aria-label="Cancel the limit change of {_shown(day)}"' in card


def test_an_htmx_schedule_answers_the_card_with_a_toast(client, login, session, acme, today):
    login("owner")
    response = _schedule(client, acme, HTMX, **_valid(today, tolerance=""))
    html = response.get_data(as_text=True)
    day = _shown(today + timedelta(days=3))
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith("<section") and 'id="scheduled-card"' in html
    assert json.loads(response.headers["HX-Trigger"]) == {
        "toast": f"Limit change scheduled for {day}."
    }
    assert "Tolerance unchanged" in html and 'value="Seasonal increase"' not in html  # reset
    [change] = _changes(session)
    assert change.tolerance is None  # left empty: the tolerance is kept


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"credit_limit": ""}, "schedule-credit-limit", "This field is required."),
        ({"credit_limit": "   "}, "schedule-credit-limit", "This field is required."),
        (
            {"credit_limit": "1,5"},
            "schedule-credit-limit",
            "New credit limit: use a point for decimals",
        ),
        ({"credit_limit": "10k"}, "schedule-credit-limit", "New credit limit must be a number"),
        ({"credit_limit": "-5"}, "schedule-credit-limit", "must not be negative"),
        ({"tolerance": "ten"}, "schedule-tolerance", "New tolerance (%) must be a number"),
        ({"effective_on": ""}, "schedule-effective-on", "This field is required."),
        ({"effective_on": "15/12/2026"}, "schedule-effective-on", "Effective date must be a date"),
        ({"effective_on": "2026-02-30"}, "schedule-effective-on", "Effective date must be a date"),
        ({"effective_on": "today"}, "schedule-effective-on", "must be after today"),
        ({"effective_on": "yesterday"}, "schedule-effective-on", "must be after today"),
        ({"effective_on": "far"}, "schedule-effective-on", "at most 366 days ahead"),
        ({"reason": ""}, "schedule-reason", "This field is required."),
        ({"reason": "   "}, "schedule-reason", "This field is required."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_bad_input_is_shown_on_its_field_and_writes_nothing(
    client, login, session, acme, today, changes, field, message, htmx
):
    days = {"today": 0, "yesterday": -1, "far": 367}
    if changes.get("effective_on") in days:
        changes = {
            "effective_on": (today + timedelta(days=days[changes["effective_on"]])).isoformat()
        }
    login("owner")
    data = _valid(today, **changes)
    response = _schedule(client, acme, HTMX if htmx else None, **data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("<html" in html) is not htmx
    form = _form(html)
    assert message in _errors(form, field), _errors(form, field)
    assert f'id="{field}"' in form and 'aria-invalid="true"' in form
    others = {
        "schedule-credit-limit",
        "schedule-tolerance",
        "schedule-effective-on",
        "schedule-reason",
    }
    assert not any(_errors(form, other) for other in others - {field})
    typed = {key: value for key, value in data.items() if key != field and value.strip()}
    assert all(f'value="{value}"' in form for value in typed.values())  # kept as typed
    assert _changes(session) == []
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "account.schedule_limit")
        )
        == 0
    )


def test_every_field_error_is_shown_at_once(client, login, session, acme, today):
    login("owner")
    response = _schedule(
        client, acme, credit_limit="1,5", tolerance="x", effective_on="soon", reason=""
    )
    form = _form(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "use a point for decimals" in _errors(form, "schedule-credit-limit")
    assert "must be a number" in _errors(form, "schedule-tolerance")
    assert "must be a date" in _errors(form, "schedule-effective-on")
    assert "required" in _errors(form, "schedule-reason")
    assert _changes(session) == []


def test_a_second_change_for_the_same_day_is_refused_on_the_date(
    client, login, session, acme, today
):
    _schedule_one(session, acme, today)
    login("owner")
    response = _schedule(client, acme, **_valid(today))
    form = _form(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "already scheduled" in _errors(form, "schedule-effective-on")
    assert len(_changes(session)) == 1


def test_a_closed_account_refuses_above_the_form(client, login, session, acme, today):
    credit.close_account(session, acme.id, actor="t", reason="gone")
    login("owner")
    response = _schedule(client, acme, **_valid(today))
    form_area = response.get_data(as_text=True).split('id="schedule-title"')[1]
    assert response.status_code == 422
    assert 'role="alert"' in form_area.split('id="schedule-limit"')[0]
    assert "The account is closed." in form_area
    assert _changes(session) == []


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["finance", "support"])
def test_finance_and_support_read_the_list_but_cannot_schedule_or_cancel(
    client, login, session, acme, today, role
):
    change = _schedule_one(session, acme, today)
    login(role)
    page = client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True)
    card = _card(page)
    assert _shown(change.effective_on) in card and "R$2,500.00" in card
    assert "<form" not in card and "Schedule a limit change" not in card
    assert "Cancel the limit change" not in card
    assert (
        _schedule(
            client, acme, **_valid(today, effective_on=str(today + timedelta(days=9)))
        ).status_code
        == 403
    )
    cancel = client.post(f"/admin/accounts/{acme.id}/scheduled-limits/{change.id}/cancel")
    assert cancel.status_code == 403
    assert [(c.id, c.status) for c in _changes(session)] == [(change.id, "pending")]


# --- cancelling -------------------------------------------------------------------------------


def test_the_owner_cancels_a_pending_change_after_a_confirmation(
    client, login, session, acme, today
):
    change = _schedule_one(session, acme, today)
    owner = login("owner")
    page = client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True)
    cancel_form = _card(page).split("<form")[1].split("</form>")[0]
    day = _shown(change.effective_on)
    assert f"/scheduled-limits/{change.id}/cancel" in cancel_form
    assert (
        f'data-confirm="Cancel the change of the credit limit of ACME Ltda to R$2,500.00 on {day}?'
        in cancel_form
    )
    assert 'data-confirm-title="Cancel the scheduled change?"' in cancel_form
    assert 'data-confirm-button="Cancel the change"' in cancel_form
    assert 'data-confirm-cancel="Keep it"' in cancel_form

    response = client.post(f"/admin/accounts/{acme.id}/scheduled-limits/{change.id}/cancel")
    assert response.status_code == 302
    [cancelled] = _changes(session)
    assert cancelled.status == "cancelled"
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "account.cancel_scheduled_limit")
    ).one()
    assert event.actor == owner.email
    page = client.get(response.location).get_data(as_text=True)
    assert f"The limit change of {day} is cancelled." in page
    card = _card(page)
    assert "No limit change is scheduled." in card
    recent = card.split('id="scheduled-recent"')[1]
    assert f"{day} · Cancelled" in recent and "Cancel the limit change" not in card

    again = client.post(f"/admin/accounts/{acme.id}/scheduled-limits/{change.id}/cancel")
    assert again.status_code == 302  # no longer pending: said in an alert on the page
    assert "not pending" in client.get(again.location).get_data(as_text=True)


def test_an_htmx_cancel_answers_the_card_with_a_toast(client, login, session, acme, today):
    first = _schedule_one(session, acme, today, days=3)
    second = _schedule_one(session, acme, today, days=10, limit="3000")
    login("owner")
    response = client.post(
        f"/admin/accounts/{acme.id}/scheduled-limits/{first.id}/cancel", headers=HTMX
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    day = _shown(first.effective_on)
    assert json.loads(response.headers["HX-Trigger"]) == {
        "toast": f"The limit change of {day} is cancelled."
    }
    pending = html.split('id="scheduled-pending"')[1].split("</ul>")[0]
    assert _shown(second.effective_on) in pending and day not in pending
    again = client.post(
        f"/admin/accounts/{acme.id}/scheduled-limits/{first.id}/cancel", headers=HTMX
    )
    assert again.status_code == 409 and "HX-Error-Message" in again.headers


def test_cancelling_needs_the_csrf_token(app, client, login, session, acme, today):
    change = _schedule_one(session, acme, today)
    login("owner")
    app.config["WTF_CSRF_ENABLED"] = True
    url = f"/admin/accounts/{acme.id}/scheduled-limits/{change.id}/cancel"
    assert client.post(url).status_code == 400
    assert client.post(url, data={"csrf_token": "forged"}).status_code == 400
    assert _changes(session)[0].status == "pending"
    page = client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    assert client.post(url, data={"csrf_token": token}).status_code == 302
    assert _changes(session)[0].status == "cancelled"


def test_a_change_of_another_account_is_not_found(
    client, login, session, acme, today, make_account
):
    other = make_account(limit="500")
    theirs = _schedule_one(session, other, today)
    login("owner")
    for change_id in (theirs.id, theirs.id + 1000, 2147483647):
        url = f"/admin/accounts/{acme.id}/scheduled-limits/{change_id}/cancel"
        assert client.post(url).status_code == 404
        assert client.post(url, headers=HTMX).status_code == 404
    assert client.post(f"/admin/accounts/{acme.id}/scheduled-limits/x/cancel").status_code == 404
    assert (
        client.post(f"/admin/accounts/nope/scheduled-limits/{theirs.id}/cancel").status_code == 404
    )
    assert _changes(session)[0].status == "pending"


# --- applied by the job -----------------------------------------------------------------------


def test_the_job_applies_the_change_and_the_page_shows_it_applied(
    client, login, session, acme, today
):
    change = _schedule_one(session, acme, today, days=2)
    settings = credit.get_settings(session)
    on_the_day = datetime.combine(
        change.effective_on, time(0, 5), tzinfo=ZoneInfo(settings.timezone)
    )
    assert apply_scheduled_limits(session, on_the_day - timedelta(minutes=10))["applied"] == 0
    assert apply_scheduled_limits(session, on_the_day)["applied"] == 1
    login("finance")
    page = client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True)
    assert credit.get_account(session, acme.id).credit_limit == Decimal("2500.00")
    card = _card(page)
    assert "No limit change is scheduled." in card
    recent = card.split('id="scheduled-recent"')[1]
    assert f"{_shown(change.effective_on)} · Applied" in recent and "R$2,500.00" in recent


def test_only_the_last_few_resolved_changes_are_shown(client, login, session, acme, today):
    for days in range(1, 9):
        change = _schedule_one(session, acme, today, days=days, limit=str(1000 + days))
        credit.cancel_scheduled(session, acme.id, change.id, actor="t")
    login("support")
    card = _card(client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True))
    recent = card.split('id="scheduled-recent"')[1]
    assert recent.count("<li") == 5
    assert "R$1,008.00" in recent and "R$1,004.00" in recent
    assert "R$1,003.00" not in recent  # the oldest are left out
