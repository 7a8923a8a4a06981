"""My Credits: a customer's (or dependent's) own accounts, figures and open invoices."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal import credit, people
from portal.i18n import money
from portal.models import Invoice

from ..conftest import ROLE_PASSWORD


def formatted(app, value: str) -> str:
    """An amount as the page shows it (store currency, English locale)."""
    with app.test_request_context():
        return money(Decimal(value))


@pytest.fixture
def customer_login(session):
    """Create a customer login for an e-mail that already holds an account."""

    def make(email: str):
        return people.create_user(session, email, "customer", actor="test", password=ROLE_PASSWORD)

    return make


def page(client, query: str = "") -> tuple[int, str]:
    response = client.get("/my-credits" + query)
    return response.status_code, response.get_data(as_text=True)


def section(html: str, section_id: str) -> str:
    """The HTML of one <section id=…> of the page."""
    start = html.index(f'<section id="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_customer_sees_the_figures_and_open_invoices(
    app, client, session, login, make_account, purchase, customer_login
):
    account = make_account(limit="1000")
    purchase(account, "300", term="30/60/90")
    purchase(account, "50", settle=False)
    login(user=customer_login(account.email))
    status, html = page(client)
    assert status == 200
    for amount in ("1000.00", "300.00", "50.00", "650.00", "100.00"):
        assert formatted(app, amount) in html, amount
    invoices = session.scalars(select(Invoice).order_by(Invoice.installment)).all()
    for invoice in invoices:
        assert invoice.friendly_id in html and invoice.id in html
    assert "1 of 3" in html and "3 of 3" in html
    assert "Overdue" not in html


def test_overdue_invoice_is_flagged_and_paid_ones_are_gone(
    client, session, login, make_account, purchase, customer_login
):
    account = make_account(limit="1000")
    purchase(account, "200", term="30/60")
    first, second = session.scalars(select(Invoice).order_by(Invoice.installment)).all()
    first.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=3)
    session.commit()
    credit.pay_invoice(session, account.id, second.id, actor="test")
    login(user=customer_login(account.email))
    _, html = page(client)
    invoices = section(html, "invoices")
    assert "Overdue" in invoices
    assert first.friendly_id in invoices and second.friendly_id not in invoices


def test_tolerance_counts_only_when_the_store_enables_it(
    app, client, login, make_account, customer_login, settings
):
    account = make_account(limit="1000", tolerance="0.1")
    login(user=customer_login(account.email))
    assert formatted(app, "1100.00") not in page(client)[1]
    settings(tolerance_enabled=True)
    assert formatted(app, "1100.00") in page(client)[1]


def test_another_persons_account_is_404(client, login, make_account, customer_login):
    mine, theirs = make_account(), make_account()
    login(user=customer_login(mine.email))
    assert page(client, f"?account={theirs.id}")[0] == 404
    assert page(client, "?account=does-not-exist")[0] == 404
    assert page(client, f"?account={mine.id}")[0] == 200


def test_dependent_sees_the_shared_account(
    app, client, session, login, make_account, purchase, customer_login
):
    account = make_account(limit="800")
    purchase(account, "120")
    credit.add_holder(session, account.id, "kid@example.com", actor="test")
    login(user=customer_login("kid@example.com"))
    status, html = page(client)
    assert status == 200
    assert formatted(app, "800.00") in html and formatted(app, "680.00") in html
    invoice = session.scalars(select(Invoice)).one()
    assert invoice.friendly_id in html


def test_person_with_several_accounts_can_switch(
    client, session, login, make_account, customer_login
):
    own = make_account(limit="100", name="Own Shop")
    shared = make_account(limit="200", name="Family Store")
    credit.add_holder(session, shared.id, own.email, actor="test")
    login(user=customer_login(own.email))
    _, html = page(client)
    assert f'href="/my-credits?account={shared.id}"' in html
    assert html.index("Own Shop") < html.index("Family Store")  # main holder first
    status, html = page(client, f"?account={shared.id}")
    assert status == 200 and 'aria-current="page"' in html


def test_customer_without_accounts_gets_a_friendly_page(
    client, session, login, make_account, customer_login
):
    account = make_account()
    holder = credit.add_holder(session, account.id, "former@example.com", actor="test")
    user = customer_login("former@example.com")
    credit.remove_holder(session, account.id, holder.id, actor="test")
    login(user=user)
    status, html = page(client)
    assert status == 200 and "No credit account yet" in html


def test_page_is_friendly_when_the_store_turns_it_off(
    client, login, make_account, customer_login, settings
):
    account = make_account()
    login(user=customer_login(account.email))
    settings(my_credits_enabled=False)
    status, html = page(client)
    assert status == 200 and "My Credits is not available at this store." in html
    assert account.id not in html


@pytest.mark.parametrize("role", ["owner", "finance", "support"])
def test_staff_get_403(client, login, role):
    login(role)
    assert page(client)[0] == 403


def test_anonymous_is_redirected_to_login(client):
    response = client.get("/my-credits")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_payment_link_is_offered(client, session, login, make_account, purchase, customer_login):
    account = make_account()
    purchase(account, "10")
    invoice = session.scalars(select(Invoice)).one()
    link = "https://pay.example/i/1"
    credit.annotate_invoice(session, account.id, invoice.id, actor="test", payment_link=link)
    login(user=customer_login(account.email))
    assert f'href="{link}"' in page(client)[1]
