"""My Credits clarity (issue 13, item 7): the on-hold banner says which invoices and how
much lifts the hold, "Available" is the same figure as at checkout, "Total open" says what
it counts, and a store without My Credits shows a friendly page."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal import credit, people
from portal.i18n import day, money
from portal.models import Invoice

from ..conftest import ROLE_PASSWORD


@pytest.fixture
def customer(session, login):
    """Log the client in as a customer holding an account's e-mail."""

    def make(email: str):
        user = people.create_user(session, email, "customer", actor="test", password=ROLE_PASSWORD)
        return login(user=user)

    return make


def formatted(app, value: str) -> str:
    """An amount as the page shows it (store currency, English locale)."""
    with app.test_request_context():
        return money(Decimal(value))


def overdue_by(session, invoice: Invoice, days: int):
    """Make `invoice` due `days` ago; returns its due date."""
    invoice.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=days)
    session.commit()
    return invoice.due_date


def invoices_of(session, account) -> list[Invoice]:
    query = select(Invoice).where(Invoice.account_id == account.id).order_by(Invoice.installment)
    return list(session.scalars(query))


def banner(html: str) -> str:
    """The on-hold banner's text, tags and runs of spaces removed."""
    start = html.index('id="on-hold-warning"')
    text = re.sub(r"<[^>]+>", " ", html[start : html.index("</div>", start)])
    return re.sub(r"\s+", " ", text.split(">", 1)[1]).strip()


def test_banner_names_the_invoice_days_and_amount(
    app, client, session, make_account, purchase, customer, settings
):
    settings(overdue_hold_days=5, late_fee_rate="0.02", daily_interest_rate="0.001")
    account = make_account(limit="1000")
    purchase(account, "100")
    invoice = invoices_of(session, account)[0]
    due = overdue_by(session, invoice, 35)
    customer(account.email)
    html = client.get("/my-credits").get_data(as_text=True)
    with app.test_request_context():
        since = day(due)
    # 100.00 + late fee 2 % (2.00) + 35 days of 0.1 % a day (3.50)
    assert banner(html) == (
        f"Your account is on hold: invoice {invoice.friendly_id} is 35 days overdue "
        f"(since {since}). Pay {formatted(app, '105.50')} to buy on credit again."
    )


def test_banner_lists_every_invoice_past_the_threshold(
    app, client, session, make_account, purchase, customer, settings
):
    settings(overdue_hold_days=5, late_fee_rate="0.02", daily_interest_rate="0.001")
    account = make_account(limit="1000")
    purchase(account, "300", term="30/60/90")
    first, second, third = invoices_of(session, account)
    overdue_by(session, first, 20)  # 100 + 2.00 + 2.00
    overdue_by(session, second, 10)  # 100 + 2.00 + 1.00
    overdue_by(session, third, 3)  # late, but not past the hold threshold: not listed
    customer(account.email)
    text = banner(client.get("/my-credits").get_data(as_text=True))
    assert text.startswith("Your account is on hold: these invoices are overdue.")
    assert f"Invoice {first.friendly_id}: 20 days overdue" in text
    assert f"Invoice {second.friendly_id}: 10 days overdue" in text
    assert third.friendly_id not in text
    assert text.endswith(f"Pay {formatted(app, '207.00')} to buy on credit again.")


def test_banner_names_the_oldest_five_and_charges_for_all(
    app, client, session, make_account, purchase, customer, settings
):
    """Seven invoices hold the account: the banner names the five oldest, counts the other
    two, and the amount that lifts the hold covers all seven, fees and interest included."""
    settings(overdue_hold_days=5, late_fee_rate="0.02", daily_interest_rate="0.001")
    account = make_account(limit="10000")
    purchase(account, "700", term="/".join(str(30 * n) for n in range(1, 8)))
    invoices = invoices_of(session, account)
    for days, invoice in zip(range(40, 5, -5), invoices, strict=True):
        overdue_by(session, invoice, days)  # 40, 35, …, 10 days: 100 + 2.00 + days × 0.10
    customer(account.email)
    text = banner(client.get("/my-credits").get_data(as_text=True))
    assert [invoice.friendly_id in text for invoice in invoices] == [True] * 5 + [False] * 2
    assert "and 2 more overdue invoices, listed under Open" in text
    assert text.endswith(f"Pay {formatted(app, '731.50')} to buy on credit again.")


