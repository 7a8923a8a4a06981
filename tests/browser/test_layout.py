"""Every page fits the screen and names its fields, in Chromium, at 1366 and 390 px.

For each back-office page (as an owner), My Credits and checkout (as a customer) and the
login pages: no page-wide horizontal scroll; at 1366 px the nav is one line; every visible
input, select and textarea has an accessible name and a visible label (a row's inline
field: a name and the row around it); the invoices list fits at 1366 px and turns into
cards at 390 px, and its row buttons name their invoice; the current section is highlighted
on detail pages; the first Tab reaches "Skip to content". Screenshots of each page at both
widths land in tests/browser/screenshots/layout-*.png (git-ignored) for looking at.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal import credit, people, uploads
from portal.extensions import db
from portal.models import Invoice

from ..conftest import ROLE_PASSWORD
from .conftest import log_in

pytestmark = pytest.mark.browser
ACCESSIBLE_NAMES = (
    "(buttons) => buttons.map((b) => (b.getAttribute('aria-label') || b.textContent).trim())"
)
SCREENSHOTS = Path(__file__).parent / "screenshots"
WIDTHS = {1366: 900, 390: 844}
OWNER = "owner@store.example"
CUSTOMER = "buyer@acme.example"
LONG_NAME = "Comercial Distribuidora de Materiais de Escritório Irmãos Albuquerque Ltda"
LONG_EMAIL = "financeiro.contas-a-pagar@distribuidora-albuquerque.example"


def _arrange(app) -> dict:
    """Accounts and invoices with everything a row can show: long names, orders, partial
    payments, fees, postponements, observations, payment links; an API key, terms, an import."""
    with app.app_context():
        session = db.session
        credit.update_settings(
            session,
            {
                "payment_instructions": "Pix key: credit@store.example\nBank 001",
                "late_fee_rate": "0.02",
                "daily_interest_rate": "0.001",
                "postponement_enabled": True,
            },
            "t",
        )
        credit.save_term(session, "30/60/90", "t")
        people.create_user(session, OWNER, "owner", actor="t", password=ROLE_PASSWORD)
        people.create_api_key(session, "ERP integration", ["accounts:read"], actor="t")
        acme = credit.open_account(
            session,
            document="52998224725",
            document_type="CPF",
            email=CUSTOMER,
            name="ACME Ltda",
            credit_limit="50000",
            actor="t",
        )
        long = credit.open_account(
            session,
            document="11144477735",
            document_type="CPF",
            email=LONG_EMAIL,
            name=LONG_NAME,
            credit_limit="120000",
            actor="t",
        )
        people.create_user(session, CUSTOMER, "customer", actor="t", password=ROLE_PASSWORD)
        for n, (account, value) in enumerate(((acme, "12345.67"), (long, "98765.43"))):
            hold = credit.authorize(
                session,
                account.id,
                value,
                actor="t",
                payment_term="30/60/90",
                order_id=f"ORD-2026-{n:07d}-MARKETPLACE",
            )
            credit.settle(session, account.id, hold.id, value, actor="t")
        credit.authorize(session, acme.id, "250", actor="t", payment_term="30/60/90")
        today = credit.store_today(credit.get_settings(session))
        rows = session.scalars(select(Invoice).order_by(Invoice.id)).all()
        for n, invoice in enumerate(rows):
            invoice.due_date = today + timedelta(days=30 * n - 45)  # some overdue, some not
        session.commit()
        first, second, third = rows[0], rows[1], rows[3]
        credit.pay_invoice(session, first.account_id, first.id, "1000", actor="t")
        credit.postpone_invoice(session, second.account_id, second.id, 5, actor="t")
        credit.annotate_invoice(
            session,
            third.account_id,
            third.id,
            actor="t",
            payment_link="https://pay.example/checkout/0123456789abcdef0123456789abcdef",
            observation="Customer asked to pay by bank transfer after the 10th; call Maria first",
        )
        credit.cancel_invoice(session, rows[5].account_id, rows[5].id, actor="t")
        batch, _plan = uploads.preview_upload(
            session,
            "accounts",
            "accounts.csv",
            b"Email,Document,Document Type,Credit limit,Tolerance rate\n"
            b"new@zeta.example,39053344705,CPF,1000,0.1\n",
            "t",
        )
        return {
            "account": acme.id,
            "invoice": rows[0].id,
            "batch": batch.id,
            "friendly": [r.friendly_id for r in rows],
        }


# What scrolls sideways: the page, and the elements sticking out past its right edge.
OVERFLOW = """
() => {
  const doc = document.documentElement, body = document.body;
  const wide = [];
  if (doc.scrollWidth > doc.clientWidth || body.scrollWidth > body.clientWidth) {
    for (const el of document.body.querySelectorAll("*")) {
      const box = el.getBoundingClientRect();
      if (box.width && box.right > doc.clientWidth + 1 && el.checkVisibility()) {
        wide.push(`${el.localName}${el.id ? "#" + el.id : ""}.${[...el.classList].join(".")} `
                  + `right=${Math.round(box.right)}`);
      }
    }
  }
  return {doc: [doc.scrollWidth, doc.clientWidth], body: [body.scrollWidth, body.clientWidth],
          wide: wide.slice(0, 8)};
}
"""

# Visible fields without an accessible name (aria-label, aria-labelledby or a <label> with
# text), or without a visible label: a <label> on screen, unless the field sits in a table
# row or an input group (a row's inline field, the second of a pair, a field and its
# button), where the row or the group shows what it is.
UNLABELLED = """
(fields) => {
  const text = (el) => (el ? el.textContent.replace(/\\s+/g, " ").trim() : "");
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    return el.checkVisibility() && box.width > 2 && box.height > 2;
  };
  const problems = [];
  for (const field of fields) {
    if (field.type === "hidden" || !shown(field)) continue;
    const labels = [...(field.labels || [])];
    const labelledBy = (field.getAttribute("aria-labelledby") || "").split(/\\s+/)
      .filter(Boolean).map((id) => document.getElementById(id));
    const name = (field.getAttribute("aria-label") || "").trim()
      || labelledBy.map(text).join(" ").trim()
      || labels.map(text).join(" ").trim();
    const where = `${field.localName}[name=${field.name || ""}]#${field.id || ""}`;
    if (!name) {
      problems.push(`${where}: no accessible name`);
      continue;
    }
    const visible = labels.some((label) => shown(label) && text(label))
      || labelledBy.some((el) => el && shown(el) && text(el));
    if (!visible && !field.closest("tr, .input-group")) {
      problems.push(`${where}: no visible label (name "${name}")`);
    }
  }
  return problems;
}
"""

# Date fields cut short: their value (or mm/dd/yyyy) and the picker's icon do not fit.
CUT_DATES = """
(fields) => fields.filter((f) => f.checkVisibility())
  .filter((f) => f.scrollWidth > f.clientWidth || f.getBoundingClientRect().width < 130)
  .map((f) => `${f.id}: ${Math.round(f.getBoundingClientRect().width)} px`)
