"""Scheduled limit changes over the API (a contract extension): schedule, list, cancel."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal import credit
from portal.models import AuditEvent, ScheduledLimitChange, StatementEntry

ZONE = ZoneInfo("America/Sao_Paulo")


def url(account_id: str, change_id=None) -> str:
    base = f"/api/portal/accounts/{account_id}/scheduled-limits"
    return base if change_id is None else f"{base}/{change_id}"


@pytest.fixture(autouse=True)
def sao_paulo(settings):
    settings(timezone="America/Sao_Paulo")


@pytest.fixture
def today(session) -> date:
    return credit.store_today(credit.get_settings(session))


def refusal(response) -> tuple[int, str, str | None]:
    error = response.get_json()["error"]
    return response.status_code, error["code"], error["field"]


def test_schedule_list_and_cancel(api, session, make_account, today):
    account = make_account(limit="1000")
    day = today + timedelta(days=3)
    body = {"value": 2500.5, "tolerance": 0.1, "effectiveDate": day.isoformat(), "reason": "BF"}
    response = api.post(url(account.id), json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    change = response.get_json()
    start = datetime.combine(day, time(), ZONE).astimezone(UTC)
    assert change == {
        "id": change["id"],
        "accountId": account.id,
        "value": 2500.5,
        "tolerance": 0.1,
        "effectiveDate": start.strftime("%Y-%m-%dT%H:%M:%SZ"),  # 03:00Z: midnight there
        "reason": "BF",
        "status": "pending",
        "scheduledBy": "apikey:test",
        "createdAt": change["createdAt"],
        "resolvedAt": None,
        "error": None,
    }
    assert start.hour == 3
    assert b'"value":2500.50' in response.data  # money as an exact number
    # a date-time stands for the day it falls on in São Paulo: 02:00Z is still the day before
    later = api.post(
        url(account.id),
        json={"value": 0, "effectiveDate": f"{day + timedelta(days=2)}T02:00:00Z", "reason": "x"},
    )
    assert later.status_code == 201
    assert later.get_json()["effectiveDate"] == f"{day + timedelta(days=1)}T03:00:00Z"
    assert later.get_json()["tolerance"] is None

    listed = api.get(url(account.id))
    assert listed.status_code == 200
    assert [c["id"] for c in listed.get_json()["data"]] == [later.get_json()["id"], change["id"]]
    assert listed.get_json()["summary"] == {"count": 2}

    cancelled = api.delete(url(account.id, change["id"]))
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled" and cancelled.get_json()["resolvedAt"]
    assert refusal(api.delete(url(account.id, change["id"]))) == (
        409,
        "invalid_transition",
        None,
    )
    assert [c.id for c in credit.pending_changes(session, account.id)] == [later.get_json()["id"]]
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.target_type == "ScheduledLimitChange")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["account.schedule_limit"] * 2 + ["account.cancel_scheduled_limit"]


def test_the_job_applies_it_and_the_list_tells(api, session, make_account, today):
    account = make_account(limit="1000")
    day = today + timedelta(days=1)
    created = api.post(
        url(account.id), json={"value": 3000, "effectiveDate": str(day), "reason": "growth"}
    ).get_json()
    start = datetime.combine(day, time(), ZONE)
    assert credit.apply_scheduled_limits(session, start - timedelta(seconds=1))["applied"] == 0
    assert credit.apply_scheduled_limits(session, start)["applied"] == 1
    shown = api.get(url(account.id)).get_json()["data"][0]
    assert shown["id"] == created["id"] and shown["status"] == "applied"
    assert shown["resolvedAt"] == start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert refusal(api.delete(url(account.id, created["id"])))[:2] == (409, "invalid_transition")
    fresh = api.get(f"/accounts/{account.id}").get_json()
    assert fresh["creditLimit"] == 3000
    done_by = session.scalars(
        select(StatementEntry.done_by).where(
            StatementEntry.account_id == account.id, StatementEntry.description == "growth"
        )
    ).all()
    assert done_by == ["apikey:test"]  # in the name of the key that scheduled it
    assert credit.find_breaches(session) == []


def test_refusals_name_the_field(api, make_account, today):
    account = make_account(limit="1000")
    ok = {"value": 2000, "effectiveDate": str(today + timedelta(days=1)), "reason": "why"}

    def post(**changes):
        body = {**ok, **changes}
        return refusal(
            api.post(url(account.id), json={k: v for k, v in body.items() if v is not ...})
        )

    assert post(effectiveDate=str(today)) == (400, "date_not_in_future", "effectiveDate")
    assert post(effectiveDate=str(today - timedelta(days=1)))[2] == "effectiveDate"
    assert post(effectiveDate=str(today + timedelta(days=367))) == (
        400,
        "date_too_far",
        "effectiveDate",
    )
    assert post(effectiveDate="31/12/2031") == (400, "invalid_date", "effectiveDate")
    assert post(effectiveDate="2031-02-30") == (400, "invalid_date", "effectiveDate")
    assert post(effectiveDate=20311231) == (400, "invalid_input", "effectiveDate")
    assert post(effectiveDate=...) == (400, "invalid_date", "effectiveDate")
    assert post(value="2000") == (400, "invalid_amount", "value")  # a number, not text
    assert post(value=True) == (400, "invalid_amount", "value")
    assert post(value=-1) == (400, "invalid_amount", "value")
    assert post(value=10.001) == (400, "invalid_amount", "value")
    assert post(value=1e16) == (400, "invalid_amount", "value")
    assert post(value=...) == (400, "invalid_amount", "value")
    assert post(tolerance=11) == (400, "invalid_rate", "tolerance")
    assert post(tolerance=0.12345) == (400, "invalid_amount", "tolerance")
    assert post(tolerance="0.1") == (400, "invalid_amount", "tolerance")
    assert post(reason=...) == (400, "invalid_input", "reason")
    assert post(reason="  ") == (400, "reason_required", "reason")
    assert post(reason="x" * 501) == (400, "too_long", "reason")
    assert post(reason="a\x00b") == (400, "invalid_input", None)
    assert post(creditLimit=2000) == (400, "invalid_input", "creditLimit")  # unknown field
    assert refusal(api.post(url(account.id), json=[ok])) == (400, "invalid_json", None)
    assert refusal(api.post(url("nope"), json=ok)) == (404, "account_not_found", None)
    assert api.post(url(account.id), json=ok).status_code == 201
    assert post() == (409, "duplicate_schedule", "effectiveDate")
    assert api.get(url("nope")).status_code == 404
    assert refusal(api.delete(url(account.id, 999999))) == (404, "scheduled_change_not_found", None)


def test_a_closed_account_takes_no_schedule(api, session, make_account, today):
    account = make_account(limit="1000")
    credit.close_account(session, account.id, actor="test", reason="closed")
    body = {"value": 2000, "effectiveDate": str(today + timedelta(days=1)), "reason": "why"}
    assert refusal(api.post(url(account.id), json=body)) == (409, "account_closed", None)


def test_another_accounts_change_is_not_found(api, make_account, today):
    mine, other = make_account(limit="1000"), make_account(limit="1000")
    body = {"value": 2000, "effectiveDate": str(today + timedelta(days=1)), "reason": "why"}
    change = api.post(url(other.id), json=body).get_json()
    assert api.delete(url(mine.id, change["id"])).status_code == 404
    assert api.get(url(mine.id)).get_json() == {"data": [], "summary": {"count": 0}}


def test_scopes(client, scoped_headers, make_account, session, today):
    account = make_account(limit="1000")
    body = {"value": 2000, "effectiveDate": str(today + timedelta(days=1)), "reason": "why"}
    for scopes in (("invoices:pay", "invoices:create"), ("accounts:read",), ("statements:read",)):
        headers = scoped_headers(*scopes)
        response = client.post(url(account.id), json=body, headers=headers)
        assert refusal(response)[:2] == (403, "forbidden"), scopes
    assert client.post(url(account.id), json=body).status_code == 401
    writer = scoped_headers("accounts:write")
    created = client.post(url(account.id), json=body, headers=writer)
    assert created.status_code == 201
    change_id = created.get_json()["id"]
    reader = scoped_headers("accounts:read")
    assert client.get(url(account.id), headers=reader).status_code == 200
    assert client.get(url(account.id), headers=scoped_headers("invoices:pay")).status_code == 403
    finance_like = scoped_headers("invoices:pay", "invoices:create", "accounts:read")
    assert client.delete(url(account.id, change_id), headers=finance_like).status_code == 403
    assert client.delete(url(account.id, change_id), headers=reader).status_code == 403
    assert session.scalar(select(func.count()).select_from(ScheduledLimitChange)) == 1
    assert client.delete(url(account.id, change_id), headers=writer).status_code == 200


def test_a_retry_with_the_idempotency_key_schedules_once(api, session, make_account, today):
    account = make_account(limit="1000")
    body = {"value": 2000, "effectiveDate": str(today + timedelta(days=1)), "reason": "why"}
    key = {"Idempotency-Key": "sched-1"}
    first = api.post(url(account.id), json=body, headers=key)
    again = api.post(url(account.id), json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.get_json() == again.get_json()
    other = api.post(url(account.id), json={**body, "value": 3000}, headers=key)
    assert other.status_code == 422
    assert session.scalar(select(func.count()).select_from(ScheduledLimitChange)) == 1


def test_the_operations_are_documented_as_extensions(client):
    doc = client.get("/api/openapi.json").get_json()
    base = "/api/portal/accounts/{creditAccountId}/scheduled-limits"
    operations = {
        ("post", base): "accounts:write",
        ("get", base): "accounts:read",
        ("delete", base + "/{changeId}"): "accounts:write",
    }
    for (method, path), scope in operations.items():
        op = doc["paths"][path][method]
        assert op["x-portal-extension"] is True and op["x-portal-scope"] == scope
        assert {"400", "401", "403", "404"} <= set(op["responses"])
    body = doc["paths"][base]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["value", "effectiveDate", "reason"]
    assert body["additionalProperties"] is False
    assert set(body["properties"]) == {"value", "tolerance", "effectiveDate", "reason"}


def test_money_and_rates_come_back_exact(api, make_account, today):
    account = make_account(limit="1000")
    day = today + timedelta(days=1)
    raw = f'{{"value": 1234.5, "tolerance": 0.125, "effectiveDate": "{day}", "reason": "why"}}'
    response = api.post(url(account.id), data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert b'"value":1234.50' in response.data and b'"tolerance":0.125' in response.data
