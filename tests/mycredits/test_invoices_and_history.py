"""My Credits, part 2: invoices by status, amounts due, warnings, caps, history and its CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal import credit, people
from portal.i18n import money
from portal.models import Invoice, StatementEntry

from ..conftest import ROLE_PASSWORD


def formatted(app, value: str) -> str:
    """An amount as the page shows it (store currency, English locale)."""
    with app.test_request_context():
        return money(Decimal(value))


def section(html: str, section_id: str) -> str:
    """The HTML of one <section id=…> of the page."""
    start = html.index(f'<section id="{section_id}"')
    return html[start : html.index("</section>", start)]


@pytest.fixture
def customer(session, login):
    """Log the client in as a customer holding (or depending on) an account's e-mail."""

    def make(email: str):
        user = people.create_user(session, email, "customer", actor="test", password=ROLE_PASSWORD)
        return login(user=user)

    return make


def get(client, query: str = "", **headers) -> tuple[int, str]:
    response = client.get("/my-credits" + query, headers=headers)
    return response.status_code, response.get_data(as_text=True)


def invoices_of(session, account) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice).where(Invoice.account_id == account.id).order_by(Invoice.installment)
        )
    )


def make_overdue(session, invoice: Invoice, days: int) -> None:
    invoice.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=days)
    session.commit()


# --- access ----------------------------------------------------------------------------------


def test_statement_csv_of_a_guessed_account_is_404(client, make_account, customer):
    mine, theirs = make_account(), make_account()
    customer(mine.email)
    for guess in (theirs.id, "does-not-exist", "", mine.id.lower()):
        response = client.get("/my-credits/statement.csv", query_string={"account": guess})
        assert response.status_code == 404, guess
        assert b"Credit limit" not in response.data
    assert client.get(f"/my-credits/statement.csv?account={mine.id}").status_code == 200


def test_a_customer_without_accounts_gets_404_for_any_account(
    client, session, make_account, customer
):
    account = make_account()
    holder = credit.add_holder(session, account.id, "gone@example.com", actor="test")
    customer("gone@example.com")
    credit.remove_holder(session, account.id, holder.id, actor="test")
    assert get(client, f"?account={account.id}")[0] == 404
    assert client.get(f"/my-credits/statement.csv?account={account.id}").status_code == 404
    assert client.get("/my-credits/statement.csv").status_code == 404


@pytest.mark.parametrize("role", ["owner", "finance", "support"])
def test_staff_cannot_download_a_customers_statement(client, login, make_account, role):
    account = make_account()
    login(role)
    assert client.get(f"/my-credits/statement.csv?account={account.id}").status_code == 403


def test_statement_csv_is_404_when_the_store_turns_my_credits_off(
    client, make_account, customer, settings
):
    account = make_account()
    customer(account.email)
    settings(my_credits_enabled=False)
    assert client.get(f"/my-credits/statement.csv?account={account.id}").status_code == 404


def test_anonymous_statement_goes_to_login(client, make_account):
    account = make_account()
    response = client.get(f"/my-credits/statement.csv?account={account.id}")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_dependent_sees_the_shared_account_and_their_cap(
    app, client, session, make_account, purchase, customer
):
    account = make_account(limit="1000", name="Family Store")
    credit.add_holder(session, account.id, "kid@example.com", actor="test", spending_cap="300")
    purchase(account, "100", holder_email="kid@example.com")
    purchase(account, "50", settle=False, holder_email="kid@example.com")
    purchase(account, "400")  # the main holder's purchase does not count against the cap
    customer("kid@example.com")
    status, html = get(client)
    assert status == 200 and "Family Store" in html
    start = html.index('id="spending-cap"')
    box = html[start : html.index('<section id="invoices"', start)]
    for amount in ("300.00", "150.00"):
        assert formatted(app, amount) in box, amount
    assert formatted(app, "450.00") in html  # available on the shared limit: 1000 − 500 − 50


def test_main_holder_sees_no_cap(client, session, make_account, customer):
    account = make_account()
    credit.add_holder(session, account.id, "kid@example.com", actor="test", spending_cap="300")
    customer(account.email)
    assert 'id="spending-cap"' not in get(client)[1]


# --- invoices --------------------------------------------------------------------------------


