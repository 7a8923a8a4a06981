"""Every page under the strict Content-Security-Policy, in Chromium, wide and narrow.

Each page is opened at 1366 px and 390 px wide and kept as a screenshot in
tests/browser/screenshots/ (git-ignored) for looking at; the browser must report no CSP
violation, no eval asked of htmx and no script error. The behaviours moved out of inline
code into static/js/portal.js are exercised on the way.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal import credit, people
from portal.extensions import db
from portal.models import Invoice
from portal.security import CONTENT_SECURITY_POLICY

from ..conftest import ROLE_PASSWORD
from .conftest import log_in, watch

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).parent / "screenshots"
WIDTHS = {"wide": (1366, 900), "narrow": (390, 844)}
OWNER = "owner@store.example"
CUSTOMER = "buyer@acme.example"


def _arrange(app) -> dict:
    with app.app_context():
        session = db.session
        credit.save_term(session, "30", "t")
        credit.save_term(session, "30/60/90", "t")
        instructions = {"payment_instructions": "Pix key: credit@store.example\nBank 001"}
        credit.update_settings(session, instructions, "t")
        people.create_user(session, OWNER, "owner", actor="t", password=ROLE_PASSWORD)
        people.create_api_key(session, "ERP", ["accounts:read"], actor="t")
        acme = credit.open_account(
            session,
            document="52998224725",
            document_type="CPF",
            email=CUSTOMER,
            name="ACME Ltda",
            credit_limit="5000",
            actor="t",
        )
        zeta = credit.open_account(
            session,
            document="11144477735",
            document_type="CPF",
            email="bob@zeta.example",
            name="Zeta SA",
            credit_limit="3000",
            actor="t",
        )
        people.create_user(session, CUSTOMER, "customer", actor="t", password=ROLE_PASSWORD)
        for account, value in ((acme, "900"), (zeta, "300")):
            hold = credit.authorize(session, account.id, value, actor="t", payment_term="30/60/90")
            credit.settle(session, account.id, hold.id, value, actor="t")
        credit.authorize(session, acme.id, "250", actor="t", payment_term="30")  # an open order
        today = credit.store_today(credit.get_settings(session))
        rows = session.scalars(select(Invoice).order_by(Invoice.id)).all()
        for n, invoice in enumerate(rows):
            invoice.due_date = today + timedelta(days=30 * n - 45)  # some overdue, some not
        session.commit()
        return {"account": acme.id}


def _visit(page: Page, url: str, name: str, problems: list[str]) -> None:
    """Open the page at each width: CSP header, no violation, a screenshot."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        response = page.goto(url)
        assert response is not None and response.ok, (url, response and response.status)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        page.wait_for_load_state("networkidle")  # htmx loads (totals…) are done
        page.screenshot(path=SCREENSHOTS / f"{name}-{label}-{width}.png", full_page=True)
        assert not problems, f"{name} at {width} px:\n" + "\n".join(problems)


def test_pages_keep_to_the_content_security_policy(live_server, page: Page):
    data = _arrange(live_server.app)
    url = live_server.url
    problems: list[str] = []
    watch(page, problems)

    log_in(page, url, OWNER, r"/admin$")
    _visit(page, f"{url}/admin", "01-dashboard", problems)
    # chart.js drew the aging chart (its canvas sizing is script, which the CSP allows).
    page.wait_for_function("() => !!Chart.getChart(document.getElementById('aging-chart'))")

    _visit(page, f"{url}/admin/accounts", "02-accounts", problems)
    _visit(page, f"{url}/admin/accounts/{data['account']}", "03-account", problems)
    expect(page.locator("#orders input[name=value]")).to_be_visible()

    _visit(page, f"{url}/admin/invoices", "04-invoices", problems)
    _invoices_behaviours(page)
    assert not problems, "\n".join(problems)

    _visit(page, f"{url}/admin/imports", "05-imports", problems)
    _visit(page, f"{url}/admin/settings", "06-settings", problems)
    _visit(page, f"{url}/admin/users", "07-users", problems)
    _visit(page, f"{url}/admin/api-keys", "08-api-keys", problems)
    _revoke_asks_first(page)
    _visit(page, f"{url}/admin/audit", "09-audit", problems)
    _visit(page, f"{url}/api/docs", "10-api-docs", problems)

    log_in(page, url, CUSTOMER, r"/my-credits$")
    _visit(page, f"{url}/my-credits", "11-my-credits", problems)
    usage = page.locator("progress.credit-usage")
    lines = page.locator("#payment-instructions .text-pre-line")
    assert lines.bounding_box()["height"] > 1.5 * float(
        lines.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    )  # the line break shows (white-space: pre-line from portal.css)
    expect(usage).to_be_visible()
    assert float(usage.get_attribute("value")) > 0
    _visit(page, f"{url}/checkout", "12-checkout", problems)
    page.get_by_label(re.compile("30/60/90 days")).check()
    expect(page.locator(".term-option").filter(has_text="30/60/90").locator("li")).to_have_count(3)
    assert not problems, "\n".join(problems)


def _invoices_behaviours(page: Page) -> None:
    table = page.locator("#invoices-table")
    rows = table.locator("tbody input[name=ids]")
    expect(rows).to_have_count(6)

    # Typing searches; the search field's change on blur does not reload the table.
    page.fill("#q", "acme")
    expect(table).not_to_contain_text("Zeta SA")
    expect(rows).to_have_count(3)
    select_all = table.locator("thead input[type=checkbox]")
    select_all.check()  # blurs the search field: its change event stays there
    for n in range(3):
        expect(rows.nth(n)).to_be_checked()
    page.wait_for_timeout(600)  # longer than the search delay: no reload unchecked them
    for n in range(3):
        expect(rows.nth(n)).to_be_checked()
    select_all.uncheck()
    for n in range(3):
        expect(rows.nth(n)).not_to_be_checked()

    # Cancel dismisses the pending confirmation (Bootstrap's data-bs-dismiss).
    select_all.check()
    page.click("#bulk-apply")
    expect(page.locator("#bulk-confirm")).to_contain_text("3 invoices")
    page.locator("#bulk-area").get_by_role("button", name="Cancel", exact=True).click()
    expect(page.locator("#bulk-area .alert")).to_have_count(0)

    # A new page of the table makes a pending confirmation stale: it goes away.
    select_all.check()
    page.click("#bulk-apply")
    expect(page.locator("#bulk-confirm")).to_be_visible()
    table.locator("th").get_by_role("link", name="Due", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort="))
    expect(page.locator("#bulk-area [data-stale-on-reload]")).to_have_count(0)


def _revoke_asks_first(page: Page) -> None:
    """Revoking a key asks first (data-confirm, the confirm dialog): dismissed, nothing
    changes; confirmed, the key is revoked."""
    row = page.locator("#keys tbody tr").filter(has_text="ERP")
    dialog = page.locator("#confirm-modal")
    row.get_by_role("button", name="Revoke").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Revoke the API key ERP")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(row.get_by_role("button", name="Revoke")).to_be_visible()
    row.get_by_role("button", name="Revoke").click()
    dialog.get_by_role("button", name="Revoke key").click()
    expect(row).to_contain_text("revoked")
