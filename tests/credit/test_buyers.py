"""Finding the account a checkout buyer pays with, and opening one automatically."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal import credit
from portal.credit.buyers import holder_email
from portal.models import Account, Holder

CNPJ = "11222333000181"


def find(session, **buyer):
    return credit.account_for_buyer(session, actor="checkout", **buyer)


def test_main_holder_email_finds_the_account(session, make_account):
    account = make_account(email="Main@Example.com")
    assert find(session, email="  MAIN@example.com ").id == account.id


def test_dependent_email_finds_the_account(session, make_account):
    account = make_account()
    credit.add_holder(session, account.id, "kid@example.com", actor="t")
    assert find(session, email="kid@example.com").id == account.id


def test_main_holder_is_preferred_to_dependent(session, make_account):
    own = make_account(email="both@example.com")
    other = make_account()
    credit.add_holder(session, other.id, "elsewhere@example.com", actor="t")
    # "both" is the main holder of `own`; make it a dependent of `other` too.
    credit.add_holder(session, other.id, "both@example.com", actor="t")
    assert find(session, email="both@example.com").id == own.id


def test_dependent_of_several_accounts_the_document_decides(session, make_account):
    first, second = make_account(), make_account()
    for account in (first, second):
        credit.add_holder(session, account.id, "shared@example.com", actor="t")
    found = find(session, email="shared@example.com", document=second.document, document_type="cpf")
    assert found.id == second.id
    assert find(session, email="shared@example.com").id in (first.id, second.id)


def test_document_chooses_the_company_over_the_own_account(session, make_account):
    own = make_account(email="owner@example.com")
    company = make_account(document=CNPJ, document_type="CNPJ")
    credit.add_holder(session, company.id, "owner@example.com", actor="t")
    assert find(session, email="owner@example.com").id == own.id
    found = find(session, email="owner@example.com", document="11.222.333/0001-81")
    assert found.id == company.id
    # a document of none of the e-mail's accounts: the e-mail's own account still pays
    assert find(session, email="owner@example.com", document="39053344705").id == own.id


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("529.982.247-25", "cpf"),
        ("52998224725", None),
        (" 529 982 247 25 ", "CPF"),
        ("529.982.247-25", "CNPJ"),  # the type disagrees with 11 digits: the length decides
    ],
)
def test_document_with_punctuation_chooses_the_account(session, make_account, raw, kind):
    first, second = make_account(), make_account(document="52998224725")
    for account in (first, second):
        credit.add_holder(session, account.id, "shared@example.com", actor="t")
    found = find(session, email="shared@example.com", document=raw, document_type=kind)
    assert found.id == second.id


@pytest.mark.parametrize("automatic", [False, True])
def test_document_alone_finds_no_account(session, make_account, settings, automatic):
    settings(automatic_account_creation=automatic, default_credit_value="500")
    make_account(document=CNPJ, document_type="CNPJ")
    make_account(document="52998224725")
    assert find(session, document="11.222.333/0001-81") is None
    assert find(session, email="stranger@example.com", document=CNPJ, document_type="cnpj") is None
    assert find(session, email="stranger@example.com", document="529.982.247-25") is None
    assert session.scalar(select(func.count()).select_from(Account)) == 2


def test_alias_of_a_dependent_is_a_stranger(session, make_account):
    account = make_account(email="boss@example.com")
    credit.add_holder(session, account.id, "kid@example.com", actor="t", spending_cap="50")
    for alias in ("kid+shop@example.com", "k.id@example.com", "kid+@example.com"):
        assert find(session, email=alias, document=account.document) is None
    assert find(session, email="Kid@Example.com").id == account.id


def test_nothing_matches_without_automatic_creation(session, make_account):
    make_account()
    assert find(session, email="new@example.com", document="39053344705") is None
    assert find(session) is None
    assert find(session, email="not an email", document="123") is None


def test_automatic_creation_opens_with_default_credit(session, settings):
    settings(automatic_account_creation=True, default_credit_value="750")
    account = find(
        session,
        email="New@Example.com",
        document="390.533.447-05",
        document_type="cpf",
        name="Ana Lima",
    )
    assert account.id == "39053344705_CPF"
    assert (account.email, account.name, account.status) == ("new@example.com", "Ana Lima", "Open")
    assert account.credit_limit == Decimal("750.00") == account.balance
    # found again, not opened twice
    assert find(session, email="new@example.com", document="39053344705").id == account.id
    assert session.scalar(select(func.count()).select_from(Account)) == 1
    assert credit.find_breaches(session) == []


def test_automatic_creation_opens_a_cnpj_account(session, settings):
    settings(automatic_account_creation=True, default_credit_value="0")
    account = find(session, email="firm@example.com", document=CNPJ, document_type="cnpj")
    assert (account.document_type, account.credit_limit) == ("CNPJ", Decimal("0.00"))


@pytest.mark.parametrize(
    "buyer",
    [
        {"email": "x@example.com"},  # no document
        {"email": "x@example.com", "document": "123"},  # neither 11 nor 14 digits
        {"email": "x@example.com", "document": "12345678900"},  # wrong check digits
        {"document": "39053344705"},  # no e-mail
        {"email": "not-an-email", "document": "39053344705"},
    ],
)
def test_automatic_creation_needs_valid_document_and_email(session, settings, buyer):
    settings(automatic_account_creation=True, default_credit_value="100")
    assert find(session, **buyer) is None
    assert session.scalar(select(func.count()).select_from(Account)) == 0


def test_automatic_creation_refuses_a_document_taken_by_another_email(
    session, make_account, settings
):
    settings(automatic_account_creation=True, default_credit_value="500")
    account = make_account(email="owner@example.com", document="39053344705")
    assert find(session, email="new@example.com", document="390.533.447-05") is None
    assert session.scalar(select(func.count()).select_from(Account)) == 1
    assert session.scalar(select(func.count()).select_from(Holder)) == 1
    assert find(session, email="owner@example.com", document="39053344705").id == account.id


def test_holder_email_only_for_holders(session, make_account):
    account = make_account(email="main@example.com")
    credit.add_holder(session, account.id, "kid@example.com", actor="t")
    assert holder_email(session, account.id, "KID@example.com") == "kid@example.com"
    assert holder_email(session, account.id, "main@example.com") == "main@example.com"
    assert holder_email(session, account.id, "stranger@example.com") is None
    assert holder_email(session, account.id, "garbage") is None
    assert holder_email(session, account.id, None) is None
    assert session.scalar(select(func.count()).select_from(Holder)) == 2