def test_invoices_are_split_into_open_paid_and_cancelled(
    client, session, make_account, purchase, customer
):
    account = make_account(limit="1000")
    purchase(account, "300", term="30/60/90", order_id="ORD-00000001")
    first, second, third = invoices_of(session, account)
    credit.pay_invoice(session, account.id, first.id, actor="test")
    credit.cancel_invoice(session, account.id, second.id, actor="test")
    customer(account.email)

    tabs = {}
    for tab in ("open", "paid", "cancelled"):
        status, html = get(client, f"?tab={tab}")
        assert status == 200
        tabs[tab] = section(html, "invoices")
    assert third.friendly_id in tabs["open"] and first.friendly_id not in tabs["open"]
    assert first.friendly_id in tabs["paid"] and third.friendly_id not in tabs["paid"]
    assert second.friendly_id in tabs["cancelled"] and first.friendly_id not in tabs["cancelled"]
    assert "ORD-00000001" in tabs["paid"] and "1 of 3" in tabs["paid"]
    assert "2 of 3" in tabs["cancelled"] and "3 of 3" in tabs["open"]
    # every tab shows every count; an unknown tab falls back to the open invoices
    for html in tabs.values():
        assert html.count('badge rounded-pill text-bg-light border">1<') == 3
    assert third.friendly_id in section(get(client, "?tab=bogus")[1], "invoices")


def test_overdue_invoice_shows_the_amount_due_with_fees(
    app, client, session, make_account, purchase, customer, settings
):
    settings(late_fee_rate="0.02", daily_interest_rate="0.001")
    account = make_account(limit="1000")
    purchase(account, "200", term="30/60")
    late, current = invoices_of(session, account)
    make_overdue(session, late, 10)
    credit.pay_invoice(session, account.id, late.id, "40", actor="test")  # 60.00 remain
    customer(account.email)
    html = section(get(client)[1], "invoices")
    row = html[html.index(f'id="invoice-{late.friendly_id}"') :]
    row = row[: row.index("</tr>")]
    assert "Overdue" in row
    # 60.00 + 60.00 × (2 % late fee + 10 days × 0.1 % interest) = 61.80
    assert formatted(app, "60.00") in row and formatted(app, "61.80") in row
    assert "with late fee and interest" in row
    other = html[html.index(f'id="invoice-{current.friendly_id}"') :]
    other = other[: other.index("</tr>")]
    assert "Overdue" not in other and "late fee" not in other
    assert "1 overdue" in html


def test_pay_button_only_for_web_links_of_open_invoices(
    client, session, make_account, purchase, customer
):
    account = make_account()
    purchase(account, "30", term="30/60/90")
    good, bad, paid = invoices_of(session, account)
    credit.annotate_invoice(
        session, account.id, good.id, actor="test", payment_link="https://pay.example/1"
    )
    bad.payment_link = "javascript:alert(1)"  # written around the engine's own check
    paid.payment_link = "https://pay.example/3"
    session.commit()
    credit.pay_invoice(session, account.id, paid.id, actor="test")
    customer(account.email)
    html = get(client)[1]
    assert 'href="https://pay.example/1"' in html
    assert "javascript:" not in html
    assert "https://pay.example/3" not in get(client, "?tab=paid")[1]


def test_payment_instructions_are_shown_with_the_open_invoices(
    client, make_account, customer, settings
):
    settings(payment_instructions="Pay by PIX to key 12.345.678/0001-90\nor by bank slip.")
    account = make_account()
    customer(account.email)
    html = get(client)[1]
    assert "Pay by PIX to key 12.345.678/0001-90" in html
    assert "Pay by PIX" not in get(client, "?tab=paid")[1]


@pytest.mark.parametrize(("held", "warned"), [("790", False), ("800", True), ("1000", True)])
def test_warning_near_the_limit_counts_holds(
    client, make_account, purchase, customer, held, warned
):
    account = make_account(limit="1000")
    purchase(account, "600")
    purchase(account, str(Decimal(held) - 600), settle=False)
    customer(account.email)
    assert ('id="near-limit-warning"' in get(client)[1]) is warned


def test_account_on_hold_is_announced(client, session, make_account, purchase, customer, settings):
    settings(overdue_hold_days=5)
    account = make_account()
    purchase(account, "100")
    make_overdue(session, invoices_of(session, account)[0], 6)
    customer(account.email)
    html = get(client)[1]
    assert 'id="on-hold-warning"' in html and "On hold" in html


def test_invoice_tab_pages(client, session, make_account, purchase, customer):
    account = make_account(limit="10000")
    purchase(account, "120", term="/".join(str(30 * n) for n in range(1, 13)))
    customer(account.email)
    first = section(get(client)[1], "invoices")
    assert "1–10 of 12" in first and "12 of 12" not in first
    second = section(get(client, "?page=2")[1], "invoices")
    assert "11–12 of 12" in second and "12 of 12" in second
    assert "11–12 of 12" in section(get(client, "?page=99")[1], "invoices")  # past the end


