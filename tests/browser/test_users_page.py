"""The users page in Chromium, as the owner: tabs, search as you type, and the confirmation
asked before a role change or a deactivation. Screenshots at 1366 and 390 px go to
tests/browser/screenshots/ (git-ignored), for looking at."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from portal import credit, people
from portal.extensions import db

from ..conftest import ROLE_PASSWORD
from .conftest import log_in

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).parent / "screenshots"


def _arrange(app) -> None:
    with app.app_context():
        session = db.session
        people.create_user(
            session, "owner@store.example", "owner", actor="t", password=ROLE_PASSWORD, name="Olga"
        )
        people.create_user(
            session, "ana@store.example", "finance", actor="t", password=ROLE_PASSWORD, name="Ana"
        )
        for n in range(22):
            people.create_user(session, f"helper{n:02d}@store.example", "support", actor="t")
        for n, document in enumerate(("52998224725", "11144477735")):
            email = f"client{n}@shop.example"
            credit.open_account(
                session,
                document=document,
                document_type="CPF",
                email=email,
                name=f"Client {n}",
                credit_limit="1000",
                actor="t",
            )
            people.create_user(session, email, "customer", actor="t", name=f"Client {n}")
        session.commit()


@pytest.mark.parametrize("width", [1366, 390])
def test_users_page_tabs_search_and_confirmations(live_server, page: Page, width):
    _arrange(live_server.app)
    url = live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, url, "owner@store.example")
    table = page.locator("#users-table")

    page.goto(f"{url}/admin/users")
    expect(table).to_contain_text("ana@store.example")
    expect(table).not_to_contain_text("client0@shop.example")
    expect(table).to_contain_text("1–20 of 24")
    expect(page.locator("#new-role")).to_have_value("")  # no role until one is chosen
    page.screenshot(path=SCREENSHOTS / f"users-staff-{width}.png", full_page=True)

    # Your own row offers no role menu and no deactivation.
    page.fill("#users-q", "owner@")
    expect(table).to_contain_text("your login")
    expect(table.get_by_role("button")).to_have_count(0)

    # Search as you type: only the table changes, the URL keeps the search.
    page.fill("#users-q", "ana")
    expect(table).not_to_contain_text("helper00@store.example")
    expect(table).to_contain_text("ana@store.example")
    expect(page).to_have_url(re.compile(r"q=ana"))
    page.screenshot(path=SCREENSHOTS / f"users-search-{width}.png", full_page=True)

    # A role change names the person and old → new before anything is sent.
    page.get_by_role("button", name=re.compile("Role of ana@store.example")).click()
    page.locator("#users .dropdown-menu.show button", has_text="Support").click()
    modal = page.locator("#confirm-modal")
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("ana@store.example: Finance → Support?")
    page.wait_for_timeout(400)  # the modal's fade, for the screenshot only
    page.screenshot(path=SCREENSHOTS / f"users-confirm-role-{width}.png")
    modal.get_by_role("button", name="Cancel").click()
    expect(modal).to_be_hidden()
    expect(table).to_contain_text("Finance")  # nothing changed

    # Deactivating asks too; confirmed, the login is off and the search is kept.
    page.get_by_role("button", name="Deactivate ana@store.example").click()
    expect(modal).to_contain_text("Their sessions end now and they can no longer log in.")
    modal.get_by_role("button", name="Deactivate").click()
    expect(page).to_have_url(re.compile(r"/admin/users\?tab=staff&q=ana"))
    expect(page.get_by_role("button", name="Reactivate ana@store.example")).to_be_visible()

    # The customers' tab, with the accounts each customer holds.
    page.get_by_role("link", name=re.compile("Customers")).click()
    expect(page).to_have_url(re.compile(r"tab=customers"))
    expect(table).to_contain_text("client0@shop.example")
    expect(table).to_contain_text("1 account")
    expect(table).not_to_contain_text("ana@store.example")
    page.screenshot(path=SCREENSHOTS / f"users-customers-{width}.png", full_page=True)
