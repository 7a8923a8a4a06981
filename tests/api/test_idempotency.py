"""Idempotency-Key: one execution per (API key, key); retries replay the first answer."""

import threading

import pytest
from sqlalchemy import func, select

from portal import credit
from portal.api.idempotency import request_hash
from portal.extensions import db
from portal.models import Account, Holder, IdempotencyRecord, PreAuthorization

from .conftest import BASE, error_code

HOLD = {"value": 100, "settle": True, "installments": 1}


def _holds(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(PreAuthorization))


def test_retry_replays_the_first_response(api, session, make_account):
    account = make_account()
    url = f"/accounts/{account.id}/transactions"
    first = api.post(url, json=HOLD, headers={"Idempotency-Key": "k-1"})
    again = api.post(
        url,
        json={"installments": 1, "settle": True, "value": 100.0},
        headers={"Idempotency-Key": "k-1"},
    )
    assert first.status_code == again.status_code == 200
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _holds(session) == 1


def test_same_key_for_another_request_is_422(api, session, make_account):
    account = make_account()
    url = f"/accounts/{account.id}/transactions"
    api.post(url, json=HOLD, headers={"Idempotency-Key": "k-2"})
    response = api.post(url, json={**HOLD, "value": 101}, headers={"Idempotency-Key": "k-2"})
    assert (response.status_code, error_code(response)) == (422, "idempotency_key_reused")
    assert _holds(session) == 1


def test_refusals_are_replayed_too(api, session, make_account):
    account = make_account(limit="50")
    url = f"/accounts/{account.id}/transactions"
    first = api.post(url, json=HOLD, headers={"Idempotency-Key": "k-3"})
    assert (first.status_code, error_code(first)) == (409, "insufficient_credit")
    credit.change_limit(session, account.id, "500", actor="t", reason="more")
    again = api.post(url, json=HOLD, headers={"Idempotency-Key": "k-3"})
    assert (again.status_code, again.get_data()) == (409, first.get_data())
    assert _holds(session) == 0
    assert api.post(url, json=HOLD, headers={"Idempotency-Key": "k-4"}).status_code == 200


def test_keys_belong_to_their_api_key(api, client, scoped_headers, session, make_account):
    account = make_account()
    url = f"/accounts/{account.id}/transactions"
    api.post(url, json=HOLD, headers={"Idempotency-Key": "shared"})
    other = {**scoped_headers("transactions:write"), "Idempotency-Key": "shared"}
    assert client.post(BASE + url, json=HOLD, headers=other).status_code == 200
    assert _holds(session) == 2


def test_request_still_running_is_409(app, api, session, api_key, make_account):
    account = make_account()
    url = f"{BASE}/accounts/{account.id}/transactions"
    with app.test_request_context(url, method="POST", json=HOLD):
        digest = request_hash()
    session.add(IdempotencyRecord(client=api_key[0].key, key="k-5", request_hash=digest))
    session.commit()
    response = api.post(url, json=HOLD, headers={"Idempotency-Key": "k-5"})
    assert (response.status_code, error_code(response)) == (409, "request_in_progress")
    assert _holds(session) == 0


@pytest.mark.parametrize("key", ["", "x" * 201, "with space", "ação"])
def test_invalid_keys_are_400(api, make_account, key):
    account = make_account()
    response = api.post(
        f"/accounts/{account.id}/transactions",
        json=HOLD,
        headers={"Idempotency-Key": key.encode().decode("latin-1")},
    )
    assert (response.status_code, error_code(response)) == (400, "invalid_idempotency_key")


def test_a_crash_releases_the_key(api, session, make_account, monkeypatch):
    account = make_account()
    url = f"/accounts/{account.id}/transactions"
    real = credit.authorize

    def crash(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(credit, "authorize", crash)
    with pytest.raises(RuntimeError):
        api.post(url, json=HOLD, headers={"Idempotency-Key": "k-6"})
    monkeypatch.setattr(credit, "authorize", real)
    assert api.post(url, json=HOLD, headers={"Idempotency-Key": "k-6"}).status_code == 200
    assert _holds(session) == 1


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/accounts",
            {
                "document": "52998224725",
                "documentType": "CPF",
                "email": "idem@example.com",
                "creditLimit": "10",
                "tolerance": "0",
            },
        ),
        ("/accounts/{account}/holders", {"claims": {"email": "kid@example.com"}}),
    ],
)
def test_other_creating_posts_are_idempotent(api, session, make_account, path, body):
    account = make_account()
    url = path.format(account=account.id)
    first = api.post(url, json=body, headers={"Idempotency-Key": "k-7"})
    again = api.post(url, json=body, headers={"Idempotency-Key": "k-7"})
    assert first.status_code == again.status_code == 200
    assert first.get_data() == again.get_data()
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Account)) <= 2
    assert session.scalar(select(func.count()).select_from(Holder)) == 2


def test_concurrent_retries_make_exactly_one_hold(app, session, headers, make_account):
    account = make_account(limit="1000")
    url = f"{BASE}/accounts/{account.id}/transactions"
    barrier = threading.Barrier(10)
    results, errors = [], []

    def post():
        try:
            client = app.test_client()  # each request pushes its own app context
            barrier.wait(timeout=30)
            response = client.post(url, json=HOLD, headers={**headers, "Idempotency-Key": "race"})
            results.append((response.status_code, response.get_json()))
        except Exception as exc:  # surfaced below: a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == 10
    assert {status for status, _ in results} <= {200, 409}
    created = {body["id"] for status, body in results if status == 200}
    assert len(created) == 1
    assert all(
        body["error"]["code"] == "request_in_progress" for status, body in results if status == 409
    )
    assert _holds(session) == 1
    assert credit.get_account(session, account.id).pre_authorized == 100
    db.session.rollback()
