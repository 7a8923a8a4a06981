"""Bulk actions on the invoices list, in Chromium: the header box checks the page's rows
and follows them, the confirmation strip says how many and how much and its Cancel closes
it without sending anything; once applied, the rows show their new status in place (the
list filtered on Opened keeps them), the totals reload, a toast says what was done and the
selection is cleared. "Select all N matching" then cancels every match.

Screenshots at 1366 and 390 px land in tests/browser/screenshots/bulk-*.png (git-ignored).
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

from ..conftest import ROLE_PASSWORD
from .conftest import log_in

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).parent / "screenshots"
WIDTHS = {"wide": (1366, 900), "narrow": (390, 844)}
OWNER = "owner@store.example"


def _arrange(app) -> dict:
    """An owner; ACME Ltda with three open invoices of R$300.00 (due in 10, 20 and 30 days);
    Zeta SA with one of R$100.00, paid (the list filtered on Opened leaves it out)."""
    with app.app_context():
        session = db.session
        people.create_user(session, OWNER, "owner", actor="t", password=ROLE_PASSWORD)
        accounts = {}
        for name, document, email in (
            ("ACME Ltda", "52998224725", "ana@acme.example"),
            ("Zeta SA", "11144477735", "bob@zeta.example"),
        ):
            accounts[name] = credit.open_account(
                session,
                document=document,
                document_type="CPF",
                email=email,
                name=name,
                credit_limit="5000",
                actor="t",
            ).id
        acme, zeta = accounts["ACME Ltda"], accounts["Zeta SA"]
        hold = credit.authorize(session, acme, "900", actor="t", payment_term="30/60/90")
        credit.settle(session, acme, hold.id, "900", actor="t")
        hold = credit.authorize(session, zeta, "100", actor="t", payment_term="30")
        credit.settle(session, zeta, hold.id, "100", actor="t")
        today = credit.store_today(credit.get_settings(session))
        rows = session.scalars(
            select(Invoice).where(Invoice.account_id == acme).order_by(Invoice.installment)
        ).all()
        for n, invoice in enumerate(rows):
            invoice.due_date = today + timedelta(days=10 * (n + 1))
        session.commit()
        paid = session.scalars(select(Invoice).where(Invoice.account_id == zeta)).one()
        credit.pay_invoice(session, zeta, paid.id, None, actor="t")
        return {"acme": [r.friendly_id for r in rows], "ids": [r.id for r in rows]}


def _statuses(app, ids: list[str]) -> list[str]:
    with app.app_context():
        return [db.session.get(Invoice, i).status for i in ids]


def _snap(page: Page, name: str) -> None:
    """The whole page (the strip, the rows, the fixed toasts) at each width."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)  # the layout settles
        page.screenshot(path=SCREENSHOTS / f"bulk-{name}-{label}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _mixed(box) -> bool:
    return box.evaluate("box => box.indeterminate")


def test_bulk_rows_refresh_in_place(live_server, page: Page):
    data = _arrange(live_server.app)
    url = live_server.url
    first, second, third = data["acme"]
    log_in(page, url, OWNER)
    page.goto(f"{url}/admin/invoices")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or "") if "/bulk" in r.url else None)

    table = page.locator("#invoices-table")
    rows = table.locator("tbody tr")
    totals = page.locator("#invoices-totals")
    header = table.locator("thead input[data-check-all]")
    boxes = table.locator("tbody input[name=ids]")
    checked = table.locator("tbody input[name=ids]:checked")
    strip = page.locator("#bulk-area")

    def row(friendly: str):
        return page.locator(f"#invoice-{friendly}")

    # Filter to Opened: Zeta's paid invoice goes.
    page.select_option("select[name=status]", "Opened")
    expect(page).to_have_url(re.compile(r"status=Opened"))
    expect(rows).to_have_count(3)
    expect(totals).to_contain_text("open R$900.00 (3)")

    # The header box checks the page's rows (it was swapped in by htmx with the table) and
    # follows them: one unticked leaves it unchecked and mixed.
    header.check()
    expect(checked).to_have_count(3)
    row(third).locator("input[name=ids]").uncheck()
    expect(checked).to_have_count(2)
    expect(header).not_to_be_checked()
    assert _mixed(header)

    # Mark paid: the strip says how many and how much; Cancel (the default) closes it.
    page.select_option("#bulk-form select[name=action]", "pay")
    page.click("#bulk-apply")
    expect(page.locator("#bulk-confirm")).to_contain_text(
        "Mark 2 invoices paid, R$600.00 still open?"
    )
    cancel = strip.get_by_role("button", name="Cancel", exact=True)
    expect(cancel).to_be_focused()
    _snap(page, "confirm")
    asked = len(sent)
    cancel.click()
    expect(page.locator("#bulk-confirm")).to_have_count(0)
    expect(page.locator("#bulk-apply")).to_be_focused()
    page.wait_for_timeout(300)
    assert len(sent) == asked  # Cancel sent nothing
    assert _statuses(live_server.app, data["ids"]) == ["Opened", "Opened", "Opened"]
    expect(checked).to_have_count(2)  # the selection is still there, to change or apply

    # Again, and Confirm: the rows show Paid in place (the list is still filtered on
    # Opened), highlighted; the totals reload; a toast; the boxes are cleared.
    page.click("#bulk-apply")
    page.locator("#bulk-confirm").get_by_role("button", name="Confirm").click()
    expect(row(first)).to_have_attribute("data-status", "Paid")
    expect(row(second)).to_have_attribute("data-status", "Paid")
    expect(row(first).locator(".badge")).to_have_text("Paid")
    expect(row(first)).to_have_attribute("data-updated", "")
    expect(row(third)).to_have_attribute("data-status", "Opened")
    expect(row(third)).not_to_have_attribute("data-updated", "")
    expect(rows).to_have_count(3)
    expect(page.locator("#toasts")).to_contain_text("2 invoices marked paid — R$600.00")
    expect(totals).to_contain_text("open R$300.00 (1)")
    expect(page.locator("#bulk-done")).to_contain_text("done for 2 invoices")
    expect(checked).to_have_count(0)
    expect(boxes).to_have_count(3)
    expect(header).not_to_be_checked()
    assert not _mixed(header)
    _snap(page, "done")
    assert _statuses(live_server.app, data["ids"]) == ["Paid", "Paid", "Opened"]
    # The highlight is brief: the mark goes once it has played (3 s).
    expect(row(first)).not_to_have_attribute("data-updated", "", timeout=8000)

    # The rows refreshed out of band work: their own actions and boxes are live.
    header.check()
    expect(checked).to_have_count(3)
    header.uncheck()
    expect(checked).to_have_count(0)

    # Select all matching + Cancel invoices: the confirmation counts what matches now.
    page.locator("#bulk-all").check()
    page.select_option("#bulk-form select[name=action]", "cancel")
    page.click("#bulk-apply")
    expect(page.locator("#bulk-confirm")).to_contain_text("Cancel 1 invoice, R$300.00 still open?")
    _snap(page, "all-confirm")
    page.locator("#bulk-confirm").get_by_role("button", name="Confirm").click()
    expect(row(third)).to_have_attribute("data-status", "Cancelled")
    expect(row(third).locator(".badge")).to_have_text("Cancelled")
    expect(page.locator("#toasts")).to_contain_text("1 invoice cancelled — R$300.00")
    expect(totals).to_contain_text("open R$0.00 (0)")
    expect(page.locator("#bulk-all")).not_to_be_checked()
    expect(rows).to_have_count(3)
    _snap(page, "all-done")
    assert _statuses(live_server.app, data["ids"]) == ["Paid", "Paid", "Cancelled"]

    # Reloaded, the list filtered on Opened is empty now.
    page.reload()
    expect(table).to_contain_text("No invoice matches.")


