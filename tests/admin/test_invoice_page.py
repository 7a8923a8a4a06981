"""The invoice page: who owes what, what is due today and why, and the invoice's history."""

from datetime import timedelta
from decimal import Decimal

from portal import credit, people
from portal.models import Invoice

from ..conftest import ROLE_PASSWORD


def _page(client, invoice_id):
    response = client.get(f"/admin/invoices/{invoice_id}")
    return response.status_code, response.get_data(as_text=True)


def test_the_page_explains_what_is_due_today_and_tells_the_history(
    client, login, session, make_account, purchase, settings
):
    settings(late_fee_rate="0.02", daily_interest_rate="0.001", postponement_enabled=True)
    account = make_account(limit="5000", name="Café Serra Azul")
    hold = purchase(account, "300", term="30/60/90", order_id="ORD-42")
    invoice_id = f"{hold.id}-01"
    credit.pay_invoice(session, account.id, invoice_id, "40", actor="ana@store.example")
    credit.postpone_invoice(session, account.id, invoice_id, 5, actor="ana@store.example")
    credit.annotate_invoice(
        session,
        account.id,
        invoice_id,
        actor="ana@store.example",
        payment_link="https://pay.example/1",
    )
    invoice = credit.get_invoice(session, account.id, invoice_id)
    invoice.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=10)
    session.commit()
    login("support")
    status, page = _page(client, invoice_id)
    assert status == 200
    assert "Café Serra Azul" in page and "ORD-42" in page and "1 of 3" in page
    assert "Overdue" in page and "https://pay.example/1" in page
    due = credit.due_today(
        invoice, credit.get_settings(session), credit.store_today(credit.get_settings(session))
    )
    assert (due.remaining, due.late_fee, due.interest) == (
        Decimal("60.00"),
        Decimal("1.20"),
        Decimal("0.60"),
    )
    breakdown = page.split('id="due-breakdown"')[1].split("</section>")[0]
    for amount in ("R$60.00", "R$1.20", "R$0.60", "R$61.80"):
        assert amount in breakdown, amount
    timeline = page.split('id="invoice-timeline"')[1].split("</ol>")[0]
    order = [timeline.index(word) for word in ("Issued", "Payment received", "Due date postponed")]
    assert order == sorted(order) and "Details changed" in timeline
    assert "ana@store.example" in timeline


def test_cancel_and_reopen_show_their_reason(client, login, session, make_account, purchase):
    account = make_account(limit="1000")
    hold = purchase(account, "100")
    invoice_id = f"{hold.id}-01"
    credit.cancel_invoice(session, account.id, invoice_id, actor="o", reason="order returned")
    credit.reopen_invoice(session, account.id, invoice_id, actor="o", reason="cancelled by mistake")
    login("finance")
    _status, page = _page(client, invoice_id)
    assert "Reason: order returned" in page and "Reason: cancelled by mistake" in page


def test_unknown_invoice_is_404_and_customers_are_kept_out(
    client, login, session, make_account, purchase
):
    account = make_account(limit="1000")
    hold = purchase(account, "100")
    assert client.get(f"/admin/invoices/{hold.id}-01").status_code == 302  # to the login
    user = people.create_user(session, account.email, "customer", actor="t", password=ROLE_PASSWORD)
    login(user=user)
    assert client.get(f"/admin/invoices/{hold.id}-01").status_code == 403
    client.post("/logout")
    login("owner")
    assert client.get("/admin/invoices/NOPE-01").status_code == 404


def test_a_held_account_says_why_and_shows_in_the_list(
    client, login, session, make_account, purchase, settings
):
    settings(overdue_hold_days=30)
    held = make_account(limit="1000", name="Late Payer")
    fine = make_account(limit="1000", name="Good Payer")
    hold = purchase(held, "100")
    invoice = session.get(Invoice, f"{hold.id}-01")
    today = credit.store_today(credit.get_settings(session))
    invoice.due_date = today - timedelta(days=45)
    session.commit()
    purchase(fine, "100")
    login("support")
    table = client.get("/admin/accounts?sort=name").get_data(as_text=True)
    rows = table.split("<tbody>")[1].split("</tr>")
    assert "On hold" in next(r for r in rows if "Late Payer" in r)
    assert "On hold" not in next(r for r in rows if "Good Payer" in r)
    page = client.get(f"/admin/accounts/{held.id}").get_data(as_text=True)
    reason = page.split('id="hold-reason"')[1].split("</div>")[0]
    assert invoice.friendly_id in reason and "45 days overdue" in reason
    assert f"/admin/invoices/{invoice.id}" in reason
    reason_now = credit.hold_reason(session, credit.get_account(session, held.id))
    assert reason_now.since == today - timedelta(days=14)  # due + 30 days + 1: the first day
    assert 'id="hold-reason"' not in client.get(f"/admin/accounts/{fine.id}").get_data(as_text=True)
