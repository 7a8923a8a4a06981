"""Feedback on every request, in Chromium: the one confirm dialog, progress while a request
runs, alerts for refusals, failures and a lost session, toasts for what was done.

Screenshots of the dialog, an alert and a toast at 1366 and 390 px land in
tests/browser/screenshots/ (git-ignored).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import Page, Route, expect
from sqlalchemy import select, update

from portal import credit, people
from portal.extensions import db
from portal.models import Invoice, User

from ..conftest import ROLE_PASSWORD
from .conftest import log_in

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).parent / "screenshots"
WIDTHS = {"wide": (1366, 900), "narrow": (390, 844)}
OWNER = "owner@store.example"
PAY = "**/admin/invoices/*/pay"


def _arrange(app) -> dict:
    """An owner, and ACME Ltda with three open invoices of R$300.00 (none overdue)."""
    with app.app_context():
        session = db.session
        people.create_user(session, OWNER, "owner", actor="t", password=ROLE_PASSWORD)
        acme = credit.open_account(
            session,
            document="52998224725",
            document_type="CPF",
            email="ana@acme.example",
            name="ACME Ltda",
            credit_limit="5000",
            actor="t",
        )
        hold = credit.authorize(session, acme.id, "900", actor="t", payment_term="30/60/90")
        credit.settle(session, acme.id, hold.id, "900", actor="t")
        today = credit.store_today(credit.get_settings(session))
        rows = session.scalars(select(Invoice).order_by(Invoice.installment)).all()
        for n, invoice in enumerate(rows):
            invoice.due_date = today + timedelta(days=10 + n)
        session.commit()
        return {"account": acme.id, "friendly": [r.friendly_id for r in rows]}


def _invoices(page: Page, url: str, query: str = "") -> None:
    page.goto(f"{url}/admin/invoices{query}")
    page.wait_for_load_state("networkidle")  # the totals have loaded


def _snap(page: Page, name: str) -> None:
    """The viewport (fixed dialogs, alerts and toasts are in it) at each width."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(350)  # the modal re-centres, transitions end
        page.screenshot(path=SCREENSHOTS / f"feedback-{name}-{label}-{width}.png")
    page.set_viewport_size({"width": 1280, "height": 900})


def _status(page: Page, friendly: str):
    return page.locator(f"#invoice-{friendly}")


# --- the confirm dialog ------------------------------------------------------------------------


def test_confirm_dialog_on_an_htmx_button(live_server, page: Page):
    data = _arrange(live_server.app)
    fid = data["friendly"][0]
    log_in(page, live_server.url, OWNER)
    _invoices(page, live_server.url)
    row = _status(page, fid)
    dialog = page.locator("#confirm-modal")
    keep = dialog.locator("#confirm-modal-cancel")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/cancel" in r.url else None)

    def open_dialog() -> None:
        row.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_visible()
        expect(keep).to_be_focused()  # Cancel is the default

    open_dialog()
    expect(dialog.locator(".modal-title")).to_have_text(f"Cancel invoice {fid}?")
    expect(dialog.locator(".modal-body")).to_have_text(
        f"Cancel invoice {fid} of ACME Ltda? R$300.00 goes back to the customer's available "
        "credit. You can reopen it later."
    )
    expect(keep).to_have_text("Keep it")
    ok = dialog.locator("#confirm-modal-ok")
    expect(ok).to_have_text("Cancel invoice")
    expect(ok).to_have_class(re.compile(r"\bbtn-danger\b"))
    _snap(page, "modal")

    keep.click()  # Cancel
    expect(dialog).to_be_hidden()
    open_dialog()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    open_dialog()
    page.keyboard.press("Enter")  # on the focused default: Cancel
    expect(dialog).to_be_hidden()
    open_dialog()
    page.mouse.click(5, 450)  # the backdrop
    expect(dialog).to_be_hidden()
    page.wait_for_timeout(300)
    assert sent == []
    expect(row).to_have_attribute("data-status", "Opened")

    open_dialog()
    ok.click()
    expect(row).to_have_attribute("data-status", "Cancelled")
    expect(page.locator("#toasts")).to_contain_text(f"Invoice {fid} cancelled.")
    assert len(sent) == 1

    # Reopening asks too, with its own consequence and a plain (not red) button.
    row.get_by_role("button", name="Reopen").click()
    expect(dialog.locator(".modal-body")).to_contain_text(
        f"Reopen invoice {fid} of ACME Ltda? R$300.00 is owed again"
    )
    expect(ok).to_have_class(re.compile(r"\bbtn-primary\b"))
    expect(keep).to_have_text("Cancel")
    ok.click()
    expect(row).to_have_attribute("data-status", "Opened")