"""

# The tops of the nav's items (section links, the user menu), where it is expanded.
NAV_TOPS = """
() => [...document.querySelectorAll("#main-nav .nav-link")]
  .filter((el) => el.checkVisibility()).map((el) => Math.round(el.getBoundingClientRect().top))
"""


def _check(page: Page, url: str, name: str, *, nav: bool = True) -> None:
    """Open the page at each width: a screenshot, no sideways scroll, labels, the nav."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        response = page.goto(url)
        assert response is not None and response.ok, (url, response and response.status)
        page.wait_for_load_state("networkidle")  # htmx loads (totals…) are done
        page.screenshot(path=SCREENSHOTS / f"layout-{name}-{width}.png", full_page=True)
        where = f"{name} at {width} px"
        sizes = page.evaluate(OVERFLOW)
        assert sizes["doc"][0] <= sizes["doc"][1], (where, sizes)
        assert sizes["body"][0] <= sizes["body"][1], (where, sizes)
        fields = page.locator("input, select, textarea")
        assert fields.evaluate_all(UNLABELLED) == [], where
        assert page.locator("input[type=date]").evaluate_all(CUT_DATES) == [], where
        if nav and width == 1366:
            tops = page.evaluate(NAV_TOPS)
            assert len(tops) >= 2 and max(tops) - min(tops) <= 1, (where, tops)
            navbar = page.locator("nav.navbar").bounding_box()
            assert navbar["height"] < 64, (where, navbar)  # one line of links