def test_no_banner_without_a_hold(client, session, make_account, purchase, customer, settings):
    settings(overdue_hold_days=5)
    account = make_account()
    purchase(account, "100")
    overdue_by(session, invoices_of(session, account)[0], 5)  # on the threshold: no hold yet
    customer(account.email)
    assert 'id="on-hold-warning"' not in client.get("/my-credits").get_data(as_text=True)


def figure_value(html: str, label: str) -> tuple[str, str]:
    """The value and note of the My Credits figure card labelled `label`."""
    match = re.search(
        rf">{label}</div>\s*<div[^>]*figure-value[^>]*>([^<]+)</div>(?:\s*<div[^>]*>([^<]*)</div>)?",
        html,
    )
    assert match, label
    return match.group(1).strip(), (match.group(2) or "").strip()


def checkout_available(html: str) -> str:
    return re.search(r'id="available-credit">([^<]+)<', html).group(1).strip()


@pytest.mark.parametrize("tolerance_enabled", [False, True])
def test_available_is_the_same_on_my_credits_and_checkout(
    app, client, make_account, purchase, customer, settings, tolerance_enabled
):
    settings(tolerance_enabled=tolerance_enabled)
    account = make_account(limit="1000", tolerance="0.125")
    purchase(account, "300")
    purchase(account, "50", settle=False)
    customer(account.email)
    mine = client.get("/my-credits").get_data(as_text=True)
    checkout = client.get("/checkout").get_data(as_text=True)
    available, note = figure_value(mine, "Available")
    assert available == checkout_available(checkout) == formatted(app, "650.00")
    line = f"Up to {formatted(app, '775.00')} with the store’s tolerance of 12.5%"
    if tolerance_enabled:
        assert note == line
        assert re.search(r'id="tolerance-line">\s*' + re.escape(line), checkout)
    else:
        assert note == "" and "tolerance" not in checkout.lower().split("<main", 1)[-1]


def test_an_order_within_the_tolerance_shows_what_of_it_is_used(
    app, client, make_account, customer, settings
):
    settings(tolerance_enabled=True)
    account = make_account(limit="700", tolerance="0.2")  # the demo cart is 771.30
    customer(account.email)
    html = client.get("/checkout").get_data(as_text=True)
    assert checkout_available(html) == formatted(app, "700.00")
    assert "Tolerance this order uses" in html and formatted(app, "71.30") in html
    assert 'id="refusal"' not in html


def test_refusal_beyond_the_tolerance_names_the_most_one_can_spend(
    app, client, make_account, customer, settings
):
    settings(tolerance_enabled=True)
    account = make_account(limit="600", tolerance="0.1")  # up to 660.00
    customer(account.email)
    html = client.get("/checkout").get_data(as_text=True)
    assert f"you can spend up to {formatted(app, '660.00')} with the store’s tolerance" in html


def test_total_open_says_it_is_before_late_fees(
    app, client, session, make_account, purchase, customer, settings
):
    settings(late_fee_rate="0.02")
    account = make_account(limit="1000")
    purchase(account, "200", term="30/60")
    overdue_by(session, invoices_of(session, account)[0], 3)
    customer(account.email)
    html = client.get("/my-credits").get_data(as_text=True)
    assert f"Total open (before late fees): {formatted(app, '200.00')}" in html


def test_my_credits_turned_off_is_a_friendly_page(client, make_account, customer, settings):
    account = make_account()
    customer(account.email)
    settings(
        my_credits_enabled=False,
        support_email="ajuda@loja.example",
        support_phone="+55 11 4000-1234",
    )
    response = client.get("/my-credits")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "My Credits is not available at this store." in html
    assert '<a href="mailto:ajuda@loja.example">ajuda@loja.example</a>' in html
    assert '<a href="tel:+551140001234">+55 11 4000-1234</a>' in html
    assert account.id not in html


def test_my_credits_turned_off_without_contacts(client, make_account, customer, settings):
    customer(make_account().email)
    settings(my_credits_enabled=False)
    response = client.get("/my-credits")
    assert response.status_code == 200
    assert "Contact the store for your credit and invoices." in response.get_data(as_text=True)
