"""The account page, second pass: edit the details (a new e-mail invites and logs out),
adjust the balance by hand, refund a billed order, the staff statement CSV, paging of
orders / statement / audit trail, and labels that name what they act on."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from portal import credit, invitations, people, statements
from portal.credit.permissions import BALANCE, Grant, roles_with
from portal.models import (
    AuditEvent,
    Holder,
    Invoice,
    OutboxMessage,
    PreAuthorization,
    Refund,
    StatementEntry,
    User,
)

from ..conftest import ROLE_PASSWORD


def _post(client, account, path, **data):
    response = client.post(f"/admin/accounts/{account.id}/{path}", data=data)
    return response.status_code, response.get_data(as_text=True)


def _panel(page: str) -> str:
    """The confirmation card of the page (what is about to change)."""
    return page.split('id="confirm-change"')[1].split("</section>")[0]


def _count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def acme(make_account):
    return make_account(limit="1000", email="a@acme.example", name="ACME Ltda")


@pytest.fixture
def acme_customer(session, acme):
    """The main holder's own login (with a password), as a logged-in browser of its own."""
    return people.create_user(session, acme.email, "customer", actor="t", password=ROLE_PASSWORD)


def _customer_client(app, user) -> object:
    other = app.test_client()
    response = other.post("/login", data={"email": user.email, "password": ROLE_PASSWORD})
    assert response.status_code in (302, 303)
    assert other.get("/my-credits").status_code == 200
    return other


# --- name, e-mail and description ------------------------------------------------------------


def test_name_and_description_are_saved_without_a_confirmation(client, login, session, acme):
    login("finance")
    status, _page = _post(
        client,
        acme,
        "details",
        name="ACME Comércio Ltda",
        email="A@ACME.example",  # the same address, typed differently: not a change
        description="Pays by transfer",
    )
    assert status == 302
    session.expire_all()
    account = credit.get_account(session, acme.id)
    assert (account.name, account.email, account.description) == (
        "ACME Comércio Ltda",
        "a@acme.example",
        "Pays by transfer",
    )
    page = client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True)
    assert "Account details saved." in page and "Pays by transfer" in page
    assert _count(session, OutboxMessage) == 0


def test_a_new_email_is_confirmed_then_invites_and_logs_the_old_login_out(
    app, client, login, session, acme, acme_customer
):
    customer = _customer_client(app, acme_customer)
    old_version = acme_customer.session_version
    login("finance")
    status, page = _post(client, acme, "details", name="ACME Ltda", email="b@acme.example")
    assert status == 200
    panel = _panel(page)
    assert (
        "Change the e-mail of ACME Ltda from a@acme.example to b@acme.example?" in panel
        and "b@acme.example becomes the main holder and gets an invitation." in panel
        and "a@acme.example loses access to this account and is logged out." in panel
    )
    session.expire_all()
    assert credit.get_account(session, acme.id).email == "a@acme.example"  # nothing yet
    assert _count(session, OutboxMessage) == 0

    status, _page = _post(
        client, acme, "details", name="ACME Ltda", email="b@acme.example", confirmed="yes"
    )
    assert status == 302
    session.expire_all()
    assert credit.get_account(session, acme.id).email == "b@acme.example"
    main = session.scalars(select(Holder).where(Holder.account_id == acme.id)).one()
    assert (main.email, main.level) == ("b@acme.example", 1)
    invitation = session.scalars(select(OutboxMessage)).one()
    assert (invitation.topic, invitation.recipient) == ("invitation", "b@acme.example")
    assert session.get(User, acme_customer.id).session_version == old_version + 1
    gone = customer.get("/my-credits")
    assert gone.status_code == 302 and "/login" in gone.location
    page = client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True)
    assert "a@acme.example was logged out" in page
    assert "the invitation to b@acme.example waits in the outbox" in page


def test_the_old_login_keeps_its_sessions_when_it_holds_another_account(
    app, client, login, session, make_account, acme, acme_customer
):
    other = make_account(limit="500", email="boss@other.example")
    credit.add_holder(session, other.id, acme.email, actor="t")
    customer = _customer_client(app, acme_customer)
    login("owner")
    _status, page = _post(client, acme, "details", name="ACME Ltda", email="b@acme.example")
    assert "a@acme.example loses access to this account; it keeps its other accounts." in page
    _post(client, acme, "details", name="ACME Ltda", email="b@acme.example", confirmed="yes")
    session.expire_all()
    assert customer.get("/my-credits").status_code == 200  # still a holder elsewhere
    assert session.get(User, acme_customer.id).session_version == acme_customer.session_version