def _row_buttons_name_their_invoice(page: Page) -> None:
    """Every button of an invoice row says which invoice, visible text or not."""
    rows = page.locator("#invoices-table tbody tr[id^=invoice-]")
    assert rows.count() >= 6
    for n in range(rows.count()):
        row = rows.nth(n)
        fid = row.get_attribute("id").removeprefix("invoice-")
        names = row.locator("button").evaluate_all(ACCESSIBLE_NAMES)
        assert names and all(fid in label for label in names), (fid, names)
        expect(row.get_by_role("button", name=f"More actions for invoice {fid}")).to_have_count(1)
        if row.get_attribute("data-status") == "Opened":
            paid = row.get_by_role("button", name=f"Mark invoice {fid} paid", exact=True)
            expect(paid).to_have_text("Paid")  # the visible text stays short
            expect(row.get_by_role("button", name=f"Cancel invoice {fid}")).to_have_count(1)
            expect(row.get_by_role("textbox")).to_have_accessible_name(
                re.compile(f"Amount paid on invoice {fid}")
            )


def _invoices_fit(page: Page) -> None:
    """At 1366 px the invoices table needs no scrolling; at 390 px each row is a card with
    its labels, the amounts first after the invoice and the account."""
    page.set_viewport_size({"width": 1366, "height": 900})
    page.reload()
    page.wait_for_load_state("networkidle")
    wrapper = page.locator("#invoices-table .table-responsive")
    assert wrapper.evaluate("e => e.scrollWidth <= e.clientWidth"), "the table scrolls at 1366"
    headers = page.locator("#invoices-table thead th").all_inner_texts()
    order = [
        next(i for i, h in enumerate(headers) if h.startswith(w))
        for w in ("Invoice", "Account", "Value", "Due today", "Due", "Status")
    ]
    assert order == sorted(order), headers
    _row_buttons_name_their_invoice(page)

    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(100)
    row = page.locator("#invoices-table tbody tr[id^=invoice-]").first
    assert row.evaluate("e => getComputedStyle(e).display") == "block"
    cell = row.locator("td[data-label=Value]")
    label = cell.evaluate("e => getComputedStyle(e, '::before').content")
    assert label == '"Value"', label
    box, table = row.bounding_box(), page.locator("#invoices-table table").bounding_box()
    assert box["width"] <= table["width"] + 1 and box["x"] >= table["x"] - 1
    _row_buttons_name_their_invoice(page)


def _section(page: Page, url: str, label: str) -> None:
    page.goto(url)
    active = page.locator("#main-nav .nav-link.active")
    expect(active).to_have_count(1)
    expect(active).to_have_text(label)
    expect(active).to_have_attribute("aria-current", re.compile("page|true"))