def test_select_all_matching_cancels_every_match_beyond_the_page(live_server, page: Page):
    """Twenty-three open invoices: the page shows twenty, all matching takes all of them."""
    data = _arrange(live_server.app)
    with live_server.app.app_context():
        session = db.session
        acme = session.get(Invoice, data["ids"][0]).account_id
        for _ in range(5):
            hold = credit.authorize(session, acme, "40", actor="t", payment_term="30/60/90/120")
            credit.settle(session, acme, hold.id, "40", actor="t")
    log_in(page, live_server.url, OWNER)
    page.goto(f"{live_server.url}/admin/invoices")
    page.select_option("select[name=status]", "Opened")
    rows = page.locator("#invoices-table tbody tr")
    expect(rows).to_have_count(20)
    expect(page.locator("label[for=bulk-all]")).to_contain_text("Select all 23 matching")
    page.locator("#bulk-all").check()
    page.select_option("#bulk-form select[name=action]", "cancel")
    page.click("#bulk-apply")
    expect(page.locator("#bulk-confirm")).to_contain_text(
        "Cancel 23 invoices, R$1,100.00 still open?"
    )
    page.locator("#bulk-confirm").get_by_role("button", name="Confirm").click()
    expect(page.locator("#toasts")).to_contain_text("23 invoices cancelled — R$1,100.00")
    expect(page.locator("#invoices-table tbody tr[data-status=Cancelled]")).to_have_count(20)
    expect(page.locator("#invoices-totals")).to_contain_text("open R$0.00 (0)")
    with live_server.app.app_context():
        statuses = db.session.scalars(select(Invoice.status).where(Invoice.account_id == acme))
        assert set(statuses) == {"Cancelled"}


def test_cancel_closes_the_strip_without_bootstrap(live_server, page: Page):
    """Without Bootstrap's script (no confirm modal, no alert plugin), Cancel still closes
    the strip and sends nothing."""
    data = _arrange(live_server.app)
    log_in(page, live_server.url, OWNER)
    page.route("**/bootstrap.bundle.min.js", lambda route: route.abort())
    page.goto(f"{live_server.url}/admin/invoices?status=Opened")
    assert page.evaluate("() => window.bootstrap === undefined")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/bulk" in r.url else None)
    page.check(f"#invoice-{data['acme'][0]} input[name=ids]")
    page.click("#bulk-apply")
    expect(page.locator("#bulk-confirm")).to_contain_text("Mark 1 invoice paid, R$300.00")
    page.locator("#bulk-area").get_by_role("button", name="Cancel", exact=True).click()
    expect(page.locator("#bulk-confirm")).to_have_count(0)
    expect(page.locator("#bulk-apply")).to_be_focused()
    page.wait_for_timeout(300)
    assert len(sent) == 1  # the confirmation's request only
    assert _statuses(live_server.app, data["ids"][:1]) == ["Opened"]
