"""Create payment: approved or denied, idempotent on paymentId, refused as JSON."""

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal import credit, people
from portal.credit.settings import add_business_days
from portal.models import Account, Invoice, PreAuthorization

from .conftest import key_headers, payment_body


def test_manifest_offers_promissories_without_credentials(client):
    response = client.get("/ppp/manifest")
    assert response.status_code == 200 and response.is_json
    assert response.get_json() == {
        "paymentMethods": [{"name": "Promissories", "allowsSplit": "disabled"}]
    }


def _expected_delay(session) -> int:
    settings = credit.get_settings(session)
    today = credit.store_today(settings)
    ready = add_business_days(today, settings.settle_after_business_days, settings.holiday_country)
    return min((ready - today).days * 86400, 604800)


def test_approved_payment_holds_the_value(ppp, session, make_account, fresh):
    account = make_account(limit="1000")
    response = ppp.pay(account, 31.9, payment_id="01693EB95BE443AC85874E395CD91565", installments=3)
    assert response.status_code == 200, response.data
    answer = response.get_json()
    delay = _expected_delay(session)
    assert answer == {
        "paymentId": "01693EB95BE443AC85874E395CD91565",
        "status": "approved",
        "authorizationId": "01693EB95BE443AC85874E395CD91565",
        "tid": "01693EB95BE443AC85874E395CD91565",
        "nsu": "01693EB95BE443AC85874E395CD91565",
        "acquirer": None,
        "code": None,
        "message": "Approved on customer credit.",
        "delayToAutoSettle": delay,
        "delayToAutoSettleAfterAntifraud": delay,
        "delayToCancel": 86400,
    }
    assert 0 < delay <= 604800
    fresh()
    hold = session.get(PreAuthorization, "01693EB95BE443AC85874E395CD91565")
    assert (hold.account_id, hold.value, hold.installments, hold.payment_term) == (
        account.id,
        Decimal("31.90"),
        3,
        "30/60/90",
    )
    assert hold.order_id == "ORDER-01693EB95BE443AC85874E395CD91565"
    assert hold.holder_email == account.email
    assert hold.done_by == "apikey:checkout"
    assert credit.get_account(session, account.id).pre_authorized == Decimal("31.90")


def test_delay_follows_the_store_business_days(ppp, session, make_account, settings):
    account = make_account()
    settings(settle_after_business_days=0)
    assert ppp.pay(account).get_json()["delayToAutoSettle"] == 0
    settings(settle_after_business_days=1)
    delay = ppp.pay(account).get_json()["delayToAutoSettle"]
    assert delay == _expected_delay(session) and delay in (
        86400,
        2 * 86400,
        3 * 86400,
        4 * 86400,
        5 * 86400,
    )
    settings(settle_after_business_days=30)  # beyond the protocol's 7-day ceiling
    assert ppp.pay(account).get_json()["delayToAutoSettle"] == 604800


def test_retry_with_same_payment_id_returns_the_same_answer(ppp, session, make_account, fresh):
    account = make_account(limit="1000")
    first = ppp.pay(account, 200.0, payment_id="SAME")
    again = ppp.pay(account, 200.0, payment_id="SAME")
    other_value = ppp.pay(account, 999.0, payment_id="SAME")  # not a retry: refused
    assert first.get_json()["status"] == "approved"
    assert first.data == again.data
    assert (other_value.status_code, other_value.get_json()["code"]) == (400, "payment_id_reused")
    fresh()
    assert session.scalar(select(func.count()).select_from(PreAuthorization)) == 1
    assert credit.get_account(session, account.id).pre_authorized == Decimal("200.00")


def test_document_with_punctuation_chooses_among_the_buyer_accounts(
    ppp, session, make_account, fresh
):
    first, second = make_account(), make_account(document="52998224725")
    for account in (first, second):
        credit.add_holder(session, account.id, "shared@example.com", actor="t")
    response = ppp.pay(email="shared@example.com", document="529.982.247-25")
    assert response.get_json()["status"] == "approved"
    fresh()
    hold = session.scalars(select(PreAuthorization)).one()
    assert (hold.account_id, hold.holder_email) == (second.id, "shared@example.com")


def test_document_alone_pays_nothing(ppp, session, make_account, fresh):
    account = make_account(document="52998224725")
    answer = ppp.pay(email="someone.else@example.com", document="529.982.247-25").get_json()
    assert (answer["status"], answer["code"]) == ("denied", "account_not_found")
    fresh()
    assert session.scalar(select(func.count()).select_from(PreAuthorization)) == 0
    assert credit.get_account(session, account.id).pre_authorized == Decimal("0.00")