def test_htmx_gets_only_the_section_it_targets(client, make_account, purchase, customer):
    account = make_account()
    purchase(account, "10")
    customer(account.email)
    for target in ("invoices", "history"):
        response = client.get(
            "/my-credits?tab=paid", headers={"HX-Request": "true", "HX-Target": target}
        )
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "<html" not in html and html.lstrip().startswith(f'<section id="{target}"')
        assert "HX-Request" in response.headers["Vary"] and "HX-Target" in response.headers["Vary"]
    full = client.get("/my-credits?tab=paid").get_data(as_text=True)
    assert "<html" in full and 'id="invoices"' in full and 'id="history"' in full


# --- history ---------------------------------------------------------------------------------


def test_history_is_newest_first_with_running_balance(
    app, client, session, make_account, purchase, customer
):
    account = make_account(limit="1000")
    purchase(account, "300", term="30/60/90")
    first = invoices_of(session, account)[0]
    credit.pay_invoice(session, account.id, first.id, actor="test")
    customer(account.email)
    html = section(get(client)[1], "history")
    rows = html.split("<tr>")[2:]  # after the header row
    assert len(rows) == 5  # credit, three invoices, one payment
    assert "Payment" in rows[0] and "Credit limit" in rows[-1]
    balances = [formatted(app, v) for v in ("800.00", "700.00", "800.00", "900.00", "1000.00")]
    for row, balance in zip(rows, balances, strict=True):
        assert balance in row.split("</td>")[-2], (row, balance)
    assert first.friendly_id in rows[0]


def test_history_pages_keep_the_running_balance(app, client, session, make_account, customer):
    account = make_account(limit="0")
    for n in range(1, 26):  # 25 adjustments of n: balance after the k-th is k(k+1)/2
        credit.adjust_balance(session, account.id, str(n), actor="test", reason=f"step {n}")
    customer(account.email)
    first = section(get(client)[1], "history")
    assert formatted(app, "325.00") in first and formatted(app, "21.00") in first  # 25 … 6
    assert formatted(app, "3.00") not in first  # the balance after the 2nd
    second = section(get(client, "?history_page=2")[1], "history")
    assert formatted(app, "3.00") in second and formatted(app, "21.00") not in second
    rows = second.split("<tr>")[2:]
    assert formatted(app, "15.00") in rows[0] and formatted(app, "1.00") in rows[-1]
    assert 'href="/my-credits?account=' in second and "history_page=1" not in second


def test_statement_csv_lists_every_entry_with_the_balance(
    client, session, make_account, purchase, customer
):
    account = make_account(limit="1000")
    purchase(account, "300", term="30/60/90", order_id="ORD-12345678")
    invoices = invoices_of(session, account)
    credit.pay_invoice(session, account.id, invoices[0].id, actor="test")
    credit.adjust_balance(session, account.id, "-5", actor="test", reason="=HYPERLINK(evil)")
    customer(account.email)
    response = client.get(f"/my-credits/statement.csv?account={account.id}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "Date", "Type", "Description", "Invoice", "Installment", "Order", "Value", "Balance"
    ]  # fmt: skip
    body = rows[1:]
    assert [r[1] for r in body] == ["Credit limit"] + ["Invoice issued"] * 3 + [
        "Payment",
        "Adjustment",
    ]
    assert [r[6] for r in body] == ["1000.00", "-100.00", "-100.00", "-100.00", "100.00", "-5.00"]
    assert [r[7] for r in body] == ["1000.00", "900.00", "800.00", "700.00", "800.00", "795.00"]
    assert body[1][3] == invoices[0].friendly_id and body[1][4] == "1/3"
    assert body[1][5] == "ORD-12345678"
    assert body[-1][2] == "Balance adjusted by the store"  # never the staff's reason
    assert "HYPERLINK" not in response.get_data(as_text=True)
    total = sum(
        session.scalars(select(StatementEntry.value).where(StatementEntry.account_id == account.id))
    )
    assert Decimal(body[-1][7]) == total == session.get(type(account), account.id).balance


def test_statement_csv_of_a_dependent_is_the_shared_account(
    client, session, make_account, purchase, customer
):
    account = make_account(limit="500")
    purchase(account, "20")
    credit.add_holder(session, account.id, "kid@example.com", actor="test")
    customer("kid@example.com")
    response = client.get("/my-credits/statement.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert response.status_code == 200 and rows[-1][-1] == "480.00"


@pytest.mark.parametrize("query", ["?page=abc", "?page=-3", "?history_page=" + "9" * 30])
def test_unusable_page_numbers_show_the_first_page(client, make_account, purchase, customer, query):
    account = make_account()
    purchase(account, "10")
    customer(account.email)
    status, html = get(client, query)
    assert status == 200 and 'id="invoices-table"' in html