def test_confirm_dialog_on_a_plain_form(live_server, page: Page):
    data = _arrange(live_server.app)
    log_in(page, live_server.url, OWNER)
    page.goto(f"{live_server.url}/admin/accounts/{data['account']}")
    dialog = page.locator("#confirm-modal")
    close = page.locator("#close-account")
    heading = page.locator("h1")

    # The reason is required: nothing is asked (nor sent) without one.
    close.get_by_role("button", name="Close the account").click()
    expect(dialog).to_be_hidden()
    assert close.locator("input[name=reason]").evaluate("e => !e.validity.valid")

    close.locator("input[name=reason]").fill("Asked by the customer")
    close.get_by_role("button", name="Close the account").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator(".modal-body")).to_have_text(
        "Close the account of ACME Ltda? It will not be able to buy on credit; "
        "its open invoices stay payable."
    )
    expect(dialog.locator("#confirm-modal-cancel")).to_be_focused()
    page.keyboard.press("Enter")  # Cancel is the default
    expect(dialog).to_be_hidden()
    expect(heading).to_contain_text("Open")

    close.get_by_role("button", name="Close the account").click()
    dialog.get_by_role("button", name="Close the account").click()
    expect(heading).to_contain_text("Closed")
    expect(page.locator("#toasts .toast")).to_contain_text("Account closed.")  # a flash
    expect(page.locator("#audit-trail")).to_contain_text("Asked by the customer")

    reopen = page.locator("#reopen-account")
    reopen.get_by_role("button", name="Reopen the account").click()
    expect(dialog.locator(".modal-body")).to_contain_text("Reopen the account of ACME Ltda?")
    dialog.get_by_role("button", name="Reopen the account").click()
    expect(heading).to_contain_text("Open")


def test_confirm_dialog_on_a_submit_button_with_formaction(live_server, page: Page):
    data = _arrange(live_server.app)
    with live_server.app.app_context():
        credit.authorize(db.session, data["account"], "250", actor="t", order_id="ORD-55")
    log_in(page, live_server.url, OWNER)
    page.goto(f"{live_server.url}/admin/accounts/{data['account']}")
    order = page.locator("#orders tr", has_text="ORD-55")
    dialog = page.locator("#confirm-modal")
    order.get_by_role("button", name="Cancel").click()
    expect(dialog.locator(".modal-body")).to_contain_text(
        "Cancel order ORD-55 of ACME Ltda? Its pre-authorization of R$250.00 is released"
    )
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    expect(order).to_contain_text("Authorized")
    order.get_by_role("button", name="Cancel").click()
    dialog.get_by_role("button", name="Cancel the order").click()
    expect(page.locator("#toasts")).to_contain_text("Order cancelled.")
    expect(page.locator("#orders tr", has_text="ORD-55")).to_contain_text("Cancelled")


# --- progress ----------------------------------------------------------------------------------

# Times (performance.now()) at which the row got aria-busy and the spinner class.
WATCH_BUSY = """
(selector) => {
  const times = (window.busyTimes = {});
  const row = document.querySelector(selector);
  new MutationObserver(() => {
    const now = performance.now();
    if (row.getAttribute("aria-busy") === "true" && !times.busy) times.busy = now;
    if (row.classList.contains("htmx-busy") && !times.slow) times.slow = now;
  }).observe(row, {attributes: true});
}
"""