def _corporate(email: str) -> dict:
    body = payment_body(email=email, document="39053344705")
    body["miniCart"]["buyer"].update(
        isCorporate=True, corporateDocument="11.222.333/0001-81", corporateName="Firm Ltda"
    )
    return body


def test_corporate_buyer_pays_with_the_company_account(ppp, session, make_account, fresh):
    company = make_account(document="11222333000181", document_type="CNPJ")
    credit.add_holder(session, company.id, "employee@example.com", actor="t")
    assert ppp.post("/payments", _corporate("employee@example.com")).get_json()["status"] == (
        "approved"
    )
    fresh()
    hold = session.scalars(select(PreAuthorization)).one()
    assert (hold.account_id, hold.holder_email) == (company.id, "employee@example.com")


def test_stranger_with_a_company_cnpj_is_denied(ppp, session, make_account, settings, fresh):
    company = make_account(document="11222333000181", document_type="CNPJ")
    for automatic in (False, True):
        settings(automatic_account_creation=automatic, default_credit_value="500")
        answer = ppp.post("/payments", _corporate("stranger@example.com")).get_json()
        assert (answer["status"], answer["code"]) == ("denied", "account_not_found")
    fresh()
    assert session.scalar(select(func.count()).select_from(PreAuthorization)) == 0
    assert [a.id for a in session.scalars(select(Account))] == [company.id]
    assert credit.get_account(session, company.id).pre_authorized == Decimal("0.00")


def test_dependent_buys_within_the_cap(ppp, session, make_account, fresh):
    account = make_account(limit="1000")
    credit.add_holder(session, account.id, "kid@example.com", actor="t", spending_cap="150")
    approved = ppp.pay(email="KID@example.com", value=100.0)
    assert approved.get_json()["status"] == "approved"
    denied = ppp.pay(email="kid@example.com", value=100.0).get_json()
    assert (denied["status"], denied["code"]) == ("denied", "dependent_cap_exceeded")
    fresh()
    assert session.scalars(select(PreAuthorization)).one().holder_email == "kid@example.com"


def _on_hold(session, account, purchase, settings):
    settings(overdue_hold_days=0)
    purchase(account, "10")
    invoice = session.scalars(select(Invoice)).one()
    invoice.due_date = credit.store_today(credit.get_settings(session)).replace(year=2000)
    session.commit()


@pytest.mark.parametrize(
    ("situation", "code"),
    [
        ("insufficient", "insufficient_credit"),
        ("closed", "account_closed"),
        ("on_hold", "account_on_hold"),
        ("no_account", "account_not_found"),
    ],
)
def test_denied_with_code_and_message(
    ppp, session, make_account, purchase, settings, fresh, situation, code
):
    account = make_account(limit="100")
    if situation == "closed":
        credit.close_account(session, account.id, actor="t", reason="closed for the test")
    if situation == "on_hold":
        _on_hold(session, account, purchase, settings)
    value = 500.0 if situation == "insufficient" else 50.0
    response = (
        ppp.pay(email="nobody@example.com", document="39053344705")
        if situation == "no_account"
        else ppp.pay(account, value, payment_id="DENY")
    )
    assert response.status_code == 200, response.data
    answer = response.get_json()
    assert answer["status"] == "denied" and answer["code"] == code
    assert answer["authorizationId"] is None and answer["nsu"] is None
    assert answer["message"] and isinstance(answer["delayToAutoSettle"], int)
    fresh()
    assert session.get(PreAuthorization, "DENY") is None
    # a denied payment retried is evaluated again: approved once the limit allows it
    if situation == "insufficient":
        credit.change_limit(session, account.id, "1000", actor="t", reason="raise")
        assert ppp.pay(account, value, payment_id="DENY").get_json()["status"] == "approved"
    assert credit.find_breaches(session) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (b"", "invalid_json"),
        (b'{"value": NaN}', "invalid_json"),
        (b'{"paymentId": "P\\u0000X", "value": 1}', "invalid_json"),
        (b'{"value": 10}', "invalid_payment_id"),
        (b'{"paymentId": "", "value": 10}', "invalid_payment_id"),
        (b'{"paymentId": "P1"}', "invalid_amount"),
        (b'{"paymentId": "P1", "value": -5}', "invalid_amount"),
        (b'{"paymentId": "P1", "value": 1.001}', "invalid_amount"),
        (b'{"paymentId": "P1", "value": 1e999}', "invalid_json"),
        (b'{"paymentId": "P1", "value": "abc"}', "invalid_amount"),
        (b'{"paymentId": "P1", "value": true}', "invalid_amount"),
        (b'{"paymentId": "P1", "value": 10, "installments": [1]}', "invalid_installments"),
    ],
)
def test_bad_input_is_400_json(client, headers, body, code):
    response = client.post(
        "/ppp/payments", data=body, headers=headers, content_type="application/json"
    )
    assert response.status_code == 400 and response.is_json
    assert response.get_json() == {
        "status": "error",
        "code": code,
        "message": response.get_json()["message"],
    }


