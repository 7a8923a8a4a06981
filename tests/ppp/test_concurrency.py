"""Real threads, real database: one paymentId makes one hold however many retries race."""

import threading
from decimal import Decimal

from sqlalchemy import func, select

from portal import credit
from portal.models import Account, Invoice, PreAuthorization

from .conftest import payment_body

THREADS = 20


def _race(app, headers, path, body):
    """POST the same body from THREADS threads released together; return the responses."""
    barrier = threading.Barrier(THREADS)
    responses = [None] * THREADS

    def run(i):
        client = app.test_client()
        barrier.wait()
        response = client.post(path, json=body, headers=headers)
        responses[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return responses


def test_concurrent_create_payment_makes_one_hold(app, session, headers, make_account, fresh):
    account = make_account(limit="1000")
    body = payment_body(account, 250.0, payment_id="RACE")
    responses = _race(app, headers, "/ppp/payments", body)
    assert {status for status, _ in responses} == {200}, responses
    assert {answer["status"] for _, answer in responses} == {"approved"}
    assert len({str(sorted(answer.items())) for _, answer in responses}) == 1  # same answer
    fresh()
    assert session.scalar(select(func.count()).select_from(PreAuthorization)) == 1
    assert credit.get_account(session, account.id).pre_authorized == Decimal("250.00")
    assert credit.find_breaches(session) == []


def test_concurrent_first_purchase_opens_one_account(app, session, headers, settings, fresh):
    settings(automatic_account_creation=True, default_credit_value="500")
    body = payment_body(
        email="first@example.com", document="390.533.447-05", value=100.0, payment_id="FIRST"
    )
    responses = _race(app, headers, "/ppp/payments", body)
    assert {(status, answer["status"]) for status, answer in responses} == {(200, "approved")}
    fresh()
    assert session.scalar(select(func.count()).select_from(Account)) == 1
    assert session.scalar(select(func.count()).select_from(PreAuthorization)) == 1
    assert credit.get_account(session, "39053344705_CPF").pre_authorized == Decimal("100.00")
    assert credit.find_breaches(session) == []


def test_concurrent_settlements_issue_the_invoices_once(
    app, session, ppp, headers, make_account, fresh
):
    account = make_account(limit="1000")
    ppp.pay(account, 300.0, payment_id="SETTLE-RACE", installments=3)
    body = {
        "requestId": "ONE",
        "paymentId": "SETTLE-RACE",
        "value": 300.0,
        "transactionId": "T",
        "authorizationId": "SETTLE-RACE",
    }
    responses = _race(app, headers, "/ppp/payments/SETTLE-RACE/settlements", body)
    assert {status for status, _ in responses} == {200}, responses
    assert len({str(sorted(answer.items())) for _, answer in responses}) == 1
    fresh()
    assert session.scalar(select(func.count()).select_from(Invoice)) == 3
    assert credit.find_breaches(session) == []
