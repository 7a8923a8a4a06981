"""A repeated paymentId: a retry gets the payment's current status, another request is refused.

A retry repeats value, currency, installments, the buyer's e-mail and document, and the
order (`reference`, `orderId`); anything else may differ between two deliveries. A
request that reuses the paymentId with other data is refused with 400
`payment_id_reused` (the contract's Fail-BadRequest) and changes nothing.
"""

import threading
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from portal import credit
from portal.models import Account, IdempotencyRecord, PreAuthorization

from .conftest import payment_body


def _holds(session) -> int:
    return session.scalar(select(func.count()).select_from(PreAuthorization))


def _refused(response) -> None:
    assert response.status_code == 400, response.data
    assert response.get_json() == {
        "status": "error",
        "code": "payment_id_reused",
        "message": response.get_json()["message"],
    }


@pytest.fixture
def paid(ppp, make_account):
    """An approved payment of 200 in 2 installments: (account, its request body, answer)."""
    account = make_account(limit="1000")
    body = payment_body(account, 200.0, payment_id="PAY-1", installments=2)
    response = ppp.post("/payments", body)
    assert response.get_json()["status"] == "approved", response.data
    return account, body, response


def test_same_request_gets_the_same_answer_and_one_hold(ppp, session, paid, fresh):
    account, body, first = paid
    again = ppp.post("/payments", body)
    assert again.status_code == 200 and again.data == first.data
    fresh()
    assert _holds(session) == 1
    assert credit.get_account(session, account.id).pre_authorized == Decimal("200.00")
    record = session.scalars(select(IdempotencyRecord)).one()
    assert (record.client, record.key, record.status_code) == ("ppp:payments", "PAY-1", 200)


def _with(body: dict, **buyer) -> dict:
    changed = {**body, "miniCart": {**body["miniCart"], "buyer": {**body["miniCart"]["buyer"]}}}
    changed["miniCart"]["buyer"].update(buyer)
    return changed


@pytest.mark.parametrize(
    "change",
    [
        "value",
        "value_as_text",
        "installments",
        "email",
        "email_of_another_account",
        "document",
        "corporate_document",
        "reference",
        "order_id",
        "no_order",
    ],
)
def test_other_request_with_the_same_payment_id_is_refused(
    ppp, session, paid, make_account, fresh, change
):
    account, body, _ = paid
    other = make_account(limit="1000")
    changed = {
        "value": lambda: {**body, "value": 999.0},
        "value_as_text": lambda: {**body, "value": "200.01"},
        "installments": lambda: {**body, "installments": 3},
        "email": lambda: _with(body, email="other@example.com"),
        "email_of_another_account": lambda: _with(body, email=other.email),
        "document": lambda: _with(body, document="39053344705"),
        "corporate_document": lambda: _with(
            body, isCorporate=True, corporateDocument="11222333000181"
        ),
        "reference": lambda: {**body, "reference": "OTHER"},
        "order_id": lambda: {**body, "orderId": "ORDER-OTHER"},
        "no_order": lambda: {k: v for k, v in body.items() if k not in ("orderId", "reference")},
    }[change]()
    _refused(ppp.post("/payments", changed))
    fresh()
    hold = session.get(PreAuthorization, "PAY-1")
    assert (hold.account_id, hold.value, hold.installments, hold.status) == (
        account.id,
        Decimal("200.00"),
        2,
        "Authorized",
    )
    assert _holds(session) == 1
    assert credit.get_account(session, account.id).pre_authorized == Decimal("200.00")
    assert credit.get_account(session, other.id).pre_authorized == Decimal("0.00")
    assert credit.find_breaches(session) == []