def test_a_refused_email_change_writes_nothing(
    client, login, session, make_user, acme, acme_customer
):
    staff = make_user("support", email="helpdesk@store.example")
    login("finance")
    before = _count(session, AuditEvent)
    users = _count(session, User)
    status, page = _post(
        client, acme, "details", name="New name", email=staff.email, confirmed="yes"
    )
    assert status == 422 and "staff login" in page
    details = page.split('id="account-details"')[1].split("</form>")[0]
    assert 'value="helpdesk@store.example"' in details and "invalid-feedback" in details
    session.expire_all()
    account = credit.get_account(session, acme.id)
    assert (account.email, account.name) == ("a@acme.example", "ACME Ltda")  # name too
    assert _count(session, OutboxMessage) == 0
    assert (_count(session, AuditEvent), _count(session, User)) == (before, users)
    assert session.get(User, acme_customer.id).session_version == acme_customer.session_version


def test_an_email_of_another_account_is_refused_on_the_field(
    client, login, session, make_account, acme
):
    taken = make_account(limit="10", email="taken@other.example")
    login("owner")
    status, page = _post(client, acme, "details", email=taken.email, confirmed="yes")
    assert status == 422 and "already has an account" in page
    session.expire_all()
    assert credit.get_account(session, acme.id).email == "a@acme.example"
    assert _count(session, OutboxMessage) == 0


def test_change_account_is_all_or_nothing(session, make_user, acme):
    """The domain call itself: an invitation refused undoes the e-mail change."""
    staff = make_user("finance", email="clerk@store.example")
    with pytest.raises(credit.Conflict) as refused:
        invitations.change_account(session, acme.id, actor="t", email=staff.email, name="X")
    assert refused.value.code == "not_a_customer"
    session.expire_all()
    account = credit.get_account(session, acme.id)
    assert (account.email, account.name) == ("a@acme.example", "ACME Ltda")
    assert session.scalars(select(Holder.email)).all() == ["a@acme.example"]


@pytest.mark.parametrize("role", ["support", "customer"])
def test_details_are_refused_to_readers(client, login, session, acme, role):
    if role == "customer":
        login(
            user=people.create_user(
                session, acme.email, "customer", actor="t", password=ROLE_PASSWORD
            )
        )
    else:
        login(role)
    status, _page = _post(client, acme, "details", email="b@acme.example", confirmed="yes")
    assert status == 403
    session.expire_all()
    assert credit.get_account(session, acme.id).email == "a@acme.example"


# --- manual balance adjustment --------------------------------------------------------------


def test_increase_balance_shows_old_and_new_available_credit_then_saves(
    client, login, session, acme, purchase
):
    purchase(acme, "300")
    login("owner")
    status, page = _post(
        client, acme, "balance", amount="150", reason="Goodwill", direction="increase"
    )
    assert status == 200
    panel = _panel(page)
    assert "Increase the balance by R$150.00?" in panel
    assert "R$700.00" in panel and "R$850.00" in panel
    assert 'name="confirmed" value="yes"' in panel
    assert _count(session, StatementEntry, StatementEntry.origin == "Statement") == 0

    status, _page = _post(
        client,
        acme,
        "balance",
        amount="150",
        reason="Goodwill",
        direction="increase",
        confirmed="yes",
    )
    assert status == 302
    session.expire_all()
    assert credit.get_account(session, acme.id).available_credit == Decimal("850.00")
    entry = session.scalars(
        select(StatementEntry).where(StatementEntry.origin == "Statement")
    ).one()
    assert (entry.value, entry.description) == (Decimal("150.00"), "Goodwill")
    page = client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True)
    assert "Balance increased by R$150.00." in page
    assert "Goodwill" in page.split('id="audit-trail"')[1]


