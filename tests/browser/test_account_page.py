"""The account page in Chromium: edit the e-mail (confirmed, with what it does to the
people involved), increase the balance (old → new available credit, then confirm), refund
part of a billed order, download the statement as CSV and page through it; the holders
card fits its column; screenshots at 1366 and 390 px."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from portal import credit, people
from portal.extensions import db

from ..conftest import ROLE_PASSWORD
from .conftest import log_in, watch

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).parent / "screenshots"
WIDTHS = (1366, 390)
OWNER = "owner@store.example"
LONG = "purchasing.department.long.address@subsidiary-of-acme-holdings.example"


def _arrange(app) -> dict:
    with app.app_context():
        session = db.session
        people.create_user(session, OWNER, "owner", actor="t", password=ROLE_PASSWORD)
        acme = credit.open_account(
            session,
            document="52998224725",
            document_type="CPF",
            email="a@acme.example",
            name="ACME Ltda",
            credit_limit="5000",
            actor="t",
        )
        # The main holder has a login of their own: changing the e-mail logs it out.
        people.create_user(session, acme.email, "customer", actor="t", password=ROLE_PASSWORD)
        credit.add_holder(session, acme.id, LONG, actor="t", spending_cap="1500")
        credit.add_holder(session, acme.id, "kid@acme.example", actor="t")
        for n in range(8):  # 24 invoice entries: the statement has a second page
            hold = credit.authorize(
                session, acme.id, "30", actor="t", payment_term="30/60/90", order_id=f"OLD-{n}"
            )
            credit.settle(session, acme.id, hold.id, "30", actor="t")
        hold = credit.authorize(
            session, acme.id, "900", actor="t", payment_term="30/60/90", order_id="ORD-REF"
        )
        credit.settle(session, acme.id, hold.id, "900", actor="t")
        credit.authorize(session, acme.id, "250", actor="t", order_id="ORD-OPEN")
        available = credit.get_account(session, acme.id).available_credit
        return {"account": acme.id, "available": available}


def _money(app, value) -> str:
    from portal.i18n import money

    with app.test_request_context():
        return money(Decimal(value))


def _shots(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SCREENSHOTS / f"account-{name}-{width}.png", full_page=True)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}"
    page.set_viewport_size({"width": 1366, "height": 900})


# What sticks out of the holders card (right edge), if anything.
OUTSIDE_THE_CARD = """
() => {
  const card = document.querySelector("#holders").closest(".card");
  const right = card.getBoundingClientRect().right;
  return Array.from(card.querySelectorAll("*"))
    .filter((el) => !el.classList.contains("visually-hidden"))
    .filter((el) => el.getBoundingClientRect().right > right + 0.5)
    .map((el) => el.outerHTML.slice(0, 80));
}
"""


def test_account_page_journey(live_server, page: Page):
    app, url = live_server.app, live_server.url
    data = _arrange(app)
    problems: list[str] = []
    watch(page, problems)
    log_in(page, url, OWNER)
    page.goto(f"{url}/admin/accounts/{data['account']}")

    # The holders card fits its column: the long e-mail wraps, the cap form and Remove fit.
    holders = page.locator("#holders")
    expect(holders).to_contain_text(LONG)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate(OUTSIDE_THE_CARD) == [], width
    page.set_viewport_size({"width": 1366, "height": 900})
    expect(page.get_by_role("button", name=f"Remove holder {LONG}")).to_be_visible()
    expect(page.get_by_label("Spending cap", exact=True).first).to_be_visible()
    _shots(page, "page")

    # Edit the e-mail: the server says what it will do before anything changes.
    page.get_by_label("E-mail of the main holder").fill("b@acme.example")
    page.get_by_role("button", name="Save details").click()
    confirm = page.locator("#confirm-change")
    expect(confirm).to_contain_text(
        "Change the e-mail of ACME Ltda from a@acme.example to b@acme.example?"
    )
    expect(confirm).to_contain_text(
        "b@acme.example becomes the main holder and gets an invitation."
    )
    expect(confirm).to_contain_text(
        "a@acme.example loses access to this account and is logged out."
    )
    expect(page.locator("#holders")).to_contain_text("a@acme.example")  # not yet
    _shots(page, "confirm-email")
    confirm.get_by_role("button", name="Change the e-mail").click()
    expect(page.locator("#toasts")).to_contain_text("Account details saved.")
    expect(page.locator("#toasts")).to_contain_text("a@acme.example was logged out")
    expect(page.locator("#holders li").first).to_contain_text("b@acme.example")

    # Increase the balance: old → new available credit first, then confirm.
    before = data["available"]
    page.get_by_label("Amount", exact=True).fill("250")
    page.locator("#adjust-reason").fill("Goodwill for a late delivery")
    page.get_by_role("button", name="Increase balance").click()
    confirm = page.locator("#confirm-change")
    expect(confirm).to_contain_text("Increase the balance by R$250.00?")
    expect(confirm).to_contain_text(f"{_money(app, before)} → {_money(app, before + 250)}")
    _shots(page, "confirm-balance")
    confirm.get_by_role("button", name="Confirm the increase").click()
    expect(page.locator("#toasts")).to_contain_text("Balance increased by R$250.00.")
    expect(page.locator("#account-figures")).to_contain_text(_money(app, before + 250))

    # Refund part of a billed order (what can still be refunded is shown and proposed).
    order = page.locator("#orders tr", has_text="ORD-REF")
    expect(order).to_contain_text("R$900.00 refundable")
    disclosure = order.locator("summary")  # a <summary>: Chromium gives it no button role
    expect(disclosure).to_have_attribute("aria-label", "Refund order ORD-REF")
    disclosure.click()
    amount = order.get_by_label("Amount to refund")
    expect(amount).to_have_value("900.00")
    amount.fill("100")
    order.get_by_label("Reason").fill("One item damaged")
    _shots(page, "refund")
    order.locator("button[type=submit]", has_text="Refund order ORD-REF").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog.locator(".modal-body")).to_contain_text("Refund order ORD-REF of ACME Ltda?")
    dialog.get_by_role("button", name="Refund", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("Refunded R$100.00.")
    order = page.locator("#orders tr", has_text="ORD-REF")
    expect(order).to_contain_text("refunded R$100.00")
    expect(order).to_contain_text("R$800.00 refundable")

    # The statement as CSV: reasons and who did it.
    with page.expect_download() as download:
        page.locator("#statement-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][-1] == "Done by"
    assert any(row[2] == "Goodwill for a late delivery" and row[-1] == OWNER for row in rows)
    assert any(row[2] == "One item damaged" and row[-1] == OWNER for row in rows)

    # Page through the statement: htmx swaps the card, the URL keeps the page.
    card = page.locator("#statement-card")
    expect(card).not_to_contain_text("Initial credit limit")
    card.get_by_role("link", name="Older entries").click()
    expect(page).to_have_url(re.compile(r"\?page=2$"))
    expect(page.locator("#statement-card")).to_contain_text("Initial credit limit")
    expect(page.locator("#statement-card")).to_contain_text("Page 2")
    _shots(page, "statement-page-2")
    page.locator("#statement-card").get_by_role("link", name="Newer entries").click()
    expect(page.locator("#statement-card")).to_contain_text("Page 1")
    expect(page).to_have_url(re.compile(rf"/admin/accounts/{data['account']}$"))
    page.reload()  # a pushed URL loads as a whole page
    expect(page.locator("#statement-card")).not_to_contain_text("Initial credit limit")
    assert not problems, "\n".join(problems)