def test_progress_while_a_request_runs(live_server, page: Page):
    data = _arrange(live_server.app)
    fid = data["friendly"][0]
    log_in(page, live_server.url, OWNER)
    _invoices(page, live_server.url)
    held: list[Route] = []
    page.route(PAY, lambda route: held.append(route))  # held until the test lets it go
    row = _status(page, fid)
    button = row.get_by_role("button", name="Paid")
    bar = page.locator("#request-progress")
    expect(bar).to_be_hidden()
    page.evaluate(WATCH_BUSY, f"#invoice-{fid}")

    button.click()
    expect(row).to_have_attribute("aria-busy", "true")
    expect(button).to_be_disabled()
    expect(row).to_have_class(re.compile(r"\bhtmx-busy\b"))  # the spinner over the row
    expect(bar).to_be_visible()
    times = page.evaluate("window.busyTimes")
    assert times["slow"] - times["busy"] >= 140, times  # not before ~150 ms: no flicker
    _snap(page, "progress")  # the answer is held for over a second meanwhile
    assert len(held) == 1
    held[0].continue_()

    expect(row).to_have_attribute("data-status", "Paid")
    expect(row).not_to_have_attribute("aria-busy", "true")
    expect(row).not_to_have_class(re.compile(r"\bhtmx-busy\b"))
    expect(bar).to_be_hidden()
    # A form that stays (the bulk form) gets its button back when its request ends.
    page.unroute(PAY)
    page.route("**/admin/invoices/bulk", lambda route: held.append(route))
    apply = page.locator("#bulk-apply")
    page.check(f"#invoice-{data['friendly'][1]} input[name=ids]")
    apply.click()
    expect(apply).to_be_disabled()
    expect(page.locator("#bulk-area")).to_have_attribute("aria-busy", "true")
    held[1].continue_()
    expect(page.locator("#bulk-confirm")).to_be_visible()
    expect(apply).to_be_enabled()
    expect(page.locator("#bulk-area")).not_to_have_attribute("aria-busy", "true")
    # The server's confirm strip: Cancel is the default and dismisses it.
    cancel = page.locator("#bulk-area").get_by_role("button", name="Cancel", exact=True)
    expect(cancel).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#bulk-area .alert")).to_have_count(0)


# --- errors ------------------------------------------------------------------------------------


def test_a_server_failure_offers_retry(live_server, page: Page):
    data = _arrange(live_server.app)
    fid = data["friendly"][0]
    log_in(page, live_server.url, OWNER)
    _invoices(page, live_server.url)
    failing = {"on": True}

    def answer(route: Route) -> None:
        if failing["on"]:
            route.fulfill(status=500, body="Internal Server Error")
        else:
            route.continue_()

    page.route(PAY, answer)
    table = page.locator("#invoices-table table")
    top = table.bounding_box()["y"]
    row = _status(page, fid)
    row.get_by_role("button", name="Paid").click()
    alert = page.locator("#feedback-alerts [role=alert]")
    expect(alert).to_contain_text("The portal could not complete this request.")
    retry = alert.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    expect(row).to_have_attribute("data-status", "Opened")
    expect(row.get_by_role("button", name="Paid")).to_be_enabled()
    assert table.bounding_box()["y"] == top  # the alert is over the page, not in it
    _snap(page, "alert-failure")

    failing["on"] = False
    retry.click()
    expect(row).to_have_attribute("data-status", "Paid")
    expect(alert).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text(f"Invoice {fid} marked paid.")


