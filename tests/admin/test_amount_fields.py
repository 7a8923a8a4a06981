"""Amounts and percentages typed in the back-office are read strictly, in the page's locale.

English pages read 2,500.00; Portuguese pages read 2.500,00. What cannot be read in exactly
one way (5O00, 2000 (was 1500), 10k, a decimal point in Portuguese) is refused next to its
field, with the typed text kept, and nothing changes.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import refresh
from sqlalchemy import func, select

from portal import credit
from portal.models import Account, AuditEvent, Invoice

PT = {"Accept-Language": "pt-BR"}
# What a refusal says in each page language (the catalogs translate the parser's messages).
SAID = {
    "contains letters": {"pt": "contém letras", "es": "contiene letras"},
    "use a comma for decimals": {"pt": "use vírgula para os decimais", "es": "use coma para"},
    "at most 2 decimals": {"pt": "no máximo 2 casas decimais", "es": "máximo 2 decimales"},
    "group thousands in threes": {"pt": "agrupe os milhares", "es": "agrupe los miles"},
    "New credit limit": {"pt": "Novo limite de crédito", "es": "Nuevo límite de crédito"},
}


def said(text: str, headers: dict) -> str:
    """`text` as a page in the language of `headers` says it."""
    language = headers.get("Accept-Language", "en")[:2]
    return SAID[text].get(language, text) if text in SAID else text


ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}


def _send(client, method: str, url: str, headers=EN, **kwargs):
    """A request in the language of `headers`.

    Flask-Babel caches the locale on `g`, and the test's app context (so `g`) is shared by
    its requests: forget it, so each request reads its own Accept-Language as in production.
    """
    refresh()
    return client.open(url, method=method, headers=headers, **kwargs)


def _limit(client, account, typed, headers=EN):
    return _send(
        client,
        "POST",
        f"/admin/accounts/{account.id}/limit",
        data={"credit_limit": typed, "reason": "Reviewed", "confirmed": "yes"},
        headers=headers,
    )


def _limit_form(page: str) -> str:
    heading = next(
        h for h in ("Change the limit", "Alterar o limite", "Cambiar el límite") if h in page
    )
    return page.split(heading)[1].split("</form>")[0]


def _audits(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent))


def _account(session, account) -> Account:
    session.expire_all()
    return session.get(Account, account.id)


@pytest.mark.parametrize(
    ("typed", "headers", "reason"),
    [
        ("5O00", EN, "contains letters"),
        ("2000 (was 1500)", EN, "contains letters"),
        ("10k", EN, "contains letters"),
        ("1e5", EN, "contains letters"),
        ("²", EN, "digits 0 to 9"),
        ("1 500", EN, "spaces between the digits"),
        ("2.500,00", EN, "use a point for decimals"),
        ("1,5", EN, "use a point for decimals"),
        ("-5", EN, "must not be negative"),
        ("5O00", PT, "contains letters"),
        ("2,500.00", PT, "use a comma for decimals"),
        ("1,500", PT, "at most 2 decimals"),
        ("2.500.00", PT, "group thousands in threes"),
        ("2,500.00", ES, "use a comma for decimals"),
    ],
)
def test_a_limit_that_cannot_be_read_is_refused_on_its_field(
    client, login, session, make_account, typed, headers, reason
):
    account = make_account(limit="1000")
    login("owner")
    before = _audits(session)
    response = _limit(client, account, typed, headers)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    form = _limit_form(page)
    assert "invalid-feedback" in form and said(reason, headers) in form
    assert said("New credit limit", headers) in form
    assert f'value="{typed}"' in form  # the typed text stays, to be corrected
    fresh = _account(session, account)
    assert (fresh.credit_limit, fresh.balance) == (Decimal("1000.00"), Decimal("1000.00"))
    assert _audits(session) == before


@pytest.mark.parametrize(
    ("typed", "headers", "limit"),
    [
        ("2,500.00", EN, "2500.00"),
        ("2500", EN, "2500.00"),
        ("$2,500.5", EN, "2500.50"),
        ("2.500,00", PT, "2500.00"),
        ("R$ 2.500,00", PT, "2500.00"),
        ("2500,5", PT, "2500.50"),
        ("2.500,00 €", ES, "2500.00"),
        ("0", EN, "0.00"),  # zero is a limit, not an empty field
    ],
)
def test_a_limit_typed_in_the_page_locale_is_saved(
    client, login, session, make_account, typed, headers, limit
):
    account = make_account(limit="1000")
    login("owner")
    response = _limit(client, account, typed, headers)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _account(session, account).credit_limit == Decimal(limit)


def test_an_empty_or_blank_limit_is_required(client, login, session, make_account):
    account = make_account(limit="1000")
    login("owner")
    for typed in ("", "   "):
        response = _limit(client, account, typed)
        assert response.status_code == 422
        assert "This field is required." in _limit_form(response.get_data(as_text=True))
    assert _account(session, account).credit_limit == Decimal("1000.00")


def test_tolerance_is_a_percent_in_the_page_locale(client, login, session, make_account):
    account = make_account(limit="1000")
    login("owner")
    url = f"/admin/accounts/{account.id}/tolerance"
    refused = _send(client, "POST", url, data={"tolerance": "12.5", "reason": "r"}, headers=PT)
    assert refused.status_code == 422
    assert said("use a comma for decimals", PT) in refused.get_data(True)
    too_fine = _send(client, "POST", url, data={"tolerance": "12,555", "reason": "r"}, headers=PT)
    assert too_fine.status_code == 422
    assert said("at most 2 decimals", PT) in too_fine.get_data(True)
    assert _account(session, account).tolerance == Decimal("0")
    ok = _send(
        client,
        "POST",
        url,
        data={"tolerance": "12,5 %", "reason": "r", "confirmed": "yes"},
        headers=PT,
    )
    assert ok.status_code == 302
    assert _account(session, account).tolerance == Decimal("0.125")
    _send(
        client,
        "POST",
        url,
        data={"tolerance": "7.25%", "reason": "r", "confirmed": "yes"},
        headers=EN,
    )
    assert _account(session, account).tolerance == Decimal("0.0725")


def test_new_account_with_an_unreadable_limit_creates_nothing(client, login, session):
    login("owner")
    data = {
        "document_type": "CPF",
        "document": "52998224725",
        "email": "new@shop.example",
        "credit_limit": "10k",
        "tolerance": "10",
    }
    refused = _send(client, "POST", "/admin/accounts/new", data=data)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "contains letters" in page and 'value="10k"' in page
    assert session.scalar(select(func.count()).select_from(Account)) == 0
    ok = _send(
        client,
        "POST",
        "/admin/accounts/new",
        data={**data, "credit_limit": "1.234,56", "tolerance": "2,5"},
        headers=PT,
    )
    assert ok.status_code == 302
    account = credit.get_account(session, "52998224725_CPF")
    assert (account.credit_limit, account.tolerance) == (Decimal("1234.56"), Decimal("0.025"))


def test_the_account_page_shows_inputs_the_form_reads_back(client, login, session, make_account):
    account = make_account(limit="1500")
    credit.add_holder(session, account.id, "kid@home.example", actor="t", spending_cap="250.5")
    hold = credit.authorize(session, account.id, "1234.5", actor="t")
    login("owner")
    page = _send(client, "GET", f"/admin/accounts/{account.id}", headers=PT).get_data(as_text=True)
    assert 'value="250,50"' in page and 'value="1234,50"' in page
    assert 'placeholder="1500,00"' in page
    holder = next(h for h in credit.get_account(session, account.id).holders if h.level == 2)
    cap = _send(
        client,
        "POST",
        f"/admin/accounts/{account.id}/holders/{holder.id}/cap",
        data={"spending_cap": "250,50"},
        headers=PT,
    )
    assert cap.status_code == 302
    value = _send(
        client,
        "POST",
        f"/admin/accounts/{account.id}/transactions/{hold.id}/value",
        data={"value": "1234,50"},
        headers=PT,
    )
    assert value.status_code == 302
    session.expire_all()
    assert credit.spending_cap(session, account.id, "kid@home.example").cap == Decimal("250.50")
    assert credit.get_transaction(session, account.id, hold.id).value == Decimal("1234.50")
    english = _send(client, "GET", f"/admin/accounts/{account.id}", headers=EN).get_data(
        as_text=True
    )
    assert 'value="250.50"' in english and 'value="1234.50"' in english


@pytest.mark.parametrize(
    ("path", "data", "reason"),
    [
        ("holders/{holder}/cap", {"spending_cap": "1O0"}, "Spending cap must be a number"),
        ("holders/{holder}/cap", {"spending_cap": "100,5"}, "use a point for decimals"),
        ("transactions/{hold}/value", {"value": "3OO"}, "Value must be a number"),
        ("transactions/{hold}/value", {"value": ""}, "Value is required."),
        ("transactions/{hold}/settle", {"value": "2000 (was 1500)"}, "contains letters"),
        ("transactions/{hold}/settle", {"value": "-100"}, "must not be negative"),
    ],
)
def test_plain_inputs_of_the_account_page_are_read_strictly(
    client, login, session, make_account, path, data, reason
):
    account = make_account(limit="1000")
    holder = credit.add_holder(session, account.id, "kid@home.example", actor="t")
    hold = credit.authorize(session, account.id, "100", actor="t")
    login("finance")
    url = f"/admin/accounts/{account.id}/" + path.format(holder=holder.id, hold=hold.id)
    page = _send(client, "POST", url, data=data, follow_redirects=True).get_data(as_text=True)
    assert "alert-danger" in page and reason in page
    session.expire_all()
    assert credit.spending_cap(session, account.id, "kid@home.example") is None
    transaction = credit.get_transaction(session, account.id, hold.id)
    assert (transaction.status, transaction.value) == ("Authorized", Decimal("100.00"))


# --- invoices ----------------------------------------------------------------------------------


@pytest.fixture
def invoice(session, make_account, purchase):
    account = make_account(limit="1000", email="buyer@inv.example")
    hold = purchase(account, "100")
    return session.scalars(select(Invoice).where(Invoice.transaction_id == hold.id)).one()


def _paid(session, invoice) -> Decimal:
    session.expire_all()
    return session.get(Invoice, invoice.id).paid_amount


@pytest.mark.parametrize(
    ("typed", "headers", "reason"),
    [
        ("4O,50", PT, "contains letters"),
        ("40,50", EN, "use a point for decimals"),
        ("40.50", PT, "use a comma for decimals"),
        ("10k", EN, "contains letters"),
    ],
)
def test_an_unreadable_payment_is_refused_in_the_row(
    client, login, session, invoice, typed, headers, reason
):
    login("finance")
    response = _send(
        client, "POST", f"/admin/invoices/{invoice.id}/pay", data={"amount": typed}, headers=headers
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and said(reason, headers) in body and "is-invalid" in body
    assert f'value="{typed}"' in body  # the typed text stays in the input
    assert _paid(session, invoice) == 0


def test_a_payment_in_the_page_locale(client, login, session, invoice):
    login("finance")
    _send(client, "POST", f"/admin/invoices/{invoice.id}/pay", data={"amount": "40,50"}, headers=PT)
    assert _paid(session, invoice) == Decimal("40.50")
    refused = _send(
        client, "POST", f"/admin/invoices/{invoice.id}/pay", data={"amount": "80,00"}, headers=PT
    )
    assert refused.status_code == 422 and 'value="80,00"' in refused.get_data(as_text=True)
    _send(client, "POST", f"/admin/invoices/{invoice.id}/pay", data={"amount": "9.50"}, headers=EN)
    assert _paid(session, invoice) == Decimal("50.00")


def test_postpone_days_must_be_a_whole_number(client, login, session, invoice, settings):
    settings(postponement_enabled=True, max_postponement_days=10)
    due = invoice.due_date
    login("finance")
    for typed in ("1e1", "５", "2,5"):
        refused = _send(
            client, "POST", f"/admin/invoices/{invoice.id}/postpone", data={"days": typed}
        )
        assert refused.status_code == 422, typed
    session.expire_all()
    assert session.get(Invoice, invoice.id).due_date == due
    _send(client, "POST", f"/admin/invoices/{invoice.id}/postpone", data={"days": "5"})
    session.expire_all()
    assert session.get(Invoice, invoice.id).due_date == due + timedelta(days=5)


# --- settings ----------------------------------------------------------------------------------


def _settings_form(client, headers) -> dict:
    """The settings form as the page fills it (the values shown, checked boxes only)."""
    page = _send(client, "GET", "/admin/settings", headers=headers).get_data(as_text=True)
    form = page.split('id="settings-form"')[1].split("</form>")[0]
    values = dict(
        re.findall(r'<input class="form-control[^"]*" id="(\w+)" name="\w+" value="([^"]*)"', form)
    )
    values.update(re.findall(r'<textarea[^>]* name="(\w+)"[^>]*>([^<]*)</textarea>', form))
    values.update({name: "y" for name in re.findall(r'name="(\w+)" value="y" checked', form)})
    for name, options in re.findall(r'<select[^>]* name="(\w+)"[^>]*>(.*?)</select>', form, re.S):
        values[name] = re.search(r'<option value="([^"]*)" selected', options).group(1)
    return values


def test_settings_shown_in_portuguese_save_back_unchanged(client, login, session, settings):
    settings(daily_interest_rate="0.0012", late_fee_rate="0.02", default_credit_value="1500.5")
    login("owner")
    form = _settings_form(client, PT)
    assert form["daily_interest_rate"] == "0,12" and form["default_credit_value"] == "1500,50"
    assert form["late_fee_rate"] == "2"
    assert _send(client, "POST", "/admin/settings", PT, data=form).status_code == 302
    session.expire_all()
    saved = credit.get_settings(session)
    assert (saved.daily_interest_rate, saved.late_fee_rate, saved.default_credit_value) == (
        Decimal("0.0012"),
        Decimal("0.02"),
        Decimal("1500.50"),
    )
    before = _audits(session)
    again = _settings_form(client, PT)
    assert _send(client, "POST", "/admin/settings", PT, data=again).status_code == 302
    assert _audits(session) == before  # what the page shows reads back as the same values


def test_settings_numbers_that_cannot_be_read_are_refused_together(
    client, login, session, settings
):
    login("owner")
    form = _settings_form(client, EN)
    before = credit.get_settings(session)
    kept = (before.default_credit_value, before.late_fee_rate, before.postponement_limit)
    refused = _send(
        client,
        "POST",
        "/admin/settings",
        data={
            **form,
            "default_credit_value": "5O00",
            "late_fee_rate": "2,5",
            "postponement_limit": "1e1",
            "rule_days_0": "²",
        },
        headers=EN,
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "contains letters" in page and "use a point for decimals" in page
    assert 'value="5O00"' in page and "Type the days as a whole number" in page
    session.expire_all()
    saved = credit.get_settings(session)
    assert (saved.default_credit_value, saved.late_fee_rate, saved.postponement_limit) == kept
    portuguese = _settings_form(client, PT)
    ok = _send(
        client, "POST", "/admin/settings", data={**portuguese, "late_fee_rate": "2,5 %"}, headers=PT
    )
    assert ok.status_code == 302
    session.expire_all()
    assert credit.get_settings(session).late_fee_rate == Decimal("0.025")


def test_payment_term_interest_in_the_page_locale(client, login, session):
    login("owner")
    bad = _send(
        client,
        "POST",
        "/admin/settings/terms",
        data={"days": "30/60", "interest": "1.5"},
        headers=PT,
        follow_redirects=True,
    )
    assert said("use a comma for decimals", PT) in bad.get_data(as_text=True)
    assert credit.active_terms(session) == []
    _send(
        client,
        "POST",
        "/admin/settings/terms",
        data={"days": "30/60", "interest": "1,5"},
        headers=PT,
    )
    (term,) = credit.active_terms(session)
    assert term.interest_rate == Decimal("0.015")
