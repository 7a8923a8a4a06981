"""A buyer without an account: denied, or served by an account opened at checkout."""

from decimal import Decimal

from sqlalchemy import func, select

from portal import credit
from portal.models import Account, PreAuthorization


def _accounts(session) -> int:
    return session.scalar(select(func.count()).select_from(Account))


def test_off_denies_unknown_buyers(ppp, session, fresh):
    answer = ppp.pay(email="new@example.com", document="39053344705").get_json()
    assert (answer["status"], answer["code"]) == ("denied", "account_not_found")
    fresh()
    assert _accounts(session) == 0


def test_on_opens_an_account_with_the_default_credit(ppp, session, settings, fresh):
    settings(automatic_account_creation=True, default_credit_value="500")
    answer = ppp.pay(
        email="New@Example.com", document="390.533.447-05", value=120.0, payment_id="AUTO"
    ).get_json()
    assert answer["status"] == "approved"
    fresh()
    account = credit.get_account(session, "39053344705_CPF")
    assert (account.email, account.name, account.credit_limit) == (
        "new@example.com",
        "Ana Lima",
        Decimal("500.00"),
    )
    assert account.pre_authorized == Decimal("120.00")
    assert session.get(PreAuthorization, "AUTO").holder_email == "new@example.com"
    # the next purchase finds the same account
    assert ppp.pay(email="new@example.com", value=10.0).get_json()["status"] == "approved"
    fresh()
    assert _accounts(session) == 1
    assert credit.find_breaches(session) == []


def test_on_but_beyond_the_default_credit_is_denied(ppp, session, settings, fresh):
    settings(automatic_account_creation=True, default_credit_value="100")
    answer = ppp.pay(email="big@example.com", document="39053344705", value=150.0).get_json()
    assert (answer["status"], answer["code"]) == ("denied", "insufficient_credit")
    fresh()
    assert _accounts(session) == 1  # the account stays, for the store to raise its limit


def test_on_without_a_usable_document_is_denied(ppp, session, settings, fresh):
    settings(automatic_account_creation=True, default_credit_value="100")
    for document in ("", "123", "12345678900"):
        answer = ppp.pay(email="x@example.com", document=document).get_json()
        assert (answer["status"], answer["code"]) == ("denied", "account_not_found")
    fresh()
    assert _accounts(session) == 0


def test_invalid_request_opens_no_account(ppp, session, settings, fresh):
    settings(automatic_account_creation=True, default_credit_value="100")
    response = ppp.pay(email="x@example.com", document="39053344705", value=-1)
    assert response.status_code == 400
    fresh()
    assert _accounts(session) == 0
