"""In Chromium: an invoice's page explains what is due and tells its history; staff view
My Credits as a holder, read-only, and the visit is in the audit trail."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal import credit, people
from portal.extensions import db
from portal.models import AuditEvent, Holder, Invoice

from ..conftest import ROLE_PASSWORD
from .conftest import log_in, watch

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).parent / "screenshots"
WIDTHS = (1366, 390)
FINANCE = "ana@store.example"


def _arrange(app) -> dict:
    with app.app_context():
        session = db.session
        credit.update_settings(
            session,
            {"late_fee_rate": "0.02", "daily_interest_rate": "0.001", "postponement_enabled": True},
            "t",
        )
        people.create_user(session, FINANCE, "finance", actor="t", password=ROLE_PASSWORD)
        account = credit.open_account(
            session,
            document="52998224725",
            document_type="CPF",
            email="main@family.example",
            name="Family Ltda",
            credit_limit="5000",
            actor="t",
        )
        credit.add_holder(session, account.id, "kid@family.example", actor="t", spending_cap="500")
        hold = credit.authorize(session, account.id, "300", actor="t", payment_term="30/60/90")
        credit.settle(session, account.id, hold.id, "300", actor="t")
        first = f"{hold.id}-01"
        credit.pay_invoice(session, account.id, first, "40", actor=FINANCE)
        credit.postpone_invoice(session, account.id, first, 5, actor=FINANCE)
        invoice = session.get(Invoice, first)
        invoice.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=10)
        session.commit()
        kid = session.scalar(select(Holder).where(Holder.email == "kid@family.example"))
        return {
            "account": account.id,
            "invoice": first,
            "friendly": invoice.friendly_id,
            "kid": kid.id,
        }


def _shots(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}"
    page.set_viewport_size({"width": 1366, "height": 900})


def test_invoice_page_from_the_list_and_its_timeline(live_server, page: Page):
    data = _arrange(live_server.app)
    problems: list[str] = []
    watch(page, problems)
    log_in(page, live_server.url, FINANCE)
    page.goto(f"{live_server.url}/admin/invoices?q={data['friendly']}")
    page.get_by_role("link", name=data["friendly"], exact=True).first.click()
    expect(page).to_have_url(re.compile(f"/admin/invoices/{data['invoice']}$"))
    breakdown = page.locator("#due-breakdown")
    expect(breakdown).to_contain_text("Late fee")
    expect(breakdown).to_contain_text("10 days overdue")
    expect(breakdown).to_contain_text("61.80")  # 60.00 + 1.20 fee + 0.60 interest
    timeline = page.locator("#invoice-timeline li")
    expect(timeline.nth(0)).to_contain_text("Issued")
    expect(timeline.nth(1)).to_contain_text("Payment received")
    expect(timeline.nth(2)).to_contain_text("Due date postponed")
    expect(page.locator("#invoice-timeline")).to_contain_text(FINANCE)
    _shots(page, "invoice-page")
    assert not problems, "\n".join(problems)


def test_view_as_a_dependent_is_read_only_and_audited(live_server, page: Page):
    data = _arrange(live_server.app)
    problems: list[str] = []
    watch(page, problems)
    log_in(page, live_server.url, FINANCE)
    page.goto(f"{live_server.url}/admin/accounts/{data['account']}")
    page.get_by_role("link", name=re.compile("View as customer kid@family.example")).click()
    banner = page.locator("#viewing-as")
    expect(banner).to_contain_text("Viewing as kid@family.example")
    expect(page.locator("main")).to_contain_text("R$500.00")  # the dependent's own cap
    assert page.locator("main form").count() == 0  # nothing to submit from here
    expect(page.get_by_text("Shop on credit")).to_have_count(0)
    page.get_by_role("link", name=re.compile("^Paid")).click()  # the tabs stay in view-as
    expect(page).to_have_url(re.compile(f"/holders/{data['kid']}/view"))
    _shots(page, "view-as")
    assert not problems, "\n".join(problems)
    with live_server.app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "holder.view_as")
        ).all()
        assert [(e.actor, e.details["email"]) for e in events] == [(FINANCE, "kid@family.example")]
