"""Dates in the API: written as the contract's ISO 8601 date-times, read in both forms.

A calendar day (due date, original due date, a hold's expiration date) is written as the
start of that day in the store's timezone, in UTC with a Z; a date-time given for a day is
read back as the day it falls on in the store's timezone. Timestamps stay UTC instants.
The CSV export keeps plain days (it is imported back).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal import credit
from portal.api import payload, serializers
from portal.api.errors import ApiError
from portal.models import Invoice, PreAuthorization

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
INVOICE_DAYS = ("dueDate", "originalDueDate")
INVOICE_TIMES = ("createdAt", "updatedAt")
GARBAGE = (
    "tomorrow",
    "31/01/2024",
    "20240131",
    "2024-W05-3",
    "2024-13-01",
    "2024-01-31T25:00:00Z",
    "2024-01-31T03:00:00 03:00",  # an offset's + sent unencoded arrives as a space
    "2024-01-31T03:00:00Z[UTC]",
    "٢٠٢٤-٠١-٣١",
    "0001-01-01",
)


def _utc_z(text: str) -> datetime:
    """A date-time the API wrote: ends in Z, parses, and is in UTC."""
    assert text.endswith("Z"), text
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(0), text
    return moment


@pytest.fixture
def bought(session, make_account, purchase):
    """An account with one purchase in three installments: (account, [invoices by due date])."""
    account = make_account(limit="1000")
    hold = purchase(account, "300", term="30/60/90")
    invoices = [credit.get_invoice(session, account.id, f"{hold.id}-0{n}") for n in (1, 2, 3)]
    return account, invoices


# --- the conversion itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "written"),
    [
        ("America/Sao_Paulo", date(2024, 4, 2), "2024-04-02T03:00:00Z"),
        ("UTC", date(2024, 4, 2), "2024-04-02T00:00:00Z"),
        ("Asia/Tokyo", date(2024, 4, 2), "2024-04-01T15:00:00Z"),
        ("America/Sao_Paulo", date(2018, 11, 4), "2018-11-04T03:00:00Z"),  # DST began at 00:00
        ("America/Sao_Paulo", date(2019, 1, 15), "2019-01-15T02:00:00Z"),  # summer time
    ],
)
def test_a_day_is_written_as_its_start_in_the_store_timezone(zone, day, written):
    assert serializers.due_moment(day, ZoneInfo(zone)) == written
    assert serializers.due_moment(None, ZoneInfo(zone)) is None
    # ... and read back as the same day.
    assert payload.parse_date(written, "expirationDate", ZoneInfo(zone)) == day


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2024-04-02", date(2024, 4, 2)),
        ("2024-04-02T03:00:00Z", date(2024, 4, 2)),
        ("2024-04-02T02:00:00Z", date(2024, 4, 1)),
        ("2024-04-02T02:59:59.9999999Z", date(2024, 4, 1)),
        ("2024-04-03T02:59:59Z", date(2024, 4, 2)),
        ("2024-04-02t03:00:00z", date(2024, 4, 2)),
        ("2024-04-02T06:52:53.1314379Z", date(2024, 4, 2)),  # as VTEX writes them
        ("2024-04-02T00:00:00-03:00", date(2024, 4, 2)),
        ("2024-04-01T23:59:00-0300", date(2024, 4, 1)),
        ("2024-04-02T01:00+02", date(2024, 4, 1)),
        ("2024-04-02 00:30:00", date(2024, 4, 2)),  # no zone: the store's wall clock
        ("2024-04-02T23:59:59", date(2024, 4, 2)),
        (" 2024-04-02 ", date(2024, 4, 2)),
        ("", None),
        (None, None),
    ],
)
def test_parse_date_reads_both_forms_in_the_store_timezone(raw, day):
    assert payload.parse_date(raw, "expirationDate", SAO_PAULO) == day


@pytest.mark.parametrize("raw", [*GARBAGE, "9999-12-31", 20240402, ["2024-04-02"]])
def test_parse_date_refuses_the_rest_naming_the_field(raw):
    with pytest.raises(ApiError) as error:
        payload.parse_date(raw, "expirationDate", SAO_PAULO)
    assert (error.value.status, error.value.code, error.value.field) == (
        400,
        "invalid_date",
        "expirationDate",
    )
    assert "expirationDate" in error.value.message


# --- what the API writes --------------------------------------------------------------------


def test_invoice_dates_are_utc_date_times(api, session, bought, settings):
    account, invoices = bought
    url = f"/accounts/{account.id}/invoices/{invoices[0].id}"
    body = api.get(url).get_json()
    for name in INVOICE_DAYS + INVOICE_TIMES:
        _utc_z(body[name])
    assert body["resolvedAt"] is None
    assert body["dueDate"] == f"{invoices[0].due_date.isoformat()}T03:00:00Z"
    assert body["originalDueDate"] == f"{invoices[0].original_due_date.isoformat()}T03:00:00Z"
    # The day it stands for, in the store's timezone, is the invoice's due date.
    assert _utc_z(body["dueDate"]).astimezone(SAO_PAULO).date() == invoices[0].due_date
    assert _utc_z(body["dueDate"]).astimezone(SAO_PAULO).time().isoformat() == "00:00:00"

    listed = api.get(f"/invoices?creditAccountId={account.id}").get_json()["data"]
    listed += api.get(f"/accounts/{account.id}/invoices").get_json()["data"]
    assert len(listed) == 6
    for item in listed:
        for name in INVOICE_DAYS + INVOICE_TIMES:
            _utc_z(item[name])

    paid = api.post(f"{url}/payments").get_json()
    for name in INVOICE_DAYS + INVOICE_TIMES + ("resolvedAt",):
        _utc_z(paid[name])
    changed = api.put(f"/accounts/{account.id}/invoices/{invoices[1].id}", json={}).get_json()
    assert changed["dueDate"] == f"{invoices[1].due_date.isoformat()}T03:00:00Z"
    cancelled = api.delete(f"/accounts/{account.id}/invoices/{invoices[2].id}").get_json()
    assert cancelled["dueDate"] == f"{invoices[2].due_date.isoformat()}T03:00:00Z"


def test_postponed_due_date_is_a_date_time(api, bought, settings):
    account, invoices = bought
    settings(postponement_enabled=True, postponement_limit=1, max_postponement_days=10)
    due = invoices[0].due_date
    url = f"/accounts/{account.id}/invoices/{invoices[0].id}/postponement"
    body = api.put(url, json={"dueDays": 5}).get_json()
    assert body["dueDate"] == f"{due + timedelta(days=5)}T03:00:00Z"
    assert body["originalDueDate"] == f"{due}T03:00:00Z"


@pytest.mark.parametrize(
    ("zone", "time_of_day", "shift"),
    [("UTC", "00:00:00", 0), ("Asia/Tokyo", "15:00:00", -1), ("America/New_York", None, 0)],
)
def test_the_store_timezone_decides_the_instant(api, bought, settings, zone, time_of_day, shift):
    account, invoices = bought
    settings(timezone=zone)
    body = api.get(f"/accounts/{account.id}/invoices/{invoices[0].id}").get_json()
    due = invoices[0].due_date
    moment = _utc_z(body["dueDate"])
    assert moment == datetime.combine(due, datetime.min.time(), ZoneInfo(zone))
    if time_of_day is not None:
        assert body["dueDate"] == f"{due + timedelta(days=shift)}T{time_of_day}Z"
    assert moment.astimezone(ZoneInfo(zone)).date() == due


def test_hold_expiration_date_is_a_date_time(api, make_account):
    account = make_account()
    body = api.post(
        f"/accounts/{account.id}/transactions",
        json={"value": 10, "settle": False, "installments": 1, "expirationDate": "2030-11-25"},
    ).get_json()
    assert body["expirationDate"] == "2030-11-25T03:00:00Z"
    _utc_z(body["createdAt"])
    url = f"/accounts/{account.id}/transactions/{body['id']}"
    assert api.put(url, json={"value": 5}).get_json()["expirationDate"] == body["expirationDate"]
    assert api.delete(url).get_json()["expirationDate"] == body["expirationDate"]
    default = api.post(
        f"/accounts/{account.id}/transactions",
        json={"value": 10, "settle": False, "installments": 1},
    ).get_json()
    assert _utc_z(default["expirationDate"]).astimezone(SAO_PAULO).time().isoformat() == (
        "00:00:00"
    )


# --- what the API reads ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ("2030-11-25", "2030-11-25"),
        ("2030-11-25T03:00:00Z", "2030-11-25"),
        ("2030-11-25T03:00:00.1314379Z", "2030-11-25"),
        ("2030-11-25T00:00:00-03:00", "2030-11-25"),
        ("2030-11-25T18:00:00", "2030-11-25"),
        ("2030-11-26T02:59:59Z", "2030-11-25"),  # 23:59:59 on the 25th in São Paulo
        ("2030-11-25T02:00:00Z", "2030-11-24"),  # 23:00 on the 24th in São Paulo
        ("2030-11-25T02:00:00+00:00", "2030-11-24"),
    ],
)
def test_expiration_date_in_both_forms(api, session, make_account, fresh, raw, day):
    account = make_account()
    response = api.post(
        f"/accounts/{account.id}/transactions",
        json={"value": 10, "settle": False, "installments": 1, "expirationDate": raw},
    )
    assert response.status_code == 200, response.data
    body = response.get_json()
    assert body["expirationDate"] == f"{day}T03:00:00Z"
    fresh()
    assert session.get(PreAuthorization, body["id"]).expiration_date == date.fromisoformat(day)
    # What the API wrote is accepted back as the same day.
    again = api.put(
        f"/accounts/{account.id}/transactions/NEW-{body['id']}",
        json={
            "value": 10,
            "settle": False,
            "installments": 1,
            "expirationDate": body["expirationDate"],
        },
    )
    assert again.get_json()["expirationDate"] == body["expirationDate"]


def test_expiration_date_near_midnight_in_a_utc_store(api, make_account, settings):
    settings(timezone="UTC")
    account = make_account()
    for raw, written in (
        ("2030-11-25T02:00:00Z", "2030-11-25T00:00:00Z"),
        ("2030-11-25T23:59:59Z", "2030-11-25T00:00:00Z"),
        ("2030-11-25T00:30:00+01:00", "2030-11-24T00:00:00Z"),
    ):
        body = api.post(
            f"/accounts/{account.id}/transactions",
            json={"value": 1, "settle": False, "installments": 1, "expirationDate": raw},
        ).get_json()
        assert body["expirationDate"] == written, raw


@pytest.mark.parametrize("raw", [*GARBAGE, "9999-12-31", 20301125, True, {"day": 1}])
def test_bad_expiration_date_is_400_naming_it(api, make_account, raw):
    account = make_account()
    response = api.post(
        f"/accounts/{account.id}/transactions",
        json={"value": 10, "settle": False, "installments": 1, "expirationDate": raw},
    )
    assert response.status_code == 400, raw
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("invalid_date", "expirationDate")
    assert "expirationDate" in error["message"]


def _ids(api, path: str, **args) -> list[str]:
    response = api.get(path, query_string=args)
    assert response.status_code == 200, (args, response.data)
    return sorted(item["id"] for item in response.get_json()["data"])


@pytest.mark.parametrize("where", ["search", "account"])
def test_due_date_filters_in_both_forms(api, bought, where):
    account, invoices = bought
    path, args = (
        ("/invoices", {"creditAccountId": account.id})
        if where == "search"
        else (f"/accounts/{account.id}/invoices", {})
    )
    first, second, third = (i.id for i in invoices)
    day = invoices[1].due_date
    served = api.get(f"/accounts/{account.id}/invoices/{second}").get_json()["dueDate"]
    same_day = (
        day.isoformat(),
        served,
        f"{day}T03:00:00Z",
        f"{day}T03:00:00.0000001Z",
        f"{day}T00:00:00-03:00",
        f"{day}T12:00:00",
        f"{day + timedelta(days=1)}T02:59:59Z",
        f"{day}T05:00:00+02:00",
    )
    for raw in same_day:
        assert _ids(api, path, **args, dueDateFrom=raw) == [second, third], raw
        assert _ids(api, path, **args, dueDateTo=raw) == [first, second], raw
        assert _ids(api, path, **args, dueDateFrom=raw, dueDateTo=raw) == [second], raw
    # Just before the store's midnight: the day before.
    for raw in (f"{day}T02:59:59Z", f"{day}T02:00:00+00:00", f"{day - timedelta(days=1)}"):
        assert _ids(api, path, **args, dueDateTo=raw) == [first], raw
        assert _ids(api, path, **args, dueDateFrom=raw) == [second, third], raw


def test_due_date_filters_follow_the_store_timezone(api, bought, settings):
    account, invoices = bought
    settings(timezone="UTC")
    day = invoices[1].due_date
    path = f"/accounts/{account.id}/invoices"
    assert _ids(api, path, dueDateTo=f"{day}T02:00:00Z") == [invoices[0].id, invoices[1].id]
    assert _ids(api, path, dueDateTo=f"{day}T00:00:00Z") == [invoices[0].id, invoices[1].id]
    assert _ids(api, path, dueDateTo=f"{day}T23:00:00-01:00") == [i.id for i in invoices[:2]]
    assert _ids(api, path, dueDateTo=f"{day}T00:30:00+01:00") == [invoices[0].id]


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("where", ["search", "account"])
def test_created_date_filters_in_both_forms(api, bought, where):
    account, invoices = bought
    path, args = (
        ("/invoices", {"creditAccountId": account.id})
        if where == "search"
        else (f"/accounts/{account.id}/invoices", {})
    )
    every = sorted(i.id for i in invoices)
    served = sorted(
        api.get(path, query_string=args).get_json()["data"],
        key=lambda i: (_utc_z(i["createdAt"]), i["id"]),
    )
    first, last = served[0], served[-1]
    day = _utc_z(first["createdAt"]).date()  # a bare date is that day in UTC
    if _utc_z(last["createdAt"]).date() != day:
        pytest.skip("the purchase straddled midnight UTC")
    for raw in (day.isoformat(), f"{day}T00:00:00Z", f"{day}T00:00:00", f"{day}T03:00:00+03:00"):
        assert _ids(api, path, **args, createdDateFrom=raw) == every, raw
    after = (day + timedelta(days=1)).isoformat()
    for raw in (after, f"{after}T00:00:00Z", f"{after}T00:00:00"):
        assert _ids(api, path, **args, createdDateFrom=raw) == [], raw
    for raw in (day.isoformat(), f"{day}T23:59:59.999999Z", f"{after}T00:00:00Z"):
        assert _ids(api, path, **args, createdDateTo=raw) == every, raw
    before = (day - timedelta(days=1)).isoformat()
    for raw in (before, f"{before}T23:59:59.999999Z", f"{day}T00:00:00-00:00"):
        assert _ids(api, path, **args, createdDateTo=raw) == [], raw
    # An instant is exact, and a "to" instant is included.
    start, end = _utc_z(first["createdAt"]), _utc_z(last["createdAt"])
    assert _ids(api, path, **args, createdDateFrom=first["createdAt"]) == every
    assert first["id"] not in _ids(
        api, path, **args, createdDateFrom=_z(start + timedelta(microseconds=1))
    )
    assert _ids(api, path, **args, createdDateTo=last["createdAt"]) == every
    assert last["id"] not in _ids(
        api, path, **args, createdDateTo=_z(end - timedelta(microseconds=1))
    )
    # The same instants written with São Paulo's offset.
    local = {
        "createdDateFrom": start.astimezone(SAO_PAULO).isoformat(),
        "createdDateTo": end.astimezone(SAO_PAULO).isoformat(),
    }
    assert _ids(api, path, **args, **local) == every


def test_statement_from_and_to_in_both_forms(api, bought):
    account, _ = bought
    path = f"/accounts/{account.id}/statements"

    def entries(**args) -> list:
        response = api.get(path, query_string=args)
        assert response.status_code == 200, (args, response.data)
        return sorted(e["id"] for e in response.get_json()["statements"])

    every = entries()
    listed = sorted(
        api.get(path).get_json()["statements"], key=lambda e: (_utc_z(e["date"]), e["id"])
    )
    first, last = listed[0], listed[-1]
    day = _utc_z(first["date"]).date()
    if _utc_z(last["date"]).date() != day:
        pytest.skip("the entries straddled midnight UTC")
    after = (day + timedelta(days=1)).isoformat()
    for raw in (day.isoformat(), f"{day}T00:00:00Z", f"{day}T00:00:00"):
        assert entries(**{"from": raw}) == every, raw
    for raw in (day.isoformat(), f"{after}T00:00:00Z", f"{after}T00:00:00"):
        assert entries(to=raw) == every, raw
    for raw in (after, f"{after}T00:00:00Z"):
        assert entries(**{"from": raw}) == [], raw
    for raw in ((day - timedelta(days=1)).isoformat(), f"{day}T00:00:00Z"):
        assert entries(to=raw) == [], raw
    # An instant is exact, and a "to" instant is included.
    assert entries(**{"from": first["date"]}) == every
    assert entries(to=last["date"]) == every
    start, end = _utc_z(first["date"]), _utc_z(last["date"])
    assert first["id"] not in entries(**{"from": _z(start + timedelta(microseconds=1))})
    assert last["id"] not in entries(to=_z(end - timedelta(microseconds=1)))


@pytest.mark.parametrize("raw", GARBAGE)
def test_bad_date_filters_are_400_naming_the_parameter(api, bought, raw):
    account, _ = bought
    cases = [
        ("/invoices", {"creditAccountId": account.id}, name)
        for name in ("dueDateFrom", "dueDateTo", "createdDateFrom", "createdDateTo")
    ]
    cases += [
        (f"/accounts/{account.id}/invoices", {}, name)
        for name in ("dueDateFrom", "dueDateTo", "createdDateFrom", "createdDateTo")
    ]
    cases += [(f"/accounts/{account.id}/statements", {}, name) for name in ("from", "to")]
    for path, args, name in cases:
        response = api.get(path, query_string={**args, name: raw})
        assert response.status_code == 400, (path, name, raw)
        error = response.get_json()["error"]
        assert (error["code"], error["field"]) == ("invalid_filter", name), (path, raw)
        assert name in error["message"]


# --- what stays a plain day -----------------------------------------------------------------


def test_csv_export_keeps_plain_days(api, bought):
    account, invoices = bought
    response = api.get("/api/portal/exports/invoices.csv", query_string={"account": account.id})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(r["Invoice id"] for r in rows) == sorted(i.id for i in invoices)
    due = {i.id: i for i in invoices}
    for row in rows:
        assert row["Due date"] == due[row["Invoice id"]].due_date.isoformat()
        assert row["Original due date"] == due[row["Invoice id"]].original_due_date.isoformat()
        date.fromisoformat(row["Due date"])  # YYYY-MM-DD, as the import reads it
        assert len(row["Due date"]) == len(row["Original due date"]) == 10
    # The export's filters read both forms too.
    day = invoices[1].due_date
    filtered = api.get(
        "/api/portal/exports/invoices.csv",
        query_string={"account": account.id, "dueDateFrom": f"{day}T03:00:00Z"},
    )
    ids = sorted(r["Invoice id"] for r in csv.DictReader(io.StringIO(filtered.text)))
    assert ids == [invoices[1].id, invoices[2].id]


def test_back_office_invoice_page_keeps_showing_days(client, login, bought):
    account, _ = bought
    login("support")
    html = client.get(f"/admin/invoices?account={account.id}").get_data(as_text=True)
    assert "T03:00:00Z" not in html


# --- what the document says -----------------------------------------------------------------


def _resolve(doc: dict, node: dict) -> dict:
    while "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_openapi_documents_the_date_forms(client):
    doc = client.get("/api/openapi.json").get_json()
    paths = doc["paths"]
    one = paths["/api/creditcontrol/accounts/{creditAccountId}/invoices/{invoiceId}"]["get"]
    schema = one["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    for name in ("dueDate", "originalDueDate", "createdAt", "updatedAt"):
        assert (schema[name]["type"], schema[name]["format"]) == ("string", "date-time"), name
    assert "store's timezone" in schema["dueDate"]["description"]
    search = paths["/api/creditcontrol/invoices"]["get"]
    items = search["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    items = items["data"]["items"]["properties"]
    for name in ("dueDate", "originalDueDate", "createdAt", "updatedAt", "resolvedAt"):
        assert items[name]["format"] == "date-time", name
    hold = paths["/api/creditcontrol/accounts/{creditAccountId}/transactions"]["post"]
    written = hold["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert written["expirationDate"]["format"] == "date-time"
    read = hold["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "YYYY-MM-DD" in read["expirationDate"]["description"]
    assert "store's timezone" in read["expirationDate"]["description"]
    put = paths["/api/creditcontrol/accounts/{creditAccountId}/transactions/{transactionId}"]
    put_body = put["put"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "store's timezone" in put_body["expirationDate"]["description"]

    filters = {
        "/api/creditcontrol/invoices": (
            "dueDateFrom",
            "dueDateTo",
            "createdDateFrom",
            "createdDateTo",
        ),
        "/api/creditcontrol/accounts/{creditAccountId}/invoices": (
            "dueDateFrom",
            "dueDateTo",
            "createdDateFrom",
            "createdDateTo",
        ),
        "/api/creditcontrol/accounts/{creditAccountId}/statements": ("from", "to"),
    }
    for path, names in filters.items():
        params = {
            p["name"]: p for p in (_resolve(doc, p) for p in paths[path]["get"]["parameters"])
        }
        for name in names:
            text = params[name]["description"]
            assert "YYYY-MM-DD" in text and "ISO 8601 date-time" in text, (path, name)
            formats = {s["format"] for s in params[name]["schema"]["anyOf"]}
            assert formats == {"date", "date-time"}, (path, name)
        for name in names:
            if name.startswith("due"):
                assert "store's timezone" in params[name]["description"], (path, name)
    # The invoice search's from/to stay positions.
    search_params = {p.get("name"): p for p in search["parameters"]}
    assert "anyOf" not in search_params["from"]["schema"]


def test_timestamps_are_unchanged(api, bought):
    account, invoices = bought
    body = api.get(f"/accounts/{account.id}/invoices/{invoices[0].id}").get_json()
    assert body["createdAt"] == serializers.timestamp(invoices[0].created_at)
    assert _utc_z(body["createdAt"]) == invoices[0].created_at.astimezone(UTC)
    assert isinstance(invoices[0], Invoice)