def test_a_network_failure_says_so(live_server, page: Page):
    data = _arrange(live_server.app)
    log_in(page, live_server.url, OWNER)
    _invoices(page, live_server.url)
    page.route(PAY, lambda route: route.abort("connectionrefused"))
    _status(page, data["friendly"][0]).get_by_role("button", name="Paid").click()
    alert = page.locator("#feedback-alerts [role=alert]")
    expect(alert).to_contain_text("The portal could not be reached.")
    expect(alert.get_by_role("button", name="Retry")).to_be_visible()


def test_a_refusal_shows_the_servers_message(live_server, page: Page):
    data = _arrange(live_server.app)
    fid = data["friendly"][0]
    log_in(page, live_server.url, OWNER)
    _invoices(page, live_server.url)
    row = _status(page, fid)
    alert = page.locator("#feedback-alerts [role=alert]")

    # A 409 with its message in the header (as portal/errors.py sends it).
    said = f"Invoice {fid} changed in the meantime — reload the page."
    page.route(
        PAY,
        lambda route: route.fulfill(
            status=409, body=said, headers={"HX-Error-Message": quote(said, safe="")}
        ),
    )
    row.get_by_role("button", name="Paid").click()
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text(said)
    expect(alert.get_by_role("button", name="Retry")).to_have_count(0)
    alert.get_by_role("button", name="Close").click()
    expect(alert).to_have_count(0)
    page.unroute(PAY)

    # A real 403: the login lost its right to write while the page was open.
    with live_server.app.app_context():
        db.session.execute(update(User).where(User.email == OWNER).values(role="support"))
        db.session.commit()
    row.get_by_role("button", name="Paid").click()
    expect(alert).to_contain_text("Your login does not allow this action.")
    expect(row).to_have_attribute("data-status", "Opened")


def test_a_lost_session_offers_to_log_in_again(live_server, page: Page):
    data = _arrange(live_server.app)
    fid = data["friendly"][0]
    log_in(page, live_server.url, OWNER)
    listing = "/admin/invoices?status=Opened&sort=-due_date"
    _invoices(page, live_server.url, listing.removeprefix("/admin/invoices"))
    page.context.clear_cookies()
    row = _status(page, fid)
    row.get_by_role("button", name="Paid").click()
    alert = page.locator("#feedback-alerts [role=alert]")
    expect(alert).to_contain_text("Your session ended — log in again.")
    expect(page).to_have_url(f"{live_server.url}{listing}")  # the page stays
    expect(page.locator("#invoices-table")).not_to_contain_text("Log in")  # nothing swapped
    link = alert.get_by_role("link", name="Log in")
    href = link.get_attribute("href")
    parts = urlsplit(href)
    assert parts.path == "/login"
    assert parse_qs(parts.query) == {"next": [listing]}

    link.click()
    page.fill("input[name=email]", OWNER)
    page.fill("input[name=password]", ROLE_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}{listing}")  # back, filters kept
    expect(page.locator("select[name=status]")).to_have_value("Opened")


# --- toasts ------------------------------------------------------------------------------------


def test_a_toast_after_marking_paid_does_not_move_the_layout(live_server, page: Page):
    data = _arrange(live_server.app)
    fid = data["friendly"][0]
    log_in(page, live_server.url, OWNER)
    _invoices(page, live_server.url)
    table = page.locator("#invoices-table table")
    before = table.bounding_box()
    row = _status(page, fid)
    row.get_by_role("button", name="Paid").click()
    toast = page.locator("#toasts .toast", has_text=f"Invoice {fid} marked paid.")
    expect(toast).to_be_visible()
    expect(toast).to_have_attribute("role", "status")
    expect(row).to_have_attribute("data-status", "Paid")
    after = table.bounding_box()
    assert (after["x"], after["y"]) == (before["x"], before["y"])
    box = toast.bounding_box()
    viewport = page.viewport_size
    assert box["x"] + box["width"] > viewport["width"] - 40  # bottom right
    assert box["y"] + box["height"] > viewport["height"] - 40
    _snap(page, "toast")
    expect(toast).to_be_hidden(timeout=10_000)  # it goes away by itself