def test_decrease_balance_warns_below_zero(client, login, session, acme):
    login("owner")
    _status, page = _post(
        client, acme, "balance", amount="1200", reason="Fee", direction="decrease"
    )
    panel = _panel(page)
    assert "Decrease the balance by R$1,200.00?" in panel
    assert "R$1,000.00" in panel and "-R$200.00" in panel and "below zero" in panel
    _post(
        client, acme, "balance", amount="1200", reason="Fee", direction="decrease", confirmed="yes"
    )
    session.expire_all()
    assert credit.get_account(session, acme.id).balance == Decimal("-200.00")
    assert credit.find_breaches(session) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "100", "reason": "", "direction": "increase"}, "This field is required."),
        ({"amount": "0", "reason": "x", "direction": "increase"}, "greater than zero"),
        ({"amount": "-5", "reason": "x", "direction": "decrease"}, "must not be negative"),
        ({"amount": "1,5", "reason": "x", "direction": "increase"}, "use a point for decimals"),
        ({"amount": "100", "reason": "x", "direction": "double"}, "increase or decrease"),
    ],
)
def test_bad_adjustments_are_refused_before_any_confirmation(
    client, login, session, acme, data, message
):
    login("owner")
    for confirmed in ("", "yes"):
        status, page = _post(client, acme, "balance", **data, confirmed=confirmed)
        assert status == 422 and message in page and "confirm-change" not in page
    assert _count(session, StatementEntry, StatementEntry.origin == "Statement") == 0


@pytest.mark.parametrize("role", ["finance", "support"])
def test_only_owners_adjust_the_balance(client, login, session, acme, role):
    login(role)
    data = {"amount": "100", "reason": "x", "direction": "increase"}
    assert _post(client, acme, "balance", **data)[0] == 403
    assert _post(client, acme, "balance", **data, confirmed="yes")[0] == 403
    assert _count(session, StatementEntry, StatementEntry.origin == "Statement") == 0
    page = client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True)
    assert "Increase balance" not in page and "Decrease balance" not in page


def test_adjusting_a_balance_is_a_right_of_its_own():
    assert roles_with(BALANCE) == ("owner",)
    assert Grant.for_role("finance").refusal(BALANCE) == (
        "Adjusting a balance by hand needs the owner role."
    )
    assert Grant.for_scopes(["accounts:write"]).allows(BALANCE)  # PUT …/statements/{id}


# --- refunds ---------------------------------------------------------------------------------


@pytest.fixture
def billed(session, acme, purchase):
    """A billed order of 300 in three invoices (30/60/90), the first one paid."""
    hold = purchase(acme, "300", term="30/60/90", order_id="ORD-7")
    credit.pay_invoice(session, acme.id, f"{hold.id}-01", "100", actor="t")
    return hold


def test_refund_part_of_an_order_shrinks_the_latest_invoice_first(
    client, login, session, acme, billed
):
    login("finance")
    page = client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True)
    row = page.split('id="orders"')[1].split("</tr>")[1]
    assert "R$300.00 refundable" in row and 'name="amount" value="300.00"' in row
    assert 'aria-label="Refund order ORD-7"' in row and "Refund order ORD-7</button>" in row
    status, _page = _post(
        client,
        acme,
        f"transactions/{billed.id}/refund",
        amount="120",
        reason="Damaged",
        refund_id="r-1",
    )
    assert status == 302
    session.expire_all()
    invoices = session.scalars(select(Invoice).order_by(Invoice.installment)).all()
    assert [(i.value, i.status) for i in invoices] == [
        (Decimal("100.00"), "Paid"),
        (Decimal("80.00"), "Opened"),
        (Decimal("0.00"), "Cancelled"),
    ]
    assert session.get(PreAuthorization, billed.id).refunded_value == Decimal("120.00")
    reasons = session.scalars(
        select(StatementEntry.description).where(StatementEntry.origin == "Refund")
    ).all()
    assert reasons == ["Damaged", "Damaged"]
    page = client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True)
    assert "Refunded R$120.00." in page and "R$180.00 refundable" in page
    assert "Damaged" in page.split('id="audit-trail"')[1]
    assert credit.find_breaches(session) == []


