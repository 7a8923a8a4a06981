"""The invoices list: filters, totals, inline row actions, bulk actions, export, roles."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal import credit, imports
from portal.models import Invoice


@pytest.fixture
def invoices(session, make_account, purchase):
    account = make_account(limit="1000", email="buyer@inv.example")
    hold = purchase(account, "300", term="30/60/90")
    rows = session.scalars(
        select(Invoice).where(Invoice.transaction_id == hold.id).order_by(Invoice.installment)
    ).all()
    today = credit.store_today(credit.get_settings(session))
    rows[0].due_date = today - timedelta(days=10)  # overdue
    session.commit()
    return account, rows


def test_overdue_filter_sort_and_fragment(client, login, invoices):
    _account, rows = invoices
    login("support")
    page = client.get("/admin/invoices?status=Overdue&sort=due_date").get_data(as_text=True)
    assert rows[0].friendly_id in page and rows[1].friendly_id not in page
    fragment = client.get("/admin/invoices?sort=-due_date", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body
    assert body.index(rows[2].friendly_id) < body.index(rows[0].friendly_id)


def test_totals_cover_the_whole_filtered_set(client, login, invoices):
    login("support")
    totals = client.get("/admin/invoices/totals?perPage=1").get_data(as_text=True)
    assert "3 invoices" in totals and "300.00" in totals and "100.00 (1)" in totals


def test_row_actions_inline(client, login, invoices, session):
    _account, rows = invoices
    login("finance")
    partial = client.post(f"/admin/invoices/{rows[0].id}/pay", data={"amount": "40"})
    assert partial.status_code == 200 and "<html" not in partial.get_data(as_text=True)
    assert "paid" in partial.get_data(as_text=True)
    client.post(f"/admin/invoices/{rows[0].id}/pay", data={})
    refused = client.post(f"/admin/invoices/{rows[0].id}/cancel")
    assert refused.status_code == 422 and "not Opened" in refused.get_data(as_text=True)
    client.post(
        f"/admin/invoices/{rows[1].id}/annotate",
        data={"payment_link": "https://pay.example/2", "observation": "boleto"},
    )
    bad_link = client.post(
        f"/admin/invoices/{rows[1].id}/annotate", data={"payment_link": "javascript:x"}
    )
    assert bad_link.status_code == 422
    session.expire_all()
    assert session.get(Invoice, rows[0].id).status == "Paid"
    assert session.get(Invoice, rows[1].id).payment_link == "https://pay.example/2"
    assert credit.find_breaches(session) == []


def test_bulk_pay_three_raises_available_credit(client, login, invoices, session):
    account, rows = invoices
    login("finance")
    data = {"action": "pay", "ids": [r.id for r in rows]}
    confirm = client.post("/admin/invoices/bulk", data=data).get_data(as_text=True)
    assert "3 invoices" in confirm and "300.00" in confirm
    assert credit.get_account(session, account.id).available_credit == Decimal("700.00")
    done = client.post("/admin/invoices/bulk", data={**data, "confirm": "1"})
    assert "done for 3 invoices" in done.get_data(as_text=True)
    session.expire_all()
    assert credit.get_account(session, account.id).available_credit == Decimal("1000.00")


def test_bulk_on_all_matching_and_all_or_nothing(client, login, invoices, session):
    account, rows = invoices
    login("owner")
    client.post(f"/admin/invoices/{rows[1].id}/cancel")
    refused = client.post(
        "/admin/invoices/bulk",
        data={"action": "cancel", "all": "1", "account": account.id, "confirm": "1"},
    )
    assert refused.status_code == 422 and "Nothing was changed" in refused.get_data(True)
    session.expire_all()
    assert session.get(Invoice, rows[0].id).status == "Opened"
    done = client.post(
        "/admin/invoices/bulk",
        data={"action": "pay", "all": "1", "status": "Overdue", "confirm": "1"},
    )
    assert "done for 1 invoices" in done.get_data(as_text=True)


def test_list_page_runs_a_bounded_number_of_queries(client, sql_statements, login, invoices):
    login("support")
    with sql_statements() as statements:
        assert client.get("/admin/invoices?status=Opened").status_code == 200
    assert len(statements) <= 8, statements


def test_export_round_trip_through_import(client, login, invoices, session):
    account, rows = invoices
    credit.annotate_invoice(session, account.id, rows[2].id, actor="t", observation="=cmd")
    login("finance")
    body = client.get(f"/admin/invoices/export.csv?account={account.id}").get_data(True)
    table = list(csv.reader(io.StringIO(body)))
    assert table[0][:3] == ["Invoice id", "Friendly id", "Status"]
    assert any(cell == "'=cmd" for line in table for cell in line)
    for line in table[1:]:
        line[2] = "Paid"
    edited = io.StringIO()
    csv.writer(edited).writerows(table)
    batch, plan = imports.preview_upload(
        session, "invoices", "back.csv", edited.getvalue().encode(), "finance"
    )
    assert plan.counts["update"] == 3, plan.rows
    imports.apply_batch(session, batch.id, "finance")
    session.expire_all()
    assert credit.get_account(session, account.id).balance == Decimal("1000.00")
    assert credit.find_breaches(session) == []
    excel = client.get("/admin/invoices/export.csv?format=excel").get_data(as_text=True)
    assert excel.startswith("\ufeffInvoice id;Friendly id;")


@pytest.mark.parametrize("role", ["support", "customer", "anonymous"])
def test_roles_on_writes(client, login, invoices, session, role):
    account, rows = invoices
    if role == "customer":
        from portal import people

        login(
            user=people.create_user(
                session, account.email, "customer", actor="t", password="correct-horse-battery"
            )
        )
    elif role == "support":
        login("support")
    for path in (f"/admin/invoices/{rows[1].id}/pay", "/admin/invoices/bulk"):
        response = client.post(path, data={"action": "pay", "ids": [rows[1].id], "confirm": "1"})
        assert response.status_code == (302 if role == "anonymous" else 403)
    listing_status = client.get("/admin/invoices").status_code
    assert listing_status == {"support": 200, "customer": 403, "anonymous": 302}[role]


def test_postpone_by_typed_days_within_policy(client, login, invoices, session, settings):
    _account, rows = invoices
    settings(postponement_enabled=True, max_postponement_days=10)
    login("finance")
    due = rows[1].due_date
    too_long = client.post(f"/admin/invoices/{rows[1].id}/postpone", data={"days": "11"})
    assert too_long.status_code == 422 and "Postpone by 1 to 10 days" in too_long.get_data(True)
    done = client.post(f"/admin/invoices/{rows[1].id}/postpone", data={"days": "5"})
    assert done.status_code == 200 and 'name="days"' in done.get_data(as_text=True)
    session.expire_all()
    assert session.get(Invoice, rows[1].id).due_date == due + timedelta(days=5)