def test_bad_installments_or_payment_id_for_an_account_is_400(ppp, make_account):
    account = make_account()
    too_many = ppp.pay(account, installments=99)
    assert (too_many.status_code, too_many.get_json()["code"]) == (400, "invalid_installments")
    bad_id = ppp.pay(account, payment_id="has spaces")
    assert (bad_id.status_code, bad_id.get_json()["code"]) == (400, "invalid_transaction_id")


@pytest.mark.parametrize(
    "path",
    ["/payments", "/payments/X/settlements", "/payments/X/cancellations", "/payments/X/refunds"],
)
def test_credentials_are_required(client, session, path):
    key, token = people.create_api_key(session, "reader", ["accounts:read"], actor="t")
    cases = [
        ({}, 401),
        ({"X-VTEX-API-AppKey": key.key}, 401),
        ({"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": "wrong"}, 401),
        ({"X-VTEX-API-AppKey": "nope", "X-VTEX-API-AppToken": token}, 401),
        (key_headers(key, token), 403),
    ]
    for headers, status in cases:
        response = client.post(f"/ppp{path}", json={}, headers=headers)
        assert response.status_code == status, (headers, response.data)
        assert response.get_json()["status"] == "error"
        assert response.get_json()["code"] == ("unauthorized" if status == 401 else "forbidden")


def test_revoked_key_is_refused(ppp, session, make_account):
    key, token = people.create_api_key(session, "old", ["transactions:write"], actor="t")
    people.revoke_api_key(session, key.id, actor="t")
    response = ppp.client.post(
        "/ppp/payments", json=payment_body(make_account()), headers=key_headers(key, token)
    )
    assert response.status_code == 401


def test_provider_header_names_are_accepted(ppp, session, make_account, fresh):
    key, token = people.create_api_key(session, "provider", ["transactions:write"], actor="t")
    headers = {"X-PROVIDER-API-AppKey": key.key, "X-PROVIDER-API-AppToken": token}
    response = ppp.client.post("/ppp/payments", json=payment_body(make_account()), headers=headers)
    assert response.get_json()["status"] == "approved"
    fresh()
    assert session.get(type(key), key.id).last_used_at is not None


def test_unknown_routes_and_methods_are_json(client):
    missing = client.get("/ppp/nothing")
    assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"
    wrong_method = client.get("/ppp/payments")
    assert wrong_method.status_code == 405 and wrong_method.is_json
    assert "POST" in wrong_method.headers["Allow"]


def test_csrf_does_not_apply_to_the_protocol(app, ppp, make_account):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert ppp.pay(make_account()).get_json()["status"] == "approved"
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_delay_is_measured_from_the_approval(ppp, session, make_account, fresh):
    account = make_account()
    first = ppp.pay(account, payment_id="OLD").get_json()
    fresh()
    hold = session.get(PreAuthorization, "OLD")
    hold.created_at = datetime(2024, 12, 20, 15, 0, tzinfo=hold.created_at.tzinfo)  # a Friday
    session.commit()
    replay = ppp.pay(account, payment_id="OLD").get_json()
    # 5 business days from Fri 20 Dec 2024 in Brazil skip the weekends and Christmas: Dec 30
    assert replay["delayToAutoSettle"] == 604800  # 10 days, capped to the protocol's 7
    assert first["status"] == replay["status"] == "approved"


def test_other_currency_is_refused(ppp, session, make_account, settings, fresh):
    account = make_account()
    response = ppp.pay(account, currency="USD")
    assert (response.status_code, response.get_json()["code"]) == (400, "unsupported_currency")
    assert ppp.pay(account, currency="brl").get_json()["status"] == "approved"
    settings(currency="USD")
    assert ppp.pay(account, currency="USD").get_json()["status"] == "approved"
    fresh()
    assert credit.get_account(session, account.id).pre_authorized == Decimal("200.00")