def test_back_office_pages_fit_and_name_their_fields(live_server, page: Page):
    data = _arrange(live_server.app)
    url = live_server.url
    log_in(page, url, OWNER, r"/admin$")
    _check(page, f"{url}/admin", "01-dashboard")
    _check(page, f"{url}/admin/accounts", "02-accounts")
    _check(page, f"{url}/admin/accounts/{data['account']}", "03-account")
    _check(page, f"{url}/admin/invoices", "04-invoices")
    _invoices_fit(page)
    _check(page, f"{url}/admin/invoices/{data['invoice']}", "05-invoice")
    _check(page, f"{url}/admin/imports", "06-imports")
    _check(page, f"{url}/admin/imports/{data['batch']}", "06-import-preview")
    _check(page, f"{url}/admin/settings", "07-settings")
    _check(page, f"{url}/admin/users", "08-users")
    _check(page, f"{url}/admin/users?tab=customers", "08-users-customers")
    _check(page, f"{url}/admin/api-keys", "09-api-keys")
    _check(page, f"{url}/admin/audit", "10-audit")
    _check(page, f"{url}/account/password", "11-change-password")

    # The lists stack into cards on phones: each row a block, each cell its label.
    page.set_viewport_size({"width": 390, "height": 844})
    for path, table in (
        ("/admin/accounts", "#accounts-table table"),
        ("/admin/audit", "#audit-table table"),
        ("/admin/users", "#users"),
    ):
        page.goto(f"{url}{path}")
        row = page.locator(f"{table} tbody tr").first
        assert row.evaluate("e => getComputedStyle(e).display") == "block", path
        labelled = row.locator("td[data-label]").first
        content = labelled.evaluate("e => getComputedStyle(e, '::before').content")
        assert content == f'"{labelled.get_attribute("data-label")}"', (path, content)
        assert page.locator(table).evaluate("e => e.scrollWidth <= e.clientWidth"), path


def test_the_nav_highlights_the_section_and_skips_to_content(live_server, page: Page):
    data = _arrange(live_server.app)
    url = live_server.url
    log_in(page, url, OWNER, r"/admin$")
    page.set_viewport_size({"width": 1366, "height": 900})

    # The first Tab reaches "Skip to content", shown while focused; it leads to the content.
    page.goto(f"{url}/admin")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).not_to_be_in_viewport()  # hidden until focused
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.screenshot(path=SCREENSHOTS / "layout-skip-link-1366.png")
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")  # on from the content, not from the nav again
    assert page.evaluate("document.activeElement.closest('#main') !== null")

    # The section, on its own page and on the pages under it.
    _section(page, f"{url}/admin", "Dashboard")
    expect(page.locator("#main-nav .nav-link.active")).to_have_attribute("aria-current", "page")
    _section(page, f"{url}/admin/accounts/{data['account']}", "Accounts")
    expect(page.locator("#main-nav .nav-link.active")).to_have_attribute("aria-current", "true")
    _section(page, f"{url}/admin/accounts/new", "Accounts")
    _section(page, f"{url}/admin/invoices/{data['invoice']}", "Invoices")
    _section(page, f"{url}/admin/imports/{data['batch']}", "Imports")
    _section(page, f"{url}/admin/users?tab=customers", "Users")
    _section(page, f"{url}/admin/api-keys", "API keys")
    _section(page, f"{url}/admin/settings", "Settings")
    _section(page, f"{url}/admin/audit?q=limit", "Audit")

    # The user menu: who is logged in, the password, logging out (a POST with its token).
    menu = page.locator("#user-menu")
    expect(menu).to_contain_text(OWNER)
    expect(page.get_by_role("link", name="Change password")).to_be_hidden()
    menu.click()
    expect(page.get_by_role("link", name="Change password")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "layout-user-menu-1366.png")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    # On a phone the menu is in the collapsed nav.
    log_in(page, url, OWNER, r"/admin$")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name="Toggle navigation").click()
    # the menu is clicked once the nav has finished opening (a click during Bootstrap's
    # collapse animation may not reach it)
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    menu.click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "layout-user-menu-390.png")


def test_customer_and_login_pages_fit_and_name_their_fields(live_server, page: Page):
    _arrange(live_server.app)
    url = live_server.url
    page.context.clear_cookies()
    _check(page, f"{url}/login", "20-login", nav=False)
    _check(page, f"{url}/reset", "21-reset", nav=False)
    log_in(page, url, CUSTOMER, r"/my-credits$")
    _check(page, f"{url}/my-credits", "22-my-credits")
    _check(page, f"{url}/checkout", "23-checkout")
    _section(page, f"{url}/my-credits?tab=paid", "My Credits")
