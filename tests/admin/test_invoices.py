"""The invoices list: roles, page and fragment, filters, sort, totals, row actions, bulk
actions, query count, export and its round trip through the import."""

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from portal import credit, people, uploads
from portal.models import Invoice, StatementEntry

from ..conftest import ROLE_PASSWORD

HTMX = {"HX-Request": "true"}


@pytest.fixture
def invoices(session, make_account, purchase):
    """Three invoices of 100 on one account; the first is 10 days overdue."""
    account = make_account(
        limit="1000", email="buyer@inv.example", document="52998224725", name="Buyer SA"
    )
    hold = purchase(account, "300", term="30/60/90", order_id="ORD-7781")
    rows = session.scalars(
        select(Invoice).where(Invoice.transaction_id == hold.id).order_by(Invoice.installment)
    ).all()
    today = credit.store_today(credit.get_settings(session))
    rows[0].due_date = today - timedelta(days=10)
    session.commit()
    return account, rows


def _entries(session) -> int:
    return session.scalar(select(func.count()).select_from(StatementEntry))


def _invoice(session, invoice_id) -> Invoice:
    session.expire_all()
    return session.get(Invoice, invoice_id)


# --- access ----------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/admin/invoices"),
    ("GET", "/admin/invoices/totals"),
    ("GET", "/admin/invoices/export.csv"),
    ("POST", "/admin/invoices/{id}/pay"),
    ("POST", "/admin/invoices/{id}/cancel"),
    ("POST", "/admin/invoices/{id}/reopen"),
    ("POST", "/admin/invoices/{id}/postpone"),
    ("POST", "/admin/invoices/{id}/annotate"),
    ("POST", "/admin/invoices/bulk"),
]


def _login_as(role, client, login, session, account):
    if role == "customer":
        user = people.create_user(
            session, account.email, "customer", actor="t", password=ROLE_PASSWORD
        )
        login(user=user)
    elif role != "anonymous":
        login(role)


@pytest.mark.parametrize("role", ["anonymous", "customer", "support", "finance", "owner"])
def test_every_route_checks_the_role(client, login, invoices, session, role):
    account, rows = invoices
    _login_as(role, client, login, session, account)
    balance = credit.get_account(session, account.id).balance
    for method, path in ROUTES:
        response = client.open(
            path.format(id=rows[1].id), method=method, data={"action": "pay", "ids": rows[1].id}
        )
        status = response.status_code
        if role == "anonymous":
            assert status == 302 and "/login" in response.location, (method, path)
        elif role == "customer" or (role == "support" and method == "POST"):
            assert status == 403, (role, method, path, status)
        else:
            assert status in (200, 422), (role, method, path, status)
    if role in ("anonymous", "customer", "support"):
        assert credit.get_account(session, account.id).balance == balance


def test_support_sees_no_actions(client, login, invoices):
    login("support")
    body = client.get("/admin/invoices").get_data(as_text=True)
    assert 'name="ids"' not in body and "bulk-form" not in body and ">Paid</button>" not in body


def test_unknown_invoice_is_404(client, login, invoices):
    login("finance")
    assert client.post("/admin/invoices/nope/pay").status_code == 404


# --- page, fragment, filters, sort, totals ------------------------------------------------------


