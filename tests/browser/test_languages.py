"""A customer's pages in each language, in Chromium (issue 13): log in, My Credits, checkout.

The browser asks for pt-BR, es or en (Accept-Language); money must be written the
language's way and, in pt_BR and es, no English label or sentence of the catalog may be
left on the page. The .po catalogs are compiled into a temporary folder for the server,
so the test does not depend on `make setup` having built the .mo files. Screenshots at
1366 and 390 px land in tests/browser/screenshots/lang-<code>-<page>-<width>.png
(git-ignored).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Page, expect

from portal import credit, people
from portal.extensions import db
from portal.models import Invoice

from ..conftest import ROLE_PASSWORD
from .conftest import CATALOGS, compiled_catalogs

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).parent / "screenshots"
EMAIL = "compras@papelaria.example"
WIDTHS = {1366: 900, 390: 844}
LANGUAGES = {"pt_BR": "pt-BR,pt;q=0.9", "es": "es-419,es;q=0.9", "en": "en-US,en;q=0.9"}
# Amounts each page shows, as the language writes them (the store's currency is BRL).
MONEY = {"pt_BR": "R$ {:,.2f}", "es": "R$ {:,.2f}", "en": "R${:,.2f}"}
AMOUNTS = {
    "mycredits": ("1234.56", "5000.00"),  # an installment of 2,469.12 on 30/60; the limit
    "checkout": ("2530.88", "1290.00"),  # available after it; the chair of the demo cart
}
# Words the same in every language: brand names and the like.
BRANDS = {"Customer Credit", "Pix"}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd%]|\{[A-Za-z]+\}")


@pytest.fixture
def live_config(tmp_path) -> dict:
    return compiled_catalogs(tmp_path / "translations")


def english_phrases(language: str) -> list[str]:
    """The catalog's English labels and sentences (≥ 2 words) that `language` translates
    differently, split at their placeholders: none of them may appear on its pages."""
    with open(CATALOGS / "messages.pot", "rb") as file:
        template = read_po(file)
    with open(CATALOGS / language / "LC_MESSAGES" / "messages.po", "rb") as file:
        catalog = read_po(file, locale=language)
    phrases = set()
    for message in template:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        translated = catalog.get(ids[0])
        strings = translated.string if translated else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        for msgid in ids:
            if not msgid or msgid in strings or msgid in BRANDS:
                continue
            for part in PLACEHOLDER.split(msgid):
                part = " ".join(part.split()).strip(' .,:;·—–()"?!')
                if len(re.findall(r"[A-Za-z]{2,}", part)) >= 2 and part not in BRANDS:
                    phrases.add(part)
    return sorted(phrases)


def arrange(app) -> str:
    """A customer whose account has open invoices (one holding it), tolerance and a help
    line; returns the friendly id of the overdue invoice."""
    with app.app_context():
        session = db.session
        credit.update_settings(
            session,
            {
                "tolerance_enabled": True,
                "late_fee_rate": "0.02",
                "daily_interest_rate": "0.001",
                "overdue_hold_days": 5,
                "support_email": "ajuda@papelaria.example",
            },
            "test",
        )
        credit.save_term(session, "30", "test")
        credit.save_term(session, "30/60", "test")
        account = credit.open_account(
            session,
            document="52998224725",
            document_type="CPF",
            email=EMAIL,
            credit_limit="5000",
            tolerance="0.1",
            name="Papelaria Central",
            actor="test",
        )
        people.create_user(session, EMAIL, "customer", actor="test", password=ROLE_PASSWORD)
        hold = credit.authorize(session, account.id, "2469.12", actor="test", payment_term="30/60")
        credit.settle(session, account.id, hold.id, "2469.12", actor="test")
        first = session.query(Invoice).order_by(Invoice.installment).first()
        first.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=12)
        session.commit()
        friendly = first.friendly_id
        session.remove()
    return friendly


def written(code: str, amount: str) -> str:
    """An amount as `code` writes it: R$ 1.234,56 (pt_BR, es) or R$1,234.56 (en)."""
    text = MONEY[code].format(Decimal(amount))
    if code != "en":
        text = text.translate(str.maketrans({",": ".", ".": ","}))
    return text


def visible_text(page: Page) -> str:
    """The page's visible text, one space for any run of white space (no-break included)."""
    return " ".join(page.inner_text("body").split())


def snap(page: Page, code: str, name: str) -> None:
    """Screenshots of the page at each width."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=SCREENSHOTS / f"lang-{code}-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def english_left(text: str, phrases: list[str]) -> list[str]:
    """The English phrases found in `text` (whole words, any case: labels are uppercased)."""
    lowered = text.lower()
    return [p for p in phrases if re.search(rf"(?<!\w){re.escape(p.lower())}(?!\w)", lowered)]


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_customer_pages_in_each_language(server, browser, code):
    app, url = server.app, server.url
    overdue = arrange(app)
    context = browser.new_context(
        locale=LANGUAGES[code].split(",")[0],
        extra_http_headers={"Accept-Language": LANGUAGES[code]},
        viewport={"width": 1366, "height": 900},
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(f"{url}/login")
        expect(page.locator("html")).to_have_attribute("lang", code.replace("_", "-"))
        page.locator("input[name=email]").fill(EMAIL)
        page.locator("input[name=password]").fill(ROLE_PASSWORD)
        page.locator("form button[type=submit]").first.click()
        expect(page).to_have_url(re.compile(r"/my-credits$"))
        expect(page.locator("#on-hold-warning")).to_contain_text(overdue)
        pages = {"mycredits": visible_text(page)}
        snap(page, code, "mycredits")

        page.goto(f"{url}/checkout")
        expect(page.locator("#available-credit")).to_be_visible()
        pages["checkout"] = visible_text(page)
        snap(page, code, "checkout")
    finally:
        context.close()
    assert not problems, problems

    for name, text in pages.items():
        for amount in AMOUNTS[name]:
            assert written(code, amount) in text, (name, amount, text[:300])
    if code != "en":
        phrases = english_phrases(code)
        for name, text in pages.items():
            assert english_left(text, phrases) == [], (name, english_left(text, phrases))