def test_a_resent_refund_form_refunds_once(client, login, session, acme, billed):
    login("finance")
    data = {"amount": "50", "reason": "Late delivery", "refund_id": "web-once"}
    for _ in range(2):
        assert _post(client, acme, f"transactions/{billed.id}/refund", **data)[0] == 302
    session.expire_all()
    assert session.get(PreAuthorization, billed.id).refunded_value == Decimal("50.00")
    assert _count(session, Refund) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "300.01", "reason": "x"}, "At most 300.00 can still be refunded."),
        ({"amount": "0", "reason": "x"}, "greater than zero"),
        ({"amount": "10", "reason": ""}, "This field is required."),
    ],
)
def test_refunds_above_what_remains_are_refused_on_the_field(
    client, login, session, acme, billed, data, message
):
    login("owner")
    status, page = _post(client, acme, f"transactions/{billed.id}/refund", refund_id="r", **data)
    assert status == 422
    form = page.split(f'action="/admin/accounts/{acme.id}/transactions/{billed.id}/refund"')[1]
    form = form.split("</form>")[0]
    assert message in form and "is-invalid" in form
    assert f'value="{data["amount"]}"' in form  # what was typed stays
    assert '<details class="refund" open>' in page
    session.expire_all()
    assert session.get(PreAuthorization, billed.id).refunded_value == 0
    assert _count(session, Refund) == 0


def test_an_open_order_cannot_be_refunded(client, login, session, acme):
    hold = credit.authorize(session, acme.id, "100", actor="t")
    login("finance")
    status, page = _post(
        client, acme, f"transactions/{hold.id}/refund", amount="10", reason="x", refund_id="r"
    )
    assert status == 422 and "not Settled" in page


def test_support_cannot_refund(client, login, session, acme, billed):
    login("support")
    data = {"amount": "10", "reason": "x", "refund_id": "r"}
    assert _post(client, acme, f"transactions/{billed.id}/refund", **data)[0] == 403
    assert _count(session, Refund) == 0
    assert "Refund order" not in client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True)


# --- the statement as CSV --------------------------------------------------------------------


