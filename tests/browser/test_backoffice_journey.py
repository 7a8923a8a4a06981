"""Store staff in Chromium: search as you type, overdue invoices, bulk payment, limits."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal import credit, people
from portal.extensions import db
from portal.models import Invoice

from ..conftest import ROLE_PASSWORD
from .conftest import log_in

pytestmark = pytest.mark.browser


def _arrange(app) -> dict:
    with app.app_context():
        session = db.session
        people.create_user(
            session, "owner@store.example", "owner", actor="t", password=ROLE_PASSWORD
        )
        acme = credit.open_account(
            session,
            document="52998224725",
            document_type="CPF",
            email="ana@acme.example",
            name="ACME Ltda",
            credit_limit="5000",
            actor="t",
        )
        credit.open_account(
            session,
            document="11144477735",
            document_type="CPF",
            email="bob@zeta.example",
            name="Zeta SA",
            credit_limit="3000",
            actor="t",
        )
        hold = credit.authorize(session, acme.id, "900", actor="t", payment_term="30/60/90")
        credit.settle(session, acme.id, hold.id, "900", actor="t")
        today = credit.store_today(credit.get_settings(session))
        rows = session.scalars(select(Invoice).order_by(Invoice.installment)).all()
        for n, invoice in enumerate(rows):
            invoice.due_date = today - timedelta(days=40 - 10 * n)  # all three overdue
        session.commit()
        return {"account": acme.id, "friendly": [r.friendly_id for r in rows]}


def test_staff_journey(live_server, page: Page):
    data = _arrange(live_server.app)
    url = live_server.url
    log_in(page, url, "owner@store.example")

    # Search an account as you type: the table changes and the URL keeps the search.
    page.goto(f"{url}/admin/accounts")
    expect(page.locator("#accounts-table")).to_contain_text("Zeta SA")
    page.fill("input[name=q]", "acme")
    expect(page.locator("#accounts-table")).not_to_contain_text("Zeta SA")
    expect(page.locator("#accounts-table")).to_contain_text("ACME Ltda")
    expect(page).to_have_url(re.compile(r"q=acme"))

    # Filter invoices to Overdue and sort by due date.
    page.goto(f"{url}/admin/invoices")
    page.select_option("select[name=status]", "Overdue")
    expect(page).to_have_url(re.compile(r"status=Overdue"))
    page.locator("#invoices-table th").get_by_role("link", name="Due", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=-due_date"))
    expect(page.locator("#invoices-table tbody tr")).to_have_count(3)
    filtered_url = page.url
    page.go_back()  # htmx history: back to the filtered list before the sort
    expect(page).to_have_url(re.compile(r"status=Overdue.*sort=due_date$"))
    expect(page.locator("#invoices-table tbody tr")).to_have_count(3)
    page.go_forward()
    expect(page).to_have_url(filtered_url)

    # Bulk-mark the three invoices paid, with the confirmation.
    for friendly in data["friendly"]:
        page.check(f"#invoice-{friendly} input[name=ids]")
    page.click("#bulk-apply")
    expect(page.locator("#bulk-confirm")).to_contain_text("3 invoices")
    page.locator("#bulk-confirm button").click()
    expect(page.locator("#bulk-done")).to_contain_text("done for 3 invoices")

    # The account's available credit rose by the 900 paid.
    page.goto(f"{url}/admin/accounts/{data['account']}")
    expect(page.locator("#account-figures")).to_contain_text("5,000.00")

    # Change the limit with a reason; the audit trail shows it.
    page.fill("input[name=credit_limit]", "7000")
    page.locator("form[action$='/limit'] input[name=reason]").fill("Pays on time")
    page.click("text=Change limit")
    expect(page.locator("#confirm-change")).to_contain_text("7,000.00")  # old → new first
    page.click("text=Confirm the change")
    expect(page.locator("#audit-trail")).to_contain_text("Pays on time")
    expect(page.locator("#account-figures")).to_contain_text("7,000.00")

    # Back goes to the filtered invoice list as it was.
    page.goto(filtered_url)
    page.goto(f"{url}/admin")
    page.go_back()
    expect(page).to_have_url(filtered_url)
    expect(page.locator("select[name=status]")).to_have_value("Overdue")
