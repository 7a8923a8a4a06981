"""The import preview in Chromium, wide and narrow: old → new per update, the new accounts,
every reason of each rejected row, and an Apply button that says what it will do as the
"only the valid rows" box is ticked (htmx swaps the panel; no inline script).

Screenshots go to tests/browser/screenshots/ (git-ignored) for looking at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from portal import credit, people, uploads
from portal.extensions import db

from ..conftest import ROLE_PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).parent / "screenshots"
OWNER = "owner@store.example"
FILE = (
    "Email,Document,Document Type,Credit limit,Tolerance rate,Name,Dependents\n"
    "finance@acme.example,52998224725,CPF,7500,12.5%,ACME Ltda (Filial 2),kid@acme.example\n"
    "new@zeta.example,11144477735,CPF,3000,0,Zeta SA,\n"
    'not-an-email,52998224724,CPF,"2,500.0.0",11,Bad Row,bad@@x\n'
    ",39053344705,RG,,0,,\n"
)


def _arrange(app) -> int:
    with app.app_context():
        session = db.session
        people.create_user(session, OWNER, "owner", actor="t", password=ROLE_PASSWORD)
        credit.open_account(
            session,
            document="52998224725",
            document_type="CPF",
            email="ana@acme.example",
            name="ACME Ltda",
            credit_limit="5000",
            tolerance="0.1",
            actor="t",
        )
        batch, _plan = uploads.preview_upload(
            session, "accounts", "accounts-march.csv", FILE.encode(), OWNER
        )
        return batch.id


def test_the_import_preview_wide_and_narrow(live_server, page: Page):
    batch_id = _arrange(live_server.app)
    url = f"{live_server.url}/admin/imports/{batch_id}"
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", OWNER)
    page.fill("input[name=password]", ROLE_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin$"))
    SCREENSHOTS.mkdir(exist_ok=True)
    button = page.locator("#apply-button")
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url)
        update = page.locator("#update-rows tr[data-row='2']")
        expect(update).to_contain_text("R$5,000.00")
        expect(update).to_contain_text("R$7,500.00")
        expect(update.locator("[data-change=tolerance] del")).to_have_text("10%")
        expect(update.locator("[data-change=tolerance] ins")).to_have_text("12.5%")
        expect(page.locator("#create-rows tr[data-row='3']")).to_contain_text("new@zeta.example")
        expect(page.locator("#rejected-rows tr[data-row='4'] li")).to_have_count(5)
        expect(page.locator("#rejected-rows tr[data-row='5'] li")).to_have_count(3)
        expect(button).to_have_text("Fix 2 rejected rows to apply all-or-nothing")
        expect(button).to_be_disabled()
        page.screenshot(path=SCREENSHOTS / f"import-preview-{width}.png", full_page=True)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_label("Apply only the valid rows").check()
    expect(button).to_have_text("Apply 2 valid rows, skip 2 rejected")
    expect(button).to_be_enabled()
    expect(page).to_have_url(re.compile(r"only_valid=1"))
    panel = page.locator("#apply-panel")
    panel.screenshot(path=SCREENSHOTS / "import-preview-apply-ticked.png")
    page.get_by_label("Apply only the valid rows").uncheck()
    expect(button).to_have_text("Fix 2 rejected rows to apply all-or-nothing")
    page.get_by_label("Apply only the valid rows").check()
    expect(button).to_be_enabled()
    button.click()
    expect(page.locator("body")).to_contain_text("Applied: 1 created, 1 updated")