def test_volatile_fields_may_differ(ppp, session, paid, fresh):
    account, body, first = paid
    redelivered = _with(
        {
            **body,
            "transactionId": "TX-ANOTHER",
            "shopperInteraction": "instore",
            "deviceFingerprint": "00000000",
            "ipAddress": "203.0.113.9",
            "url": "https://admin.example.com/orders?q=2",
            "callbackUrl": "https://gateway.example.com/callback?X-VTEX-signature=other",
            "returnUrl": "https://store.example.com/checkout/order/2",
            "merchantName": "otherstore",
            "sandBoxMode": True,
            "value": "200.00",  # the same amount written otherwise
            "installments": "2",
            "currency": "brl",
        },
        email=body["miniCart"]["buyer"]["email"].upper(),
        document=f"{account.document[:3]}.{account.document[3:6]}.{account.document[6:9]}-"
        f"{account.document[9:]}",
        phone="+5511000000000",
        firstName="Other",
    )
    again = ppp.post("/payments", redelivered)
    assert again.status_code == 200 and again.data == first.data
    no_currency = {k: v for k, v in body.items() if k != "currency"}  # absent: the store's
    assert ppp.post("/payments", no_currency).data == first.data
    fresh()
    assert _holds(session) == 1
    assert credit.get_account(session, account.id).pre_authorized == Decimal("200.00")


def test_cancelled_payment_is_not_approved_again(ppp, session, paid, fresh):
    account, body, _ = paid
    assert ppp.cancel("PAY-1").status_code == 200
    response = ppp.post("/payments", body)
    assert response.status_code == 200, response.data
    answer = response.get_json()
    assert (answer["paymentId"], answer["status"], answer["code"]) == (
        "PAY-1",
        "denied",
        "payment_cancelled",
    )
    assert answer["authorizationId"] is None and answer["nsu"] is None and answer["message"]
    assert isinstance(answer["delayToAutoSettle"], int) and answer["delayToAutoSettle"] >= 0
    assert answer["delayToAutoSettleAfterAntifraud"] == answer["delayToAutoSettle"]
    assert answer["delayToCancel"] >= 600
    # the attack of the review: a cancelled paymentId reused for another value and buyer
    _refused(ppp.post("/payments", _with({**body, "value": 50.0}, email="x@example.com")))
    fresh()
    assert session.get(PreAuthorization, "PAY-1").status == "Cancelled"
    assert _holds(session) == 1
    assert credit.get_account(session, account.id).pre_authorized == Decimal("0.00")
    assert credit.find_breaches(session) == []


def test_expired_payment_is_not_approved_again(ppp, session, paid, fresh):
    _, body, _ = paid
    fresh()
    hold = session.get(PreAuthorization, "PAY-1")
    hold.status = "Expired"  # as expire_authorizations leaves it
    session.commit()
    answer = ppp.post("/payments", body).get_json()
    assert (answer["status"], answer["code"]) == ("denied", "payment_expired")


def test_settled_payment_is_still_approved(ppp, session, paid, fresh):
    _, body, first = paid
    assert ppp.settle("PAY-1", 200.0).status_code == 200
    assert ppp.post("/payments", body).data == first.data
    ppp.refund("PAY-1", 200.0)
    assert ppp.post("/payments", body).get_json()["status"] == "approved"


def _forget_fingerprints(session) -> None:
    session.execute(delete(IdempotencyRecord))
    session.commit()


def test_hold_without_a_fingerprint_is_compared_field_by_field(ppp, session, paid, fresh):
    """A payment approved before fingerprints were kept: its hold's own fields decide."""
    account, body, first = paid
    _forget_fingerprints(session)
    assert ppp.post("/payments", body).data == first.data
    volatile = {**body, "transactionId": "TX-2", "deviceFingerprint": "x", "value": "200"}
    assert ppp.post("/payments", volatile).data == first.data
    for changed in (
        {**body, "value": 201.0},
        {**body, "installments": 3},
        {**body, "orderId": "ORDER-OTHER"},
        _with(body, email="stranger@example.com"),
    ):
        _refused(ppp.post("/payments", changed))
    fresh()
    assert _holds(session) == 1
    assert credit.get_account(session, account.id).pre_authorized == Decimal("200.00")


def test_hold_without_a_fingerprint_and_another_holder_is_refused(
    ppp, session, make_account, fresh
):
    account = make_account(limit="1000")
    credit.add_holder(session, account.id, "kid@example.com", actor="t")
    body = payment_body(account, 100.0, payment_id="OLD-KID", email="kid@example.com")
    assert ppp.post("/payments", body).get_json()["status"] == "approved"
    _forget_fingerprints(session)
    _refused(ppp.post("/payments", _with(body, email=account.email)))  # the main holder
    assert ppp.post("/payments", body).get_json()["status"] == "approved"


