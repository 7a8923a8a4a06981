"""The customer's pages on a phone (390 × 844) and on a laptop (1366 × 900), in Chromium.

A customer with several invoices (overdue, partly paid, with and without a pay link, paid,
cancelled) and a second, shared account opens My Credits, its three invoice tabs, checkout,
an order, a printable invoice and statement, in English and in Portuguese (their saved
language: the longer labels). At 390 px nothing scrolls sideways, neither the page nor a
table inside it: the tables of My Credits and checkout are stacks of cards (`.table-stack`,
static/css/portal.css), each value with its label, the Pay and document buttons big
enough for a finger. At 1366 px they are tables as before. Screenshots of every page at
both widths land in tests/browser/screenshots/phone-<language>-<page>-<width>.png
(git-ignored) for looking at.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal import credit, people
from portal.extensions import db
from portal.models import Invoice

from ..conftest import ROLE_PASSWORD
from .conftest import compiled_catalogs, log_in

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).parent / "screenshots"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
EMAIL = "financeiro.contas-a-pagar@distribuidora-albuquerque.example"
LONG_NAME = "Comercial Distribuidora de Materiais de Escritório Irmãos Albuquerque Ltda"
ORDER = "ORD-2026-0000001-MARKETPLACE"

# What scrolls sideways: the page, any element wider than its scroll box (a table in its
# .table-responsive wrapper), and the visible elements sticking out past the page's edge.
OVERFLOW = """
() => {
  const doc = document.documentElement;
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!el.checkVisibility()) continue;
    const box = el.getBoundingClientRect();
    const name = `${el.localName}${el.id ? "#" + el.id : ""}.${[...el.classList].join(".")}`;
    if (box.width && box.right > window.innerWidth + 1) {
      wide.push(`${name} right=${Math.round(box.right)}`);
    }
    const style = getComputedStyle(el);
    if (["auto", "scroll"].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
      wide.push(`${name} scrolls ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  return {scroll: doc.scrollWidth, inner: window.innerWidth, wide: wide.slice(0, 8)};
}
"""

# Each card of a stacked table: its display, and each visible cell's label as shown
# (the ::before content), its text and whether it sticks out of the card.
CARDS = """
(rows) => rows.map((row) => {
  const card = row.getBoundingClientRect();
  const cells = [...row.children].filter((cell) => cell.checkVisibility()).map((cell) => {
    const box = cell.getBoundingClientRect();
    return {
      label: cell.dataset.label || null,
      shown: getComputedStyle(cell, "::before").content,
      text: cell.innerText.replace(/\\s+/g, " ").trim(),
      filled: Boolean(cell.innerText.trim() || cell.querySelector("input")),
      inside: box.left >= card.left - 1 && box.right <= card.right + 1,
    };
  });
  return {id: row.id, display: getComputedStyle(row).display, cells};
})
"""

# The visible buttons and links of the cards: their names and sizes.
TARGETS = """
(els) => els.filter((el) => el.checkVisibility()).map((el) => {
  const box = el.getBoundingClientRect();
  return {text: el.innerText.trim(), width: Math.round(box.width), height: Math.round(box.height)};
})
"""


@pytest.fixture
def live_config(tmp_path) -> dict:
    return compiled_catalogs(tmp_path / "translations")


def arrange(app, language: str) -> dict:
    """A customer (saved language `language`) holding a long-named account with six
    invoices: overdue and partly paid with its own pay link, open with a link, open
    without one, two paid, one cancelled; and a dependent of a second, shared account."""
    with app.app_context():
        session = db.session
        credit.update_settings(
            session,
            {
                "late_fee_rate": "0.02",
                "daily_interest_rate": "0.001",
                "payment_instructions": "Pay by Pix or bank transfer before the due date.",
                "bank_details": "Banco do Brasil (001)\nAgência 1234-5 · Conta 67890-1",
                "pix_key": "financeiro@papelaria-central.example",
            },
            "test",
        )
        credit.save_term(session, "30", "test")
        credit.save_term(session, "30/60/90", "test")
        account = credit.open_account(
            session,
            document="52998224725",
            document_type="CPF",
            email=EMAIL,
            credit_limit="50000",
            name=LONG_NAME,
            actor="test",
        )
        shared = credit.open_account(
            session,
            document="11144477735",
            document_type="CPF",
            email="owner@family.example",
            credit_limit="2000",
            name="Family Store",
            actor="test",
        )
        credit.add_holder(session, shared.id, EMAIL, actor="test", spending_cap="500")
        user = people.create_user(session, EMAIL, "customer", actor="test", password=ROLE_PASSWORD)
        people.set_language(session, user.id, language)
        for value, order in (("12345.67", ORDER), ("3000", "ORD-2026-0000002-MARKETPLACE")):
            hold = credit.authorize(
                session, account.id, value, actor="test", payment_term="30/60/90", order_id=order
            )
            credit.settle(session, account.id, hold.id, value, actor="test")
        today = credit.store_today(credit.get_settings(session))
        rows = session.scalars(
            select(Invoice)
            .where(Invoice.account_id == account.id)
            .order_by(Invoice.order_id, Invoice.installment)
        ).all()
        for n, invoice in enumerate(rows):
            invoice.due_date = today + timedelta(days=30 * n - 12)
        session.commit()
        late, linked, plain, paid, cancelled, paid_too = rows
        credit.pay_invoice(session, account.id, late.id, "1000", actor="test")
        for invoice, link in ((late, "late"), (linked, "linked")):
            credit.annotate_invoice(
                session,
                account.id,
                invoice.id,
                actor="test",
                payment_link=f"https://pay.example/checkout/{link}-0123456789abcdef0123456789",
            )
        credit.pay_invoice(session, account.id, paid.id, actor="test")
        credit.pay_invoice(session, account.id, paid_too.id, actor="test")
        credit.cancel_invoice(session, account.id, cancelled.id, actor="test")
        data = {
            "account": account.id,
            "shared": shared.id,
            "open": [late.friendly_id, linked.friendly_id, plain.friendly_id],
            "linked": [late.friendly_id, linked.friendly_id],
            "paid": [paid.friendly_id, paid_too.friendly_id],
            "cancelled": [cancelled.friendly_id],
            "invoice": late.id,
        }
        session.remove()
    return data


def fits(page: Page, where: str) -> None:
    """Nothing on the page scrolls sideways (the page, or a table in its wrapper)."""
    sizes = page.evaluate(OVERFLOW)
    assert sizes["scroll"] <= sizes["inner"], (where, sizes)
    assert sizes["wide"] == [], (where, sizes)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), where


def shoot(page: Page, language: str, name: str) -> None:
    """A full-page screenshot at the page's current width."""
    SCREENSHOTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=SCREENSHOTS / f"phone-{language}-{name}-{width}.png", full_page=True)


def visit(page: Page, url: str, language: str, name: str) -> None:
    """Open `url` at 1366 and at 390 px: a screenshot at each, nothing scrolls sideways."""
    for size in (LAPTOP, PHONE):
        page.set_viewport_size(size)
        response = page.goto(url)
        assert response is not None and response.ok, (url, response and response.status)
        page.wait_for_load_state("networkidle")
        shoot(page, language, name)
        fits(page, f"{name} at {size['width']} px")


# The labels of the cards, as the table headers say them.
LABELS = {
    "en": {
        "open": ["Invoice", "Order", "Installment", "Due date", "Amount", "Due today"],
        "paid": ["Invoice", "Order", "Installment", "Due date", "Amount", "Paid on"],
        "cancelled": ["Invoice", "Order", "Installment", "Due date", "Amount", "Cancelled on"],
        "history": ["Date", "Description", "Value", "Available after"],
        "cart": ["Product", "Unit price", "Quantity"],
    },
    "pt_BR": {
        "open": ["Fatura", "Pedido", "Parcela", "Vencimento", "Valor", "A pagar hoje"],
        "paid": ["Fatura", "Pedido", "Parcela", "Vencimento", "Valor", "Paga em"],
        "cancelled": ["Fatura", "Pedido", "Parcela", "Vencimento", "Valor", "Cancelada em"],
        "history": ["Data", "Descrição", "Valor", "Disponível depois"],
        "cart": ["Produto", "Preço unitário", "Quantidade"],
    },
}
PAY = {"en": "Pay ", "pt_BR": "Pagar "}
FINGER = 44  # px: the height of a button a finger hits


def cards(page: Page, table: str, labels: list[str], ids: list[str] | None = None) -> list:
    """At 390 px: each row of `table` is a card whose cells show their labels, in order,
    inside the card; returns the cards."""
    found = page.locator(f"{table} > tbody > tr").evaluate_all(CARDS)
    assert found, table
    if ids is not None:
        assert sorted(card["id"].removeprefix("invoice-") for card in found) == sorted(ids)
    for card in found:
        assert card["display"] == "block", (table, card)
        labelled = [cell for cell in card["cells"] if cell["label"]]
        assert [cell["label"] for cell in labelled] == labels, (table, card)
        for cell in labelled:
            assert cell["shown"] == f'"{cell["label"]}"', (table, cell)  # the label is shown
            assert cell["filled"], (table, cell)  # a value (or a field) beside it
        assert all(cell["inside"] for cell in card["cells"]), (table, card)
    return found


def touch_targets(page: Page, row: str, expected: list[str]) -> None:
    """The visible buttons of a card: `expected` (their texts start so), a finger's size."""
    targets = page.locator(f"{row} .btn").evaluate_all(TARGETS)
    assert len(targets) == len(expected), (row, targets)
    for target, text in zip(targets, expected, strict=True):
        assert target["text"].startswith(text), (row, targets)
        assert target["height"] >= FINGER and target["width"] >= FINGER, (row, targets)


@pytest.mark.parametrize("language", ["en", "pt_BR"])
def test_customer_pages_fit_a_phone(server, page: Page, language: str):
    app, url = server.app, server.url
    data = arrange(app, language)
    labels, pay = LABELS[language], PAY[language]
    log_in(page, url, EMAIL, landing=r"/my-credits$")
    expect(page.locator("html")).to_have_attribute("lang", language.replace("_", "-"))
    invoices = "#invoices-table"

    # My Credits, open invoices: at 1366 px a table (Pay in its own column), at 390 px a
    # card per invoice, its labels, then Pay (when it has a link), Print and PDF.
    visit(page, f"{url}/my-credits", language, "mycredits-open")
    for fid in data["open"]:
        linked = [pay] if fid in data["linked"] else []
        touch_targets(page, f"#invoice-{fid}", [*linked, "", ""])  # Pay, Print, PDF
    cards(page, invoices, labels["open"], data["open"])
    cards(page, "#history-table", labels["history"])
    page.set_viewport_size(LAPTOP)
    assert (
        page.locator(f"{invoices} > tbody > tr").first.evaluate("e => getComputedStyle(e).display")
        == "table-row"
    )
    headers = page.locator(f"{invoices} > thead th").all_inner_texts()
    assert [h.strip() for h in headers][:-1] == labels["open"], headers  # then Action
    for fid in data["open"]:
        buttons = page.locator(f"#invoice-{fid} .btn").evaluate_all(TARGETS)
        assert [b["text"][: len(pay)] for b in buttons] == (
            [pay] if fid in data["linked"] else []
        ), (fid, buttons)
    history = page.locator("#history-table > thead th").all_inner_texts()
    assert [h.strip() for h in history] == labels["history"], history

    # The paid and cancelled tabs.
    for tab in ("paid", "cancelled"):
        visit(page, f"{url}/my-credits?tab={tab}", language, f"mycredits-{tab}")
        cards(page, invoices, labels[tab], data[tab])
        for fid in data[tab]:
            touch_targets(page, f"#invoice-{fid}", ["", ""])

    # The shared account (a dependent's spending cap, no invoices yet).
    visit(page, f"{url}/my-credits?account={data['shared']}", language, "mycredits-shared")
    expect(page.locator("#spending-cap")).to_be_visible()

    # Checkout: each product of the cart a card with its quantity field.
    visit(page, f"{url}/checkout", language, "checkout")
    cards(page, "#cart-table", labels["cart"])
    sizes = page.locator("#cart-table .qty-input").evaluate_all(TARGETS)
    assert sizes and all(size["height"] >= FINGER for size in sizes), sizes

    # The printable invoice and statement (A4 sheets, on a phone the width of the screen).
    visit(page, f"{url}/my-credits/invoices/{data['invoice']}/print", language, "invoice-print")
    visit(page, f"{url}/my-credits/statement/print", language, "statement-print")

    # An order placed at checkout: its confirmation and installments.
    page.set_viewport_size(LAPTOP)
    page.goto(f"{url}/checkout")
    page.locator("#place-order-button").click()
    expect(page.locator("#order-id")).to_be_visible()
    visit(page, page.url, language, "order")
