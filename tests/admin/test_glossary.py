"""One glossary for the UI (issue 11, item 9): every page a person reads says Open (an
invoice stored as "Opened"), Pre-authorized, Available, Overdue and Due today, and none of
their old variants; the stored value stays in forms, URLs and the API. Also: the invoices
table can select the page's rows (item 6), and every control a page shows is named (item 11).
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from portal import credit, labels, people
from portal.models import ImportBatch, Invoice

from ..conftest import ROLE_PASSWORD

# Attributes whose text a person reads or hears (values, URLs and ids are not).
SPOKEN = {
    "aria-label",
    "title",
    "placeholder",
    "alt",
    "data-label",
    "hx-confirm",
    "data-confirm",
    "data-confirm-title",
    "data-confirm-button",
    "data-confirm-cancel",
}
# The glossary's word → the variants it replaces (whole words, any case).
BANNED = {
    "Pre-authorized": [r"\bheld\b", r"\breserved\b", r"\bon hold amount\b", r"\bpre-auth\b"],
    "Available": [r"\bbalance available\b", r"\bfree\b", r"\bremaining credit\b"],
    "Overdue": [r"\blate\b(?! fee)", r"\bpast due\b"],
    "Due today": [r"\bowed today\b", r"\bamount due now\b"],
}


class _Page(HTMLParser):
    """The text a person reads on a page, and its form controls with how they are named."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, dict, bool]] = []  # (tag, attributes, inside a <label>)
        self._skip = 0
        self._labels = 0

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "label":
            self._labels += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        if tag in ("input", "select", "textarea"):
            self.controls.append((tag, attrs, self._labels > 0))
        self.text.extend(value for name, value in attrs.items() if name in SPOKEN)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "label":
            self._labels = max(0, self._labels - 1)

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def read(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def visible(html: str) -> str:
    """The page's text as one line, spoken attributes included."""
    return " ".join(" ".join(read(html).text).split())


def check_glossary(html: str, where: str) -> str:
    """No stored status and no old variant in what a person reads; every control named."""
    text = visible(html)
    assert not re.search(r"\bOpened\b", text), (where, _around(text, r"\bOpened\b"))
    for word, variants in BANNED.items():
        for variant in variants:
            found = re.search(variant, text, re.I)
            assert not found, (where, f"{found.group(0)!r}, not {word!r}", _around(text, variant))
    page = read(html)
    for tag, attrs, wrapped in page.controls:
        if attrs.get("type") == "hidden":
            continue
        named = (
            wrapped
            or attrs.get("aria-label")
            or attrs.get("aria-labelledby")
            or attrs.get("id") in page.label_for
        )
        assert named, (where, f"<{tag}> without a label", attrs)
    return text


def _around(text: str, pattern: str) -> str:
    found = re.search(pattern, text, re.I)
    return text[max(0, found.start() - 60) : found.end() + 60] if found else ""


@pytest.fixture
def store(session, make_account, purchase, settings):
    """One account: 300 billed in three (the first 10 days overdue, the third paid), 50
    pre-authorized, 100 billed and cancelled."""
    settings(late_fee_rate="0.02", daily_interest_rate="0.001")
    account = make_account(limit="1000", name="Glossary Ltda")
    billed = purchase(account, "300", term="30/60/90", order_id="ORD-1")
    purchase(account, "50", settle=False, order_id="ORD-2")
    dropped = purchase(account, "100", order_id="ORD-3")
    credit.cancel_invoice(session, account.id, f"{dropped.id}-01", actor="test")
    credit.pay_invoice(session, account.id, f"{billed.id}-03", actor="test")
    overdue = credit.get_invoice(session, account.id, f"{billed.id}-01")
    overdue.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=10)
    session.commit()
    return account, billed


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def test_one_place_names_the_statuses():
    assert labels.status_label("Opened") == "Open"
    assert [labels.status_label(s) for s in ("Paid", "Cancelled")] == ["Paid", "Cancelled"]
    assert labels.status_label("Whatever") == "Whatever"
    assert [value for value, _label in labels.invoice_status_choices()] == [
        "Opened",
        "Overdue",
        "Paid",
        "Cancelled",
    ]
    assert labels.refusal("The invoice is Paid, not Opened.") == "The invoice is Paid, not Open."


