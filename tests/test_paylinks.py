"""Pay links for every invoice: the store's template, the invoice's own link, and where
customers and staff see them (My Credits, the invoice page, the API, reminder e-mails)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal import credit, exports, imports, listing, outbox, paylinks, people, reminders, uploads
from portal.admin.settings import PLACEHOLDER_HELP
from portal.credit.payment_details import PLACEHOLDERS
from portal.i18n import money
from portal.models import Invoice, clock_at

from .admin.test_settings_people import SETTINGS_FORM
from .api.conftest import Api, key_headers
from .conftest import ROLE_PASSWORD

TEMPLATE = "https://pay.example.com/{friendlyId}?amount={amountDue}"
EVERY = (
    "https://pay.example.com/p/{friendlyId}?i={invoiceId}&a={accountId}&o={orderId}"
    "&n={installment}&due={amountDue}&v={value}&d={dueDate}&c={currency}"
)
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def invoices_of(session, account) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice).where(Invoice.account_id == account.id).order_by(Invoice.installment)
        )
    )


def overdue_by(session, invoice: Invoice, days: int) -> None:
    invoice.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=days)
    session.commit()


def shown(app, value: str) -> str:
    """An amount as the pages show it (store currency, English)."""
    with app.test_request_context():
        return money(Decimal(value))


@pytest.fixture
def customer(session, login):
    """Log the client in as a customer with this e-mail."""

    def make(address: str):
        user = people.create_user(
            session, address, "customer", actor="test", password=ROLE_PASSWORD
        )
        return login(user=user)

    return make


# --- the template, filled ------------------------------------------------------------------


def test_every_placeholder_is_filled_and_url_encoded(session, make_account, purchase, settings):
    settings(payment_link_template=EVERY, currency="BRL")
    account = make_account(limit="5000")
    hold = purchase(account, "1234.56", term="30/60", order_id="A/B 1&2?")
    first = invoices_of(session, account)[0]
    link = paylinks.effective_link(first, credit.get_settings(session), Decimal("617.28"))
    assert link == (
        f"https://pay.example.com/p/{first.friendly_id}?i={hold.id}-01"
        f"&a={account.id}&o=A%2FB%201%262%3F&n=1&due=617.28&v=617.28"
        f"&d={first.due_date.isoformat()}&c=BRL"
    )
    assert first.payment_link == ""  # computed when shown, never written


def test_the_amount_is_what_is_due_today_with_late_fee_and_interest(
    session, make_account, purchase, settings
):
    settings(payment_link_template=TEMPLATE, late_fee_rate="0.02", daily_interest_rate="0.001")
    account = make_account()
    purchase(account, "100")
    [invoice] = invoices_of(session, account)
    store = credit.get_settings(session)
    today = credit.store_today(store)
    assert paylinks.link_for(invoice, store, today).endswith("?amount=100.00")
    overdue_by(session, invoice, 3)
    # 100.00 + a 2 % late fee + 3 days of 0.1 % interest
    expected = f"https://pay.example.com/{invoice.friendly_id}?amount=102.30"
    assert paylinks.link_for(invoice, store, today) == expected
    due = credit.due_today(invoice, store, today).total
    assert paylinks.effective_link(invoice, store, due) == expected


def test_own_link_wins_and_only_open_invoices_have_one(session, make_account, purchase, settings):
    account = make_account()
    purchase(account, "90", term="30/60/90")
    own, templated, paid = invoices_of(session, account)
    store = credit.get_settings(session)
    assert paylinks.effective_link(templated, store, Decimal("30")) is None  # no template yet
    settings(payment_link_template=TEMPLATE)
    store = credit.get_settings(session)
    credit.annotate_invoice(
        session, account.id, own.id, actor="t", payment_link="https://bank.example/boleto/7"
    )
    credit.annotate_invoice(session, account.id, paid.id, actor="t", payment_link="https://x.y/3")
    credit.pay_invoice(session, account.id, paid.id, actor="t")
    assert paylinks.effective_link(own, store, Decimal("30")) == "https://bank.example/boleto/7"
    assert paylinks.effective_link(templated, store, Decimal("30")) == (
        f"https://pay.example.com/{templated.friendly_id}?amount=30.00"
    )
    assert paylinks.effective_link(paid, store, Decimal("0")) is None
    credit.cancel_invoice(session, account.id, templated.id, actor="t")
    assert paylinks.effective_link(templated, store, Decimal("30")) is None
    own.payment_link = "javascript:alert(1)"  # written around the engine's own check
    assert paylinks.effective_link(own, store, Decimal("30")) is None


# --- the settings page ----------------------------------------------------------------------


def _settings_page(client, **changes):
    response = client.post("/admin/settings", data={**SETTINGS_FORM, **changes})
    return response.status_code, response.get_data(as_text=True)


def _error(page: str, name: str) -> str:
    start = page.index(f'id="{name}-error"')
    return page[page.index(">", start) + 1 : page.index("</div>", start)]


def test_the_owner_sets_template_bank_details_and_pix_key(client, login, session):
    login("owner")
    page = client.get("/admin/settings").get_data(as_text=True)
    help_text = page.split('id="payment_link_template-help"')[1].split("</div>")[0]
    for placeholder in PLACEHOLDERS:
        assert f"<code>{{{placeholder}}}</code>" in help_text, placeholder
    assert tuple(PLACEHOLDER_HELP) == PLACEHOLDERS
    status, _page = _settings_page(
        client,
        payment_link_template=f"  {TEMPLATE}  ",
        bank_details="Banco do Brasil (001)\nAgência 1234-5, conta 67890-1",
        pix_key="529.982.247-25",
    )
    assert status == 302
    session.expire_all()
    store = credit.get_settings(session)
    assert store.payment_link_template == TEMPLATE
    assert store.bank_details.startswith("Banco do Brasil (001)\nAgência")
    assert store.pix_key == "52998224725"  # a CPF key as digits
    page = client.get("/admin/settings").get_data(as_text=True)
    assert f'value="{TEMPLATE}"' in page and 'value="52998224725"' in page


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("http://pay.example.com/{friendlyId}", "starting with https://"),
        ("https://pay.example.com/{foo}", "{foo} is not a placeholder"),
        ("https://pay.example.com/{friendlyId", "a “{” has no partner"),
        ("https://pay.example.com/friendlyId}?a={amountDue}", "a “}” has no partner"),
        ("https://pay.example.com/" + "x" * 480, "at most 500 characters"),
        ("https:///{friendlyId}", "not a web address with a host"),
        ("https://{accountId}.pay.example.com/", "not in the host"),
        ("https://pay.example.com/a b", "cannot hold spaces"),
    ],
)
def test_a_bad_template_is_refused_on_its_field(client, login, session, template, message):
    login("owner")
    assert _settings_page(client, payment_link_template=TEMPLATE)[0] == 302
    status, page = _settings_page(client, payment_link_template=template, timezone="UTC")
    assert status == 422
    error = _error(page, "payment_link_template")
    assert error.startswith("Payment link template:") and message in error, error
    session.expire_all()
    store = credit.get_settings(session)
    assert store.payment_link_template == TEMPLATE  # nothing of a refused form is saved
    assert store.timezone == "America/Sao_Paulo"


def test_every_refused_field_says_so_at_once(client, login, session):
    login("owner")
    status, page = _settings_page(
        client,
        payment_link_template="http://pay.example.com/{friendlyId}",
        bank_details="x" * 1001,
        pix_key="hello",
        timezone="Mars/Base",
        late_fee_rate="two",
    )
    assert status == 422
    assert "starting with https://" in _error(page, "payment_link_template")
    assert _error(page, "bank_details").startswith("Bank details: at most 1000 characters")
    assert _error(page, "pix_key").startswith("Pix key: hello is not a Pix key")
    assert "Mars/Base is not a valid timezone" in _error(page, "timezone")
    assert _error(page, "late_fee_rate")
    assert 'aria-describedby="pix_key-error pix_key-help"' in page
    session.expire_all()
    assert credit.get_settings(session).bank_details == ""


@pytest.mark.parametrize(
    ("key", "kept"),
    [
        ("11.222.333/0001-81", "11222333000181"),
        ("Pix@Store.example.com", "pix@store.example.com"),
        ("+55 (11) 91234-5678", "+5511912345678"),
        ("123E4567-E89B-12D3-A456-426614174000", "123e4567-e89b-12d3-a456-426614174000"),
        ("", ""),
    ],
)
def test_pix_keys_accepted(settings, key, kept):
    assert settings(pix_key=key).pix_key == kept


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("52998224724", "not a valid CPF"),
        ("11987654321", "a phone key starts with +55"),
        ("+1 555 123 4567", "not a Brazilian phone number"),
        ("store@", "not a valid e-mail"),
        ("my pix", "is not a Pix key"),
        ("x" * 141, "at most 140 characters"),
    ],
)
def test_pix_keys_refused(settings, key, message):
    with pytest.raises(credit.InvalidInput) as refused:
        settings(pix_key=key)
    assert refused.value.field == "pix_key" and message in refused.value.message


# --- My Credits -----------------------------------------------------------------------------


def test_my_credits_offers_pay_with_the_amount_due_today_and_how_to_pay(
    app, client, session, make_account, purchase, settings, customer
):
    settings(
        payment_link_template=TEMPLATE,
        late_fee_rate="0.02",
        daily_interest_rate="0.001",
        payment_instructions="Pay before the due date.",
        bank_details="Banco do Brasil (001)\nConta 67890-1",
        pix_key="pix@store.example.com",
    )
    account = make_account(email="mine@shop.example")
    purchase(account, "200", term="30/60")
    late, own = invoices_of(session, account)
    overdue_by(session, late, 3)  # 100.00 + 2.00 + 0.30
    credit.annotate_invoice(
        session, account.id, own.id, actor="t", payment_link="https://bank.example/b/2"
    )
    other = make_account(email="someone@else.example")
    purchase(other, "50")
    [theirs] = invoices_of(session, other)
    customer("mine@shop.example")
    html = client.get("/my-credits").get_data(as_text=True)
    template_link = f"https://pay.example.com/{late.friendly_id}?amount=102.30"
    row = html.split(f'id="invoice-{late.friendly_id}"')[1].split("</tr>")[0]
    button = row.split(f'href="{template_link}"')[1].split("</a>")[0]
    assert f"Pay {shown(app, '102.30')}" in button and late.friendly_id in button
    tags = re.findall(rf'<a [^>]*href="{re.escape(template_link)}"[^>]*>', row)
    assert len(tags) == 2  # one for small screens, one in its own column
    for tag in tags:
        assert re.search(r'rel="[^"]*\bnoopener\b', tag) and 'target="_blank"' in tag
    own_row = html.split(f'id="invoice-{own.friendly_id}"')[1].split("</tr>")[0]
    assert 'href="https://bank.example/b/2"' in own_row
    assert f"Pay {shown(app, '100.00')}" in own_row
    how = html.split('id="payment-instructions"')[1].split("</section>")[0]
    assert "Pay before the due date." in how
    assert "Banco do Brasil (001)\nConta 67890-1" in how
    assert '<code class="user-select-all text-break" id="pix-key">pix@store.example.com' in how
    assert 'data-copy="pix-key"' in how
    assert theirs.friendly_id not in html and "someone@else.example" not in html
    assert client.get(f"/my-credits?account={other.id}").status_code == 404


def test_no_link_no_button(client, session, make_account, purchase, customer, settings):
    settings(bank_details="Banco 001")
    account = make_account(email="plain@shop.example")
    purchase(account, "10")
    customer("plain@shop.example")
    html = client.get("/my-credits").get_data(as_text=True)
    assert "pay-link" not in html and ">Pay " not in html
    assert 'id="bank-details">Banco 001' in html and 'id="pix"' not in html


# --- the staff invoice page -----------------------------------------------------------------


def test_the_invoice_page_says_whose_link_it_is(
    client, login, session, make_account, purchase, settings
):
    settings(payment_link_template=TEMPLATE)
    account = make_account()
    purchase(account, "60", term="30/60")
    own, templated = invoices_of(session, account)
    credit.annotate_invoice(
        session, account.id, own.id, actor="t", payment_link="https://bank.example/b/1"
    )
    login("support")

    def link_of(invoice):
        page = client.get(f"/admin/invoices/{invoice.id}").get_data(as_text=True)
        return page.split('id="payment-link"')[1].split("</dd>")[0]

    assert "https://bank.example/b/1" in link_of(own) and "(own)" in link_of(own)
    shown_link = link_of(templated)
    assert f"https://pay.example.com/{templated.friendly_id}?amount=30.00" in shown_link
    assert "(from the store's template)" in shown_link.replace("&#39;", "'")
    credit.pay_invoice(session, account.id, templated.id, actor="t")
    assert "pay.example.com" not in link_of(templated)


# --- the API and CSV files keep the invoice's own link -------------------------------------


@pytest.fixture
def api(client, session) -> Api:
    key, token = people.create_api_key(session, "test", list(people.SCOPES), actor="test")
    return Api(client, key_headers(key, token))


def test_api_keeps_payment_link_and_adds_the_effective_one(
    api, session, make_account, purchase, settings
):
    settings(payment_link_template=TEMPLATE)
    account = make_account()
    hold = purchase(account, "90", term="30/60/90")
    own, templated, paid = invoices_of(session, account)
    credit.annotate_invoice(
        session, account.id, own.id, actor="t", payment_link="https://bank.example/b/1"
    )
    credit.pay_invoice(session, account.id, paid.id, actor="t")
    url = f"/accounts/{account.id}/invoices/{templated.id}"
    body = api.get(url).get_json()
    assert body["paymentLink"] is None
    assert body["effectivePaymentLink"] == (
        f"https://pay.example.com/{templated.friendly_id}?amount=30.00"
    )
    found = {i["id"]: i for i in api.get(f"/invoices?transactionId={hold.id}").get_json()["data"]}
    assert (
        found[own.id]["paymentLink"]
        == found[own.id]["effectivePaymentLink"]
        == ("https://bank.example/b/1")
    )
    assert found[paid.id]["paymentLink"] is None and found[paid.id]["effectivePaymentLink"] is None
    assert found[templated.id]["effectivePaymentLink"] == body["effectivePaymentLink"]
    changed = api.put(url, json={"status": "Opened", "observation": "boleto"}).get_json()
    assert changed["paymentLink"] is None  # a change never copies the template in
    session.expire_all()
    assert session.get(Invoice, templated.id).payment_link == ""
    doc = api.client.get("/api/openapi.json").get_json()
    schema = doc["components"]["schemas"]["Invoice"]["properties"]["effectivePaymentLink"]
    assert schema["x-portal-extension"] and schema["nullable"]


def test_an_exported_invoices_file_imports_back_unchanged(
    session, make_account, purchase, settings
):
    settings(payment_link_template=TEMPLATE)
    account = make_account()
    purchase(account, "60", term="30/60")
    own, templated = invoices_of(session, account)
    credit.annotate_invoice(
        session, account.id, own.id, actor="t", payment_link="https://bank.example/b/1"
    )
    spec = listing.INVOICES
    text = "".join(exports.export_csv(session, spec, listing.parse(spec, {})))
    assert "https://bank.example/b/1" in text and "pay.example.com" not in text
    assert len(imports.read_table(text.encode(), "invoices").rows) == 2
    batch, plan = uploads.preview_upload(session, "invoices", "x.csv", text.encode(), "tester")
    assert plan.counts["unchanged"] == 2, plan.rows
    uploads.apply_batch(session, batch.id, "tester")
    session.expire_all()
    links = {i.id: i.payment_link for i in invoices_of(session, account)}
    assert links == {own.id: "https://bank.example/b/1", templated.id: ""}


# --- reminder e-mails -----------------------------------------------------------------------


def test_reminders_carry_the_effective_link_and_how_to_pay(
    app, session, settings, make_account, purchase, mailbox
):
    settings(
        timezone="America/Sao_Paulo",
        locale="en",
        reminder_rules=[{"when": "after", "days": 3, "time": "09:00"}],
        late_fee_rate="0.02",
        daily_interest_rate="0.001",
        payment_link_template=TEMPLATE,
        bank_details="Banco do Brasil (001)",
        pix_key="pix@store.example.com",
    )
    account = make_account(email="main@shop.example")
    with clock_at(datetime(2030, 1, 1, 10, 0, tzinfo=SAO_PAULO)):
        purchase(account, "100.00", term="9")  # due 2030-01-10
    [invoice] = invoices_of(session, account)
    assert invoice.due_date == date(2030, 1, 10)
    now = datetime(2030, 1, 13, 9, 0, tzinfo=SAO_PAULO)
    with clock_at(now):
        reminders.send_reminders(session, now)
        outbox.send_pending(session, now=now.astimezone(UTC) + timedelta(minutes=1))
    [message] = mailbox.messages
    text = message.get_content().replace("\r\n", "\n")
    assert f"Pay: https://pay.example.com/{invoice.friendly_id}?amount=102.30" in text
    assert "Bank details:\nBanco do Brasil (001)" in text
    assert "Pix key: pix@store.example.com" in text