def test_hold_made_through_the_api_is_not_answered_for_another_order(
    ppp, session, make_account, fresh
):
    account = make_account(limit="1000")
    credit.authorize(session, account.id, "100", actor="t", transaction_id="API-1")
    _refused(ppp.pay(account, 100.0, payment_id="API-1"))  # the API hold has no order
    fresh()
    assert _holds(session) == 1


def test_denied_payment_is_evaluated_again(ppp, session, make_account, fresh):
    account = make_account(limit="100")
    body = payment_body(account, 150.0, payment_id="LATER")
    assert ppp.post("/payments", body).get_json()["code"] == "insufficient_credit"
    fresh()
    assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    credit.change_limit(session, account.id, "1000", actor="t", reason="raise")
    assert ppp.post("/payments", body).get_json()["status"] == "approved"


def test_dependent_alias_cannot_escape_the_cap(ppp, session, make_account, fresh):
    account = make_account(limit="1000")
    credit.add_holder(session, account.id, "kid@example.com", actor="t", spending_cap="50")
    for alias in ("kid+more@example.com", "k.id@example.com"):
        answer = ppp.pay(email=alias, document=account.document, value=500.0).get_json()
        assert (answer["status"], answer["code"]) == ("denied", "account_not_found")
    capped = ppp.pay(email="kid@example.com", document=account.document, value=500.0)
    assert capped.get_json()["code"] == "dependent_cap_exceeded"
    fresh()
    assert _holds(session) == 0


def test_automatic_account_is_not_opened_for_a_taken_document(
    ppp, session, make_account, settings, fresh
):
    settings(automatic_account_creation=True, default_credit_value="500")
    account = make_account(document="39053344705", email="owner@example.com")
    answer = ppp.pay(email="new@example.com", document="390.533.447-05").get_json()
    assert (answer["status"], answer["code"]) == ("denied", "account_not_found")
    fresh()
    assert [a.id for a in session.scalars(select(Account))] == [account.id]
    assert _holds(session) == 0


def _race(app, headers, bodies):
    """POST each body from its own thread, released together: [(status, json)]."""
    barrier = threading.Barrier(len(bodies))
    responses = [None] * len(bodies)

    def run(i):
        client = app.test_client()
        barrier.wait()
        response = client.post("/ppp/payments", json=bodies[i], headers=headers)
        responses[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return responses


def test_two_different_requests_at_once_one_approved_one_refused(
    app, session, headers, make_account, fresh
):
    account = make_account(limit="1000")
    first = payment_body(account, 100.0, payment_id="RACE-2")
    second = {**first, "value": 900.0}
    bodies = [first, second] * 5
    responses = _race(app, headers, bodies)
    approved = {i % 2 for i, (status, answer) in enumerate(responses) if status == 200}
    assert len(approved) == 1, responses  # every copy of one request wins, the other loses
    winner = approved.pop()
    for i, (status, answer) in enumerate(responses):
        if i % 2 == winner:
            assert (status, answer["status"]) == (200, "approved"), responses
        else:
            assert (status, answer["code"]) == (400, "payment_id_reused"), responses
    winners = {str(sorted(a.items())) for i, (_, a) in enumerate(responses) if i % 2 == winner}
    assert len(winners) == 1  # the same answer to every copy
    fresh()
    assert _holds(session) == 1
    held = credit.get_account(session, account.id).pre_authorized
    assert held == (Decimal("100.00"), Decimal("900.00"))[winner]
    assert credit.find_breaches(session) == []


def test_two_new_buyers_with_one_document_at_once_open_one_account(
    app, session, headers, settings, fresh
):
    settings(automatic_account_creation=True, default_credit_value="500")
    bodies = [
        payment_body(email=f"buyer{i % 2}@example.com", document="39053344705", value=10.0)
        for i in range(6)
    ]
    responses = _race(app, headers, bodies)
    fresh()
    account = session.scalars(select(Account)).one()
    for body, (status, answer) in zip(bodies, responses, strict=True):
        mine = body["miniCart"]["buyer"]["email"] == account.email
        assert (status, answer["status"]) == (200, "approved" if mine else "denied"), responses
    assert session.scalar(select(PreAuthorization.account_id).distinct()) == account.id
    assert credit.find_breaches(session) == []