def test_the_invoices_list_says_open_and_keeps_the_stored_value(client, login, store):
    login("finance")
    html = _get(client, "/admin/invoices")
    text = check_glossary(html, "invoices list")
    assert re.search(r'<span class="badge text-bg-primary">Open</span>', html)
    assert re.search(r'<option value="Opened"\s*>Open</option>', html)
    assert "Due today" in text and "Overdue" in text
    # item 6: the page's rows, and all rows matching the filter
    assert re.search(
        r'<input[^>]*aria-label="Select all invoices on this page"[^>]*data-check-all=', html
    )
    assert "Select all 4 matching" in text
    # ?status=Opened still filters, and the select shows it chosen, as Open
    filtered = _get(client, "/admin/invoices?status=Opened")
    check_glossary(filtered, "invoices list filtered on Opened")
    assert re.search(r'<option value="Opened"\s*selected\s*>Open</option>', filtered)
    assert filtered.count('data-status="Opened"') == 2 and 'data-status="Paid"' not in filtered


def test_the_invoice_page_says_open_overdue_and_due_today(client, login, store):
    _account, billed = store
    login("support")
    text = check_glossary(_get(client, f"/admin/invoices/{billed.id}-01"), "invoice page")
    assert "Open" in text and "Overdue" in text and "Due today" in text
    assert "10 days overdue" in text
    paid = check_glossary(_get(client, f"/admin/invoices/{billed.id}-03"), "paid invoice page")
    assert "Nothing: the invoice is paid." in paid


def test_the_account_page_says_the_glossary(client, login, store):
    account, _billed = store
    login("owner")
    html = _get(client, f"/admin/accounts/{account.id}")
    text = check_glossary(html, "account page")
    for word in ("Pre-authorized", "Available", "Due today", "Overdue"):
        assert word in text, word
    invoices = html.split('id="account-invoices"')[1].split("</table>")[0]
    assert visible(invoices).count("Open") == 2 and "Opened" not in visible(invoices)


def test_the_dashboard_and_the_audit_log_say_the_glossary(client, login, store):
    login("owner")
    text = check_glossary(_get(client, "/admin"), "dashboard")
    for word in ("Pre-authorized", "Available", "Open invoices", "Overdue"):
        assert word in text, word
    check_glossary(_get(client, "/admin/audit"), "audit log")


def test_my_credits_says_the_glossary(app, client, session, store):
    account, _billed = store
    people.create_user(session, account.email, "customer", actor="test", password=ROLE_PASSWORD)
    client.post("/login", data={"email": account.email, "password": ROLE_PASSWORD})
    text = check_glossary(_get(client, "/my-credits"), "My Credits")
    for word in ("Pre-authorized", "Available", "Open", "Due today", "Overdue"):
        assert word in text, word
    for tab in ("paid", "cancelled"):
        check_glossary(_get(client, f"/my-credits?tab={tab}"), f"My Credits, {tab}")


def test_the_import_preview_says_open(client, login, session, store):
    _account, billed = store
    login("owner")
    paid = f"{billed.id}-03"
    body = f"Invoice id,Status\n{paid},Opened\n"
    data = {"kind": "invoices", "file": (io.BytesIO(body.encode()), "invoices.csv")}
    response = client.post("/admin/imports", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    html = _get(client, response.location)
    text = check_glossary(html, "import preview")
    change = html.split('data-change="status"')[1].split("</li>")[0]
    assert re.search(r"<del[^>]*>Paid</del>", change) and re.search(r"<ins[^>]*>Open</ins>", change)
    assert "Invoice and its changes" in text
    assert session.scalar(select(ImportBatch.id)) is not None
    assert session.get(Invoice, paid).status == "Paid"  # a preview changes nothing
