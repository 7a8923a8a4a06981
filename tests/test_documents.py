"""Printable invoices and statements: every field on the page, the same page as a PDF,
only one's own documents for customers, strict periods, and a PDF renderer that fetches
nothing over the network."""

from __future__ import annotations

import html
import io
import socket
import struct
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

import portal
from portal import credit, documents, i18n, people
from portal.credit.logo import save_logo
from portal.documents import pdf, statement
from portal.models import Invoice, StatementEntry

from .conftest import ROLE_PASSWORD

STATIC = Path(portal.__file__).resolve().parent.parent / "static"
STORE = {
    "trade_name": "Loja Serra Azul",
    "legal_name": "Serra Azul Comércio Ltda",
    "tax_id": "11222333000181",
    "address": "Rua das Flores, 100\nSão Paulo - SP",
    "support_email": "ajuda@serra.example",
    "support_phone": "+55 11 4000-1234",
    "late_fee_rate": "0.02",
    "daily_interest_rate": "0.001",
    "payment_instructions": "Pay by bank slip or Pix before the due date.",
    "bank_details": "Banco 001, agência 1234, conta 56789-0",
    "pix_key": "pix@serra.example",
}


def _customer(session, login, account):
    user = people.create_user(session, account.email, "customer", actor="t", password=ROLE_PASSWORD)
    return login(user=user)


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


@pytest.fixture
def overdue_invoice(session, make_account, purchase, settings):
    """Installment 2 of 3 of order ORD-42, R$40 paid, 10 days overdue, with its own Pay link."""
    settings(**STORE)
    account = make_account(limit="5000", name="Café Serra Azul", email="cafe@serra.example")
    hold = purchase(account, "300", term="30/60/90", order_id="ORD-42")
    invoice_id = f"{hold.id}-02"
    credit.pay_invoice(session, account.id, invoice_id, "40", actor="finance@store.example")
    credit.annotate_invoice(
        session,
        account.id,
        invoice_id,
        actor="finance@store.example",
        payment_link="https://pay.example/invoice/2?ref=abc",
    )
    invoice = credit.get_invoice(session, account.id, invoice_id)
    invoice.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=10)
    session.commit()
    return invoice


def _assert_every_invoice_field(app, page: str, invoice: Invoice) -> None:
    with app.test_request_context():
        due_date = i18n.day(invoice.due_date)
    expected = [
        "Loja Serra Azul",
        "Serra Azul Comércio Ltda",
        "11.222.333/0001-81",
        "Rua das Flores, 100",
        "ajuda@serra.example",
        "Café Serra Azul",
        invoice.friendly_id,
        "ORD-42",
        "2/3",
        due_date,
        "R$100.00",  # value
        "R$40.00",  # paid
        "R$60.00",  # still to pay
        "R$1.20",  # late fee: 2% of R$60
        "R$0.60",  # interest: 0.1% a day of R$60 for 10 days
        "R$61.80",  # due today
        "https://pay.example/invoice/2?ref=abc",
        "Pay by bank slip or Pix before the due date.",
        "Banco 001, agência 1234",
        "pix@serra.example",
    ]
    for text in expected:
        assert text in page, text
    assert page.split('id="amount-due">')[1].startswith("R$61.80")
    assert page.split('id="late-fee">')[1].startswith("R$1.20")
    assert page.split('id="interest">')[1].startswith("R$0.60")
    assert "<svg" in page.split('id="pay"')[1]


def test_the_printed_invoice_shows_every_field(app, client, session, login, overdue_invoice):
    _customer(session, login, overdue_invoice.account)
    response = client.get(f"/my-credits/invoices/{overdue_invoice.id}/print")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    page = _text(response)
    _assert_every_invoice_field(app, page, overdue_invoice)
    # A page of its own: no app navigation, a toolbar with Print and Download PDF.
    assert "navbar" not in page and "htmx" not in page
    assert "css/print.css" in page and "data-print" in page
    assert f"/my-credits/invoices/{overdue_invoice.id}.pdf" in page


def test_staff_print_the_same_invoice(app, client, session, login, overdue_invoice):
    login("support")
    response = client.get(f"/admin/invoices/{overdue_invoice.id}/print")
    assert response.status_code == 200
    _assert_every_invoice_field(app, _text(response), overdue_invoice)
    assert f"/admin/invoices/{overdue_invoice.id}.pdf" in _text(response)