def test_full_page_fragment_and_history_restore(client, login, invoices):
    login("support")
    page = client.get("/admin/invoices")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert "HX-Request" in page.headers["Vary"]
    fragment = client.get("/admin/invoices", headers=HTMX)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "<table" in body and "HX-Request" in fragment.headers["Vary"]
    restore = client.get("/admin/invoices", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_overdue_filter_badge_and_amount_due_with_fees(client, login, invoices, settings):
    _account, rows = invoices
    settings(late_fee_rate="0.02", daily_interest_rate="0.001")
    login("support")
    body = client.get("/admin/invoices?status=Overdue").get_data(as_text=True)
    assert rows[0].friendly_id in body
    assert rows[1].friendly_id not in body and rows[2].friendly_id not in body
    assert "text-bg-danger" in body and "Overdue" in body
    # 100 + 2 % late fee + 10 days × 0.1 % interest = 103.00
    assert "R$103.00" in body and "R$3.00" in body


def test_sort_by_due_date_both_ways(client, login, invoices):
    _account, rows = invoices
    login("support")
    ids = [r.friendly_id for r in rows]
    up = client.get("/admin/invoices?sort=due_date", headers=HTMX).get_data(as_text=True)
    assert up.index(ids[0]) < up.index(ids[1]) < up.index(ids[2])
    down = client.get("/admin/invoices?sort=-due_date", headers=HTMX).get_data(as_text=True)
    assert down.index(ids[2]) < down.index(ids[1]) < down.index(ids[0])
    default = client.get("/admin/invoices", headers=HTMX).get_data(as_text=True)
    assert 'aria-sort="ascending"' in default and "sort=-due_date" in default


@pytest.mark.parametrize(
    "sort",
    ["due_date", "-value", "created_at", "status", "friendly_id", "account", "-remaining", "id"],
)
def test_every_column_sorts(client, login, invoices, sort):
    login("support")
    response = client.get(f"/admin/invoices?sort={sort}", headers=HTMX)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("<tr id=") == 3


def test_filters_by_their_admin_names(client, login, invoices, session, make_account, purchase):
    account, rows = invoices
    other = make_account(limit="1000", email="other@inv.example")
    purchase(other, "50", term="30")
    login("support")

    def found(**args) -> set[str]:
        body = client.get("/admin/invoices?" + urlencode(args), headers=HTMX).get_data(True)
        return {r.friendly_id for r in rows if f'id="invoice-{r.friendly_id}"' in body}, body

    due = rows[1].due_date.isoformat()
    assert found(due_from=due)[0] == {rows[1].friendly_id, rows[2].friendly_id}
    assert found(due_to=due)[0] == {rows[0].friendly_id, rows[1].friendly_id}
    assert found(value_min="100", value_max="100", account=account.id)[0] == {
        r.friendly_id for r in rows
    }
    ids, body = found(value_max="60")
    assert ids == set() and "other@inv.example" in body
    today = credit.store_today(credit.get_settings(session))
    assert len(found(created_from=today.isoformat())[0]) == 3
    assert found(created_to=(today - timedelta(days=2)).isoformat())[0] == set()
    assert client.get("/admin/invoices?due_from=not-a-date").status_code == 200  # dropped


@pytest.mark.parametrize(
    "q", ["ORD-7781", "ORD-77", "buyer@inv", "5299822", "boleto enviado", "{friendly}"]
)
def test_search(client, login, invoices, session, make_account, purchase, q):
    account, rows = invoices
    purchase(make_account(limit="500", email="noise@else.example"), "10", term="30")
    credit.annotate_invoice(
        session, account.id, rows[2].id, actor="t", observation="Boleto enviado"
    )
    login("support")
    q = q.format(friendly=rows[1].friendly_id)
    body = client.get(f"/admin/invoices?q={q}", headers=HTMX).get_data(as_text=True)
    assert "noise@else.example" not in body
    assert body.count("<tr id=") == (1 if q in ("boleto enviado", rows[1].friendly_id) else 3)


def test_totals_cover_the_whole_filtered_set(client, login, invoices, session):
    account, rows = invoices
    credit.pay_invoice(session, account.id, rows[2].id, "30", actor="t")
    login("support")
    totals = client.get("/admin/invoices/totals?perPage=1&sort=due_date").get_data(as_text=True)
    assert "3 invoices" in totals
    assert "open R$270.00 (3)" in totals and "overdue R$100.00 (1)" in totals
    assert "paid R$0.00 (0)" in totals and "cancelled R$0.00 (0)" in totals
    page = client.get("/admin/invoices?perPage=1", headers=HTMX).get_data(as_text=True)
    assert page.count("<tr id=") == 1 and "perPage=1" in page  # the totals URL keeps the filter
    overdue = client.get("/admin/invoices/totals?status=Overdue").get_data(as_text=True)
    assert "1 invoice<" in overdue and "open R$100.00 (1)" in overdue


def test_list_page_runs_a_bounded_number_of_queries(client, sql_statements, login, invoices):
    login("finance")
    client.get("/admin/invoices")  # warm: settings, user
    with sql_statements() as statements:
        assert client.get("/admin/invoices?status=Opened&q=ORD").status_code == 200
    assert len(statements) <= 8, statements
    with sql_statements() as statements:
        assert client.get("/admin/invoices/totals?status=Opened").status_code == 200
    assert len(statements) <= 4, statements


# --- one row -----------------------------------------------------------------------------------


def test_pay_in_full_and_in_part(client, login, invoices, session):
    account, rows = invoices
    login("finance")
    partial = client.post(f"/admin/invoices/{rows[0].id}/pay", data={"amount": "40.50"})
    body = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in body and body.startswith("<tr")
    assert "paid R$40.50" in body and 'data-status="Opened"' in body
    assert "invoice-changed" in json.loads(partial.headers["HX-Trigger"])  # and a toast
    assert _invoice(session, rows[0].id).paid_amount == Decimal("40.50")
    full = client.post(f"/admin/invoices/{rows[0].id}/pay", data={"amount": ""})
    assert 'data-status="Paid"' in full.get_data(as_text=True)
    assert credit.get_account(session, account.id).balance == Decimal("800.00")
    assert credit.find_breaches(session) == []


def test_overpayment_is_refused_in_the_row(client, login, invoices, session):
    _account, rows = invoices
    login("finance")
    refused = client.post(f"/admin/invoices/{rows[0].id}/pay", data={"amount": "500"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "At most 100.00 remains" in body
    assert 'value="500"' in body and "is-invalid" in body
    assert _invoice(session, rows[0].id).paid_amount == 0


def test_cancel_reopen_and_a_refused_pay(client, login, invoices, session):
    account, rows = invoices
    login("owner")
    cancelled = client.post(f"/admin/invoices/{rows[1].id}/cancel")
    assert cancelled.status_code == 200 and 'data-status="Cancelled"' in cancelled.get_data(True)
    assert credit.get_account(session, account.id).balance == Decimal("800.00")
    entries = _entries(session)
    refused = client.post(f"/admin/invoices/{rows[1].id}/pay", data={})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "The invoice is Cancelled, not Open." in body
    assert 'role="alert"' in body and 'data-status="Cancelled"' in body
    assert _invoice(session, rows[1].id).status == "Cancelled" and _entries(session) == entries
    reopened = client.post(f"/admin/invoices/{rows[1].id}/reopen")
    assert 'data-status="Opened"' in reopened.get_data(as_text=True)
    assert credit.get_account(session, account.id).balance == Decimal("700.00")
    assert client.post(f"/admin/invoices/{rows[1].id}/reopen").status_code == 422
    assert credit.find_breaches(session) == []


def test_postpone_by_typed_days_within_policy(client, login, invoices, session, settings):
    _account, rows = invoices
    login("finance")
    due = rows[1].due_date
    disabled = client.post(f"/admin/invoices/{rows[1].id}/postpone", data={"days": "5"})
    assert disabled.status_code == 422 and "does not allow" in disabled.get_data(True)
    assert "Postpone" not in disabled.get_data(as_text=True)  # not offered while disabled
    settings(postponement_enabled=True, max_postponement_days=10)
    too_long = client.post(f"/admin/invoices/{rows[1].id}/postpone", data={"days": "11"})
    assert too_long.status_code == 422 and "Postpone by 1 to 10 days" in too_long.get_data(True)
    empty = client.post(f"/admin/invoices/{rows[1].id}/postpone", data={"days": ""})
    assert empty.status_code == 422 and "Type a number of days." in empty.get_data(True)
    done = client.post(f"/admin/invoices/{rows[1].id}/postpone", data={"days": "5"})
    assert done.status_code == 200 and "postponed once" in done.get_data(as_text=True)
    assert _invoice(session, rows[1].id).due_date == due + timedelta(days=5)


def test_annotate_link_and_observation(client, login, invoices, session):
    _account, rows = invoices
    login("finance")
    data = {"payment_link": "https://pay.example/2", "observation": "boleto"}
    done = client.post(f"/admin/invoices/{rows[1].id}/annotate", data=data)
    assert done.status_code == 200 and 'href="https://pay.example/2"' in done.get_data(True)
    bad = client.post(
        f"/admin/invoices/{rows[1].id}/annotate",
        data={"payment_link": "javascript:alert(1)", "observation": "changed"},
    )
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "must start with https://" in body
    assert 'value="changed"' in body and "is-invalid" in body
    invoice = _invoice(session, rows[1].id)
    assert (invoice.payment_link, invoice.observation) == ("https://pay.example/2", "boleto")


# --- many rows ---------------------------------------------------------------------------------


def _bulk(client, **data):
    return client.post("/admin/invoices/bulk", data=data)


def test_bulk_pay_three_checked_rows_raises_available_credit(client, login, invoices, session):
    account, rows = invoices
    login("finance")
    data = {"action": "pay", "ids": [r.id for r in rows]}
    confirm = _bulk(client, **data)
    body = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and 'id="bulk-confirm"' in body
    assert "Mark 3 invoices paid, R$300.00 still open?" in body
    assert "&#34;expected_count&#34;: &#34;3&#34;" in body or '"expected_count": "3"' in body
    assert credit.get_account(session, account.id).available_credit == Decimal("700.00")
    done = _bulk(client, **data, confirm="1", expected_count="3", expected_amount="300.00")
    assert done.status_code == 200  # the rows come back in it (tests/admin/test_bulk_refresh.py)
    assert json.loads(done.headers["HX-Trigger"]) == {
        "invoice-changed": None,
        "toast": "3 invoices marked paid — R$300.00",
    }
    assert "Mark paid: done for 3 invoices (R$300.00 were open)." in done.get_data(True)
    assert credit.get_account(session, account.id).available_credit == Decimal("1000.00")
    assert credit.find_breaches(session) == []


def test_bulk_all_matching_uses_the_filter(
    client, login, invoices, session, make_account, purchase
):
    _account, rows = invoices
    other = make_account(limit="500", email="other@inv.example")
    purchase(other, "50", term="30")
    login("owner")
    query = urlencode({"status": "Overdue", "sort": "-value", "page": "1"})
    confirm = _bulk(client, action="cancel", all="1", query=query).get_data(as_text=True)
    assert "Cancel 1 invoice, R$100.00 still open?" in confirm
    done = _bulk(client, action="cancel", all="1", query=query, confirm="1")
    assert "done for 1 invoice " in done.get_data(as_text=True)
    assert _invoice(session, rows[0].id).status == "Cancelled"
    assert _invoice(session, rows[1].id).status == "Opened"
    assert credit.get_account(session, other.id).balance == Decimal("450.00")
    # all=1 without a filter takes every invoice, ids or not
    everything = _bulk(client, action="observation", observation="checked", all="1", query="")
    assert "Set the observation of 4 invoices" in everything.get_data(as_text=True)


def test_bulk_is_all_or_nothing_and_names_the_blocker(client, login, invoices, session):
    _account, rows = invoices
    login("finance")
    client.post(f"/admin/invoices/{rows[1].id}/pay")
    data = {"action": "cancel", "ids": [r.id for r in rows]}
    plan = _bulk(client, **data)
    body = plan.get_data(as_text=True)
    assert plan.status_code == 422 and 'id="bulk-confirm"' not in body
    assert f"<strong>{rows[1].friendly_id}</strong> (Paid)" in body
    entries = _entries(session)
    forced = _bulk(client, **data, confirm="1")
    body = forced.get_data(as_text=True)
    assert forced.status_code == 422 and "Nothing was changed" in body
    assert f"Invoice {rows[1].friendly_id}: The invoice is Paid, not Open." in body
    assert [_invoice(session, r.id).status for r in rows] == ["Opened", "Paid", "Opened"]
    assert _entries(session) == entries
    assert credit.find_breaches(session) == []


def test_bulk_refuses_when_the_selection_changed_since_the_confirmation(
    client, login, invoices, session
):
    account, rows = invoices
    login("finance")
    data = {"action": "pay", "ids": [r.id for r in rows], "confirm": "1"}
    credit.pay_invoice(session, account.id, rows[2].id, "10", actor="t")  # meanwhile
    stale = _bulk(client, **data, expected_count="3", expected_amount="300.00")
    assert stale.status_code == 422 and "confirm again" in stale.get_data(as_text=True)
    assert _invoice(session, rows[0].id).status == "Opened"


def test_bulk_set_observation_and_bad_requests(client, login, invoices, session):
    _account, rows = invoices
    login("finance")
    ids = [rows[0].id, rows[2].id]
    confirm = _bulk(client, action="observation", observation="Cobrar", ids=ids)
    assert "Set the observation of 2 invoices" in confirm.get_data(as_text=True)
    _bulk(client, action="observation", observation="Cobrar", ids=ids, confirm="1")
    assert [_invoice(session, r.id).observation for r in rows] == ["Cobrar", "", "Cobrar"]
    assert _bulk(client, action="explode", ids=ids).status_code == 422
    nothing = _bulk(client, action="pay")
    assert nothing.status_code == 422 and "Check at least one invoice" in nothing.get_data(True)


# --- export ------------------------------------------------------------------------------------


def _csv(response, delimiter=","):
    return list(csv.reader(io.StringIO(response.get_data(as_text=True)), delimiter=delimiter))


def test_export_respects_filters_and_neutralises_formulas(
    client, login, invoices, session, make_account, purchase
):
    account, rows = invoices
    purchase(make_account(limit="500", email="other@inv.example"), "50", term="30")
    credit.annotate_invoice(session, account.id, rows[0].id, actor="t", observation="=cmd|' /C")
    login("support")
    response = client.get("/admin/invoices/export.csv?status=Overdue")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="invoices-')
    table = _csv(response)
    assert table[0][:3] == ["Invoice id", "Friendly id", "Status"]
    assert [line[0] for line in table[1:]] == [rows[0].id]
    assert table[1][4] == "'=cmd|' /C"
    everything = _csv(client.get("/admin/invoices/export.csv?sort=-value"))
    assert len(everything) == 5 and everything[-1][6] == "50.00"
    excel = client.get("/admin/invoices/export.csv?status=Opened&format=excel")
    text = excel.get_data(as_text=True)
    assert text.startswith("\ufeffInvoice id;Friendly id;Status;")
    assert len(_csv(excel, ";")) == 5


def test_export_round_trip_through_import(client, login, invoices, session):
    account, rows = invoices
    login("finance")
    table = _csv(client.get(f"/admin/invoices/export.csv?account={account.id}&sort=due_date"))
    table[1][2], table[2][2] = "Paid", "Cancelled"  # the third stays Opened
    edited = io.StringIO()
    csv.writer(edited).writerows(table)
    batch, plan = uploads.preview_upload(
        session, "invoices", "back.csv", edited.getvalue().encode(), "finance"
    )
    assert plan.counts == {"create": 0, "update": 2, "unchanged": 1, "rejected": 0}, plan.rows
    uploads.apply_batch(session, batch.id, "finance")
    session.expire_all()
    assert [_invoice(session, r.id).status for r in rows] == ["Paid", "Cancelled", "Opened"]
    assert credit.get_account(session, account.id).balance == Decimal("900.00")
    assert credit.find_breaches(session) == []
    page = client.get("/admin/invoices").get_data(as_text=True)
    assert "/admin/imports?kind=invoices" in page