def _csv(client, account, query="") -> list[list[str]]:
    response = client.get(f"/admin/accounts/{account.id}/statement.csv{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text), delimiter=";" if "excel" in query else ","))


def test_staff_statement_has_reasons_and_who_and_defuses_formulas(
    client, login, session, acme, purchase
):
    purchase(acme, "100")
    credit.adjust_balance(session, acme.id, "-25", actor="ana@store.example", reason="=1+1 fee")
    login("support")
    rows = _csv(client, acme)
    assert rows[0] == [*map(str, statements.STATEMENT_HEADER), "Done by"]
    credit_row, invoice_row, adjustment = rows[1:]
    assert credit_row[1:3] == ["Credit limit", "Initial credit limit"]
    assert invoice_row[1] == "Invoice issued" and invoice_row[4] == "1/1"
    assert adjustment[2] == "'=1+1 fee"  # a spreadsheet shows it, never runs it
    assert adjustment[6:] == ["-25.00", "875.00", "ana@store.example"]
    excel = _csv(client, acme, "?format=excel")
    assert len(excel) == 4 and excel[3][6] == "-25.00"
    customer = list(statements.statement_rows(session, acme.id))  # the customer's file
    assert customer[2][2] == "Balance adjusted by the store" and len(customer[2]) == 8


def test_customers_cannot_download_the_staff_statement(client, login, session, acme):
    login(
        user=people.create_user(session, acme.email, "customer", actor="t", password=ROLE_PASSWORD)
    )
    assert client.get(f"/admin/accounts/{acme.id}/statement.csv").status_code == 403


# --- paging ----------------------------------------------------------------------------------


def _ids(html: str, table: str) -> list[str]:
    body = html.split(f'id="{table}"')[1].split("</table>")[0]
    return re.findall(r'<td class="text-break">(P[0-9]{2})<', body)


@pytest.fixture
def busy(session, acme):
    """25 open orders: 20 on the first page, 5 on the second."""
    for n in range(25):
        credit.authorize(session, acme.id, "1", actor="t", order_id=f"P{n:02d}")
    return acme


def test_orders_page_with_more_and_previous_links(client, login, busy):
    login("finance")
    first = client.get(f"/admin/accounts/{busy.id}").get_data(as_text=True)
    assert len(_ids(first, "orders")) == 20
    more = f"/admin/accounts/{busy.id}?orders_page=2"
    assert f'href="{more}" hx-get="{more}" hx-target="#orders-card"' in first
    second = client.get(more).get_data(as_text=True)
    assert len(_ids(second, "orders")) == 5
    assert not set(_ids(first, "orders")) & set(_ids(second, "orders"))
    assert f'href="/admin/accounts/{busy.id}"' in second.split('id="orders-card"')[1]


def test_htmx_gets_the_card_alone_and_keeps_the_other_pages(client, login, busy):
    login("support")
    url = f"/admin/accounts/{busy.id}?orders_page=2&audit_page=2"
    response = client.get(url, headers={"HX-Request": "true", "HX-Target": "orders-card"})
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and fragment.lstrip().startswith(
        '<section class="mb-4" id="orders-card"'
    )
    assert 'id="statement"' not in fragment
    assert {"HX-Request", "HX-Target"} <= set(response.vary)
    assert f'href="/admin/accounts/{busy.id}?audit_page=2"' in fragment  # back to page 1
    audit = client.get(url, headers={"HX-Request": "true", "HX-Target": "audit-card"})
    assert audit.get_data(as_text=True).lstrip().startswith('<section id="audit-card"')
    full = client.get(url).get_data(as_text=True)  # a pushed URL loads as a whole page
    assert "<html" in full and len(_ids(full, "orders")) == 5


@pytest.mark.parametrize("bad", ["0", "-1", "x", "²", "1.5", "99999999999", "1e3", ""])
def test_bad_page_values_fall_back_to_page_one(client, login, busy, bad):
    login("support")
    first = _ids(client.get(f"/admin/accounts/{busy.id}").get_data(as_text=True), "orders")
    for name in ("orders_page", "page", "audit_page"):
        response = client.get(f"/admin/accounts/{busy.id}", query_string={name: bad})
        assert response.status_code == 200, (name, bad)
        assert _ids(response.get_data(as_text=True), "orders") == first


def test_audit_trail_pages(client, login, busy):
    login("support")  # 1 opening + 25 authorizations = 26 events
    first = client.get(f"/admin/accounts/{busy.id}").get_data(as_text=True)
    trail = first.split('id="audit-trail"')[1].split("</ul>")[0]
    assert trail.count("<li") == 20 and "Older events" in first
    second = client.get(f"/admin/accounts/{busy.id}?audit_page=2").get_data(as_text=True)
    trail = second.split('id="audit-trail"')[1].split("</ul>")[0]
    assert trail.count("<li") == 6 and "opened the account" in trail
    past = client.get(f"/admin/accounts/{busy.id}?audit_page=9").get_data(as_text=True)
    assert "Nothing on this page." in past and "Newer events" in past


def test_statement_pages_through_htmx(client, login, acme, purchase):
    for _ in range(24):
        purchase(acme, "10")
    login("support")
    response = client.get(
        f"/admin/accounts/{acme.id}?page=2",
        headers={"HX-Request": "true", "HX-Target": "statement-card"},
    )
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and 'id="statement-csv"' in fragment
    assert fragment.count("Invoice issued") == 4 and "Initial credit limit" in fragment
    assert f'href="/admin/accounts/{acme.id}" hx-get' in fragment  # newer: page 1


# --- labels ----------------------------------------------------------------------------------


class _Controls(HTMLParser):
    """The form controls of a page and the ids its labels point to."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label" and attrs.get("for"):
            self.labelled.add(attrs["for"])
        elif tag in ("input", "select", "textarea") and attrs.get("type") not in (
            "hidden",
            "submit",
        ):
            self.controls.append(attrs)


def test_every_input_of_the_account_page_has_a_visible_label(
    client, login, session, settings, acme, billed
):
    credit.add_holder(session, acme.id, "kid@acme.example", actor="t", spending_cap="50")
    credit.authorize(session, acme.id, "20", actor="t", order_id="OPEN-1")
    settings(overdue_hold_days=0)
    invoice = session.get(Invoice, f"{billed.id}-02")
    invoice.due_date = credit.store_today(credit.get_settings(session)).replace(year=2000)
    session.commit()
    login("owner")
    page = client.get(f"/admin/accounts/{acme.id}").get_data(as_text=True)
    assert 'id="lift-hold"' in page
    parser = _Controls()
    parser.feed(page.split("</nav>", 1)[1])  # the page, after the main navigation
    names = [c.get("name") for c in parser.controls]
    for expected in ("credit_limit", "tolerance", "amount", "reason", "email", "description"):
        assert expected in names, expected
    ids = [c.get("id") for c in parser.controls]
    assert len(ids) == len(set(ids)), ids  # one id per control: each label finds its own
    unlabelled = [c for c in parser.controls if c.get("id") not in parser.labelled]
    assert unlabelled == []
    assert 'aria-label="Remove holder kid@acme.example"' in page
    assert 'aria-label="Bill order OPEN-1"' in page