def test_a_paid_invoice_has_no_pay_link_or_qr(client, session, login, make_account, purchase):
    account = make_account(limit="1000")
    hold = purchase(account, "100")
    invoice_id = f"{hold.id}-01"
    credit.pay_invoice(session, account.id, invoice_id, "100", actor="f")
    login("finance")
    page = _text(client.get(f"/admin/invoices/{invoice_id}/print"))
    assert "<svg" not in page and 'id="pay"' not in page
    assert page.split('id="amount-due">')[1].startswith("R$0.00")
    assert "Paid on" in page


def test_the_invoice_pdf_is_the_same_document(client, session, login, overdue_invoice):
    _customer(session, login, overdue_invoice.account)
    response = client.get(f"/my-credits/invoices/{overdue_invoice.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    disposition = f'attachment; filename="invoice-{overdue_invoice.friendly_id}.pdf"'
    assert response.headers["Content-Disposition"] == disposition
    assert response.headers["Cache-Control"] == "private, no-store"
    body = response.get_data()
    assert body.startswith(b"%PDF") and len(body) > 1000
    text = _pdf_text(body)
    for expected in (overdue_invoice.friendly_id, "ORD-42", "R$61.80", "Loja Serra Azul"):
        assert expected in text, expected
    assert "Download PDF" not in text  # the toolbar is the screen's only


def test_staff_download_the_invoice_pdf_with_the_logo(
    client, session, login, overdue_invoice, monkeypatch
):
    save_logo(session, _png(24, 24), "owner")
    fetched = []
    real = pdf.logo_file
    monkeypatch.setattr(pdf, "logo_file", lambda s: fetched.append(1) or real(s))
    login("finance")
    response = client.get(f"/admin/invoices/{overdue_invoice.id}.pdf")
    assert response.status_code == 200 and response.get_data().startswith(b"%PDF")
    assert overdue_invoice.friendly_id in _pdf_text(response.get_data())
    assert fetched == [1]  # the logo came from the database, not over HTTP


def test_a_link_too_long_for_a_qr_code_is_printed_as_text():
    assert documents.qr_svg("https://pay.example/" + "a" * 200).startswith("<svg")
    assert documents.qr_svg("https://pay.example/" + "a" * 3000) is None


# --- who may print what -----------------------------------------------------------------


def test_customers_print_only_their_own_invoices(
    client, session, login, make_account, purchase, overdue_invoice
):
    other = make_account(limit="1000", email="other@shop.example")
    other_invoice = f"{purchase(other, '50').id}-01"
    _customer(session, login, other)
    for path in (
        f"/my-credits/invoices/{overdue_invoice.id}/print",
        f"/my-credits/invoices/{overdue_invoice.id}.pdf",
        f"/my-credits/invoices/{overdue_invoice.id}/print?account={other.id}",
        "/my-credits/invoices/NOPE-01/print",
        f"/my-credits/statement/print?account={overdue_invoice.account_id}",
        f"/my-credits/statement.pdf?account={overdue_invoice.account_id}",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/my-credits/invoices/{other_invoice}/print").status_code == 200
    for path in (
        f"/admin/invoices/{other_invoice}/print",
        f"/admin/invoices/{other_invoice}.pdf",
        f"/admin/accounts/{other.id}/statement/print",
        f"/admin/accounts/{other.id}/statement.pdf",
    ):
        assert client.get(path).status_code == 403, path


def test_anonymous_visitors_are_sent_to_the_login(client, overdue_invoice):
    for path in (
        f"/my-credits/invoices/{overdue_invoice.id}/print",
        f"/admin/invoices/{overdue_invoice.id}.pdf",
        "/my-credits/statement/print",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location, path


def test_the_pages_link_to_print_and_pdf(client, session, login, overdue_invoice):
    account_id = overdue_invoice.account_id
    login("owner")
    page = _text(client.get(f"/admin/invoices/{overdue_invoice.id}"))
    assert f"/admin/invoices/{overdue_invoice.id}/print" in page
    assert f"/admin/invoices/{overdue_invoice.id}.pdf" in page
    page = _text(client.get(f"/admin/accounts/{account_id}"))
    assert f"/admin/accounts/{account_id}/statement/print" in page
    assert f"/admin/accounts/{account_id}/statement.pdf" in page
    client.post("/logout")
    _customer(session, login, overdue_invoice.account)
    page = _text(client.get("/my-credits"))
    assert f"/my-credits/invoices/{overdue_invoice.id}/print" in page
    assert f"/my-credits/invoices/{overdue_invoice.id}.pdf" in page
    assert f"/my-credits/statement/print?account={account_id}" in page


# --- statements -------------------------------------------------------------------------


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def dated_account(session, make_account, purchase):
    """An account whose entries are spread over Jan–Mar 2024 (São Paulo is UTC-3)."""
    account = make_account(limit="1000", name="Padaria Central")
    hold = purchase(account, "300", term="30/60/90", order_id="ORD-7")
    credit.pay_invoice(session, account.id, f"{hold.id}-01", "100", actor="f")
    credit.adjust_balance(session, account.id, "-5", actor="owner", reason="internal: typo fix")
    entries = session.scalars(
        select(StatementEntry)
        .where(StatementEntry.account_id == account.id)
        .order_by(StatementEntry.id)
    ).all()
    assert [e.origin for e in entries] == [
        "Credit",
        "Invoice",
        "Invoice",
        "Invoice",
        "Payment",
        "Statement",
    ]
    when = [
        "2024-01-10T12:00:00",  # the limit: before the period
        "2024-02-01T02:00:00",  # 2024-01-31 23:00 in São Paulo: before the period too
        "2024-02-01T03:00:00",  # 2024-02-01 00:00 in São Paulo: the first instant in it
        "2024-02-15T12:00:00",
        "2024-03-31T23:00:00",  # 20:00 on the period's last day
        "2024-04-01T03:00:00",  # the next day in São Paulo: after the period
    ]
    for entry, moment in zip(entries, when, strict=True):
        session.execute(
            update(StatementEntry)
            .where(StatementEntry.id == entry.id)
            .values(created_at=_moment(moment))
        )
    session.commit()
    return account


def test_the_statement_of_a_period_adds_up(app, session, dated_account):
    settings = credit.get_settings(session)
    period = documents.Period(date(2024, 2, 1), date(2024, 3, 31))
    with app.test_request_context():
        doc = documents.period_statement(session, dated_account, period, settings, date.today())
    assert doc.opening == Decimal("900.00")  # the limit, less the invoice of Jan 31 (local)
    assert [line.entry.origin for line in doc.lines] == ["Invoice", "Invoice", "Payment"]
    assert (doc.credits, doc.debits) == (Decimal("100.00"), Decimal("-200.00"))
    assert doc.opening + sum(line.entry.value for line in doc.lines) == doc.closing
    assert doc.closing == doc.lines[-1].balance == Decimal("800.00")
    assert [line.day for line in doc.lines] == [
        date(2024, 2, 1),
        date(2024, 2, 15),
        date(2024, 3, 31),
    ]


def test_the_printed_statement_shows_opening_and_closing(client, login, dated_account):
    login("support")
    url = f"/admin/accounts/{dated_account.id}/statement/print?from=2024-02-01&to=2024-03-31"
    response = client.get(url)
    assert response.status_code == 200
    page = _text(response)
    assert page.split('id="opening">')[1].startswith("R$900.00")
    assert page.split('id="closing">')[1].startswith("R$800.00")
    assert "Padaria Central" in page and "ORD-7" in page
    assert "internal: typo fix" not in page  # staff reasons stay in the back-office
    assert (
        f"/admin/accounts/{dated_account.id}/statement.pdf?from=2024-02-01&amp;to=2024-03-31"
        in response.get_data(as_text=True)
    )


def test_the_customer_statement_pdf(client, session, login, dated_account):
    _customer(session, login, dated_account)
    response = client.get(
        f"/my-credits/statement.pdf?account={dated_account.id}&from=2024-02-01&to=2024-03-31"
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    name = f"statement-{dated_account.id}-2024-02-01-2024-03-31.pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    text = _pdf_text(response.get_data())
    assert "R$900.00" in text and "R$800.00" in text and "Padaria Central" in text


def test_the_default_period_is_the_current_month(client, session, login, dated_account):
    _customer(session, login, dated_account)
    response = client.get("/my-credits/statement/print")
    assert response.status_code == 200
    today = credit.store_today(credit.get_settings(session))
    page = response.get_data(as_text=True)
    assert f'name="from" value="{today.replace(day=1).isoformat()}"' in page
    # Every entry of 2024 is before this month: the opening balance is the closing one.
    assert _text(response).split('id="opening">')[1].startswith("R$795.00")
    assert _text(response).split('id="closing">')[1].startswith("R$795.00")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2024-13-01&to=2024-12-31", "from"),
        ("from=2024-01-01", "to"),
        ("to=2024-01-31", "from"),
        ("from=2024-01-01&to=", "to"),
        ("from=2024-01-01&to=abc", "to"),
        ("from=2024-01-01T00:00:00&to=2024-01-31", "from"),
        ("from=%C2%B2&to=2024-01-31", "from"),
        ("from=2024-03-01&to=2024-02-01", "to"),
        ("from=2023-01-01&to=2024-01-02", "to"),  # 367 days
    ],
)
def test_bad_periods_are_refused_naming_the_field(client, login, make_account, query, field):
    account = make_account()
    login("owner")
    for path in ("statement/print", "statement.pdf"):
        response = client.get(f"/admin/accounts/{account.id}/{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert f'"{field}"' in _text(response).lower(), (path, query)  # its label


def test_a_year_is_the_longest_period(client, login, make_account):
    account = make_account()
    login("owner")
    url = f"/admin/accounts/{account.id}/statement/print?from=2024-01-01&to=2024-12-31"
    assert client.get(url).status_code == 200  # 366 days (a leap year)


def test_too_many_entries_ask_for_a_shorter_period(
    client, session, login, dated_account, monkeypatch
):
    monkeypatch.setattr(statement, "MAX_ENTRIES", 2)
    _customer(session, login, dated_account)
    query = f"account={dated_account.id}&from=2024-02-01&to=2024-03-31"
    for path in ("/my-credits/statement/print", "/my-credits/statement.pdf"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400
        assert "choose a shorter period" in _text(response)
    assert client.get(f"/my-credits/statement/print?{query[:-2]}15").status_code == 200


def test_a_pdf_takes_fewer_entries_than_the_page(client, login, dated_account, monkeypatch):
    monkeypatch.setattr(statement, "MAX_PDF_ENTRIES", 2)
    login("finance")
    query = "from=2024-02-01&to=2024-03-31"
    assert (
        client.get(f"/admin/accounts/{dated_account.id}/statement/print?{query}").status_code == 200
    )
    response = client.get(f"/admin/accounts/{dated_account.id}/statement.pdf?{query}")
    assert response.status_code == 400
    assert "choose a shorter period, or print the page" in _text(response)


# --- the PDF renderer fetches nothing over the network ----------------------------------


def _fetcher(logo=None) -> pdf.LocalFetcher:
    return pdf.LocalFetcher("http://portal.test/", str(STATIC), "/static", lambda: logo)


def test_the_fetcher_serves_static_files_and_the_logo():
    fetcher = _fetcher(logo=(b"\x89PNG...", "image/png"))
    css = fetcher.fetch("http://portal.test/static/css/print.css?v=2")
    assert css.read().startswith(b"/*") and css.headers.get_content_type() == "text/css"
    logo = fetcher.fetch("http://portal.test/store/logo?v=123")
    assert logo.read() == b"\x89PNG..." and logo.headers.get_content_type() == "image/png"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/logo.png",
        "https://example.com/static/css/print.css",
        "http://portal.test.evil.example/static/css/print.css",
        "http://user@evil.example/static/css/print.css",
        "https://portal.test/static/css/print.css",  # another scheme: another origin
        "http://portal.test:8080/static/css/print.css",
        "http://portal.test/admin/accounts",
        "http://portal.test/my-credits/statement.pdf",
        "http://portal.test/store/logo",  # no logo: nothing to serve
        "http://portal.test/static/../portal/config.py",
        "http://portal.test/static/%2e%2e/pyproject.toml",
        "http://portal.test/static/no-such-file.css",
        "file:///etc/passwd",
        "ftp://portal.test/static/css/print.css",
        "data:text/css,body{}",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_the_fetcher_refuses_everything_else(url):
    with pytest.raises(ValueError):
        _fetcher().fetch(url)


def test_rendering_makes_no_network_request(monkeypatch):
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    page = (
        '<link rel="stylesheet" href="https://cdn.example/x.css">'
        '<link rel="stylesheet" href="/static/css/print.css">'
        '<img src="http://example.com/tracker.png"><img src="/admin/accounts">'
        "<p>Invoice ABC123</p>"
    )
    from weasyprint import HTML

    body = HTML(string=page, base_url="http://portal.test/", url_fetcher=_fetcher()).write_pdf()
    assert body.startswith(b"%PDF") and "ABC123" in _pdf_text(body)
    assert attempts == []


def _png(width: int, height: int) -> bytes:
    """A valid RGB PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
