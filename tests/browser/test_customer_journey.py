"""A customer's journey in Chromium: My Credits, buying on credit, billing, paying."""

from __future__ import annotations

import csv
import os
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal import credit, people
from portal.extensions import db
from portal.i18n import money
from portal.models import Invoice, PreAuthorization

from ..conftest import ROLE_PASSWORD

pytestmark = pytest.mark.browser
EMAIL = "buyer@acme.example"


def snap(page: Page, name: str) -> None:
    """Keep a screenshot when BROWSER_SCREENSHOTS names a folder (for looking at pages)."""
    folder = os.environ.get("BROWSER_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def shown(app, value: str) -> str:
    """An amount as the pages show it in English."""
    with app.test_request_context():
        return money(Decimal(value))


def figure(page: Page, label: str):
    """The value of a figure card on My Credits."""
    card = page.locator("#credit-figures .card").filter(has_text=label)
    return card.locator(".figure-value")


def test_customer_buys_on_credit_and_pays(live_server, page: Page):
    app, url = live_server.app, live_server.url
    with app.app_context():
        session = db.session
        credit.save_term(session, "30", "test")
        credit.save_term(session, "30/60/90", "test")
        account = credit.open_account(
            session,
            document="52998224725",
            document_type="CPF",
            email=EMAIL,
            credit_limit="5000",
            name="ACME Ltda",
            actor="test",
        )
        account_id = account.id
        people.create_user(session, EMAIL, "customer", actor="test", password=ROLE_PASSWORD)
        session.remove()

    # Log in: customers land on My Credits with their whole limit available.
    page.goto(f"{url}/login")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill(ROLE_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/my-credits$"))
    expect(figure(page, "Available")).to_have_text(shown(app, "5000.00"))
    snap(page, "1-my-credits")

    # The cart: one chair more, and the total follows without a page load (htmx).
    page.goto(f"{url}/checkout")
    expect(page.locator("#order-total")).to_have_text(shown(app, "771.30"))
    page.get_by_label("Ergonomic office chair").fill("1")
    expect(page.locator("#order-total")).to_have_text(shown(app, "2061.30"))
    expect(page).to_have_url(re.compile(r"qty-chair=1"))
    page.get_by_label(re.compile("30/60/90 days")).check()
    installments = page.locator(".term-option").filter(has_text="30/60/90").locator("li")
    expect(installments).to_have_count(3)
    expect(installments.first).to_contain_text(shown(app, "687.10"))
    snap(page, "2-checkout")

    # Place the order: the confirmation says the credit is held until billing.
    page.get_by_role("button", name=re.compile("Place order")).click()
    expect(page.locator("#hold-note")).to_contain_text("pre-authorized on your credit")
    order_id = page.locator("#order-id").inner_text()
    assert re.fullmatch(r"ORD-\d{8}", order_id)
    snap(page, "3-order")

    # My Credits shows the hold.
    page.get_by_role("link", name="See My Credits").click()
    expect(figure(page, "Pre-authorized")).to_have_text(shown(app, "2061.30"))
    expect(figure(page, "Available")).to_have_text(shown(app, "2938.70"))

    # The store bills the order in the back-office: three invoices appear.
    with app.app_context():
        people.create_user(
            db.session, "finance@store.example", "finance", actor="test", password=ROLE_PASSWORD
        )
        hold = db.session.scalar(
            select(PreAuthorization).where(PreAuthorization.order_id == order_id)
        )
        assert (hold.status, hold.payment_term) == ("Authorized", "30/60/90")
        db.session.remove()
    staff = page.context.browser.new_context(locale="en-US").new_page()
    staff.goto(f"{url}/login")
    staff.fill("input[name=email]", "finance@store.example")
    staff.fill("input[name=password]", ROLE_PASSWORD)
    staff.click("button[type=submit]")
    staff.goto(f"{url}/admin/accounts/{account_id}")
    staff.locator("#orders tr", has_text=order_id).get_by_role("button", name="Bill").click()
    expect(staff.locator("#toasts .toast")).to_contain_text("invoices are issued")
    page.reload()
    rows = page.locator("#invoices-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(order_id)
    expect(figure(page, "Pre-authorized")).to_have_text(shown(app, "0.00"))
    snap(page, "4-invoices")

    # The back-office records the first invoice's payment: credit comes back on reload.
    with app.app_context():
        first = db.session.scalar(
            select(Invoice).where(Invoice.order_id == order_id, Invoice.installment == 1)
        )
        friendly_id = first.friendly_id
        db.session.remove()
    staff.goto(f"{url}/admin/invoices?q={friendly_id}")
    staff.locator(f"#invoice-{friendly_id}").get_by_role("button", name="Paid").click()
    expect(staff.locator(f"#invoice-{friendly_id}")).to_have_attribute("data-status", "Paid")
    staff.context.close()
    page.reload()
    expect(figure(page, "Available")).to_have_text(shown(app, "3625.80"))
    expect(rows).to_have_count(2)

    # The Paid tab (swapped in by htmx, its URL pushed) lists the paid invoice.
    page.locator("#invoice-tabs").get_by_role("link", name=re.compile("Paid")).click()
    expect(page).to_have_url(re.compile(r"tab=paid"))
    expect(page.locator(f"#invoice-{friendly_id}")).to_be_visible()
    snap(page, "5-paid")

    # The statement downloads with the running balance.
    with page.expect_download() as download:
        page.locator("#statement-csv").click()
    with open(download.value.path(), encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert [row[-1] for row in rows[1:]] == ["5000.00", "4312.90", "3625.80", "2938.70", "3625.80"]
