"""The accounts list and the account page: search, filters, totals, actions, roles."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal import credit, listing
from portal.models import Invoice


@pytest.fixture
def store(session, make_account, purchase):
    full = make_account(limit="1000", email="full@acme.example", name="Full Ltda")
    purchase(full, "900")
    calm = make_account(limit="5000", email="calm@zeta.example", name="Calm SA")
    credit.add_holder(session, calm.id, "kid@zeta.example", actor="t")
    return full, calm


def test_list_search_by_holder_email_and_fragment(client, login, store):
    login("support")
    page = client.get("/admin/accounts?q=kid@zeta").get_data(as_text=True)
    assert "<html" in page and "Calm SA" in page and "Full Ltda" not in page
    fragment = client.get("/admin/accounts?q=full", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert "Full Ltda" in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    restore = client.get(
        "/admin/accounts?q=full",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.get_data(as_text=True)


def test_filters_and_sort(client, login, store, session, settings):
    full, _calm = store
    login("finance")
    near = client.get("/admin/accounts?utilization=80-100").get_data(as_text=True)
    assert "Full Ltda" in near and "Calm SA" not in near
    settings(overdue_hold_days=0)
    invoice = session.scalars(select(Invoice).where(Invoice.account_id == full.id)).first()
    invoice.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=3)
    session.commit()
    held = client.get("/admin/accounts?on_hold=yes").get_data(as_text=True)
    assert "Full Ltda" in held and "Calm SA" not in held
    late = client.get("/admin/accounts?has_overdue=yes").get_data(as_text=True)
    assert "Full Ltda" in late and "Calm SA" not in late
    by_limit = client.get("/admin/accounts?sort=-credit_limit").get_data(as_text=True)
    assert by_limit.index("Calm SA") < by_limit.index("Full Ltda")


def test_totals_cover_the_whole_filtered_set(client, login, make_account):
    for n in range(25):
        make_account(limit="100", email=f"many{n}@bulk.example")
    login("support")
    totals = client.get("/admin/accounts/totals?q=bulk.example").get_data(as_text=True)
    assert "25 accounts" in totals and "2,500.00" in totals


def test_listing_state_round_trips_through_the_url():
    args = {
        "q": "acme",
        "status": "Open",
        "sort": "-credit_limit",
        "page": "3",
        "utilization": "80-100",
    }
    query = listing.parse(listing.ACCOUNTS, args)
    assert query.to_args() == args
    assert "page" not in query.to_args(q="other")  # a new search starts at page 1


def test_list_page_runs_a_bounded_number_of_queries(client, sql_statements, login, make_account):
    for n in range(30):
        make_account(email=f"q{n}@count.example")
    login("support")
    with sql_statements() as statements:
        assert client.get("/admin/accounts?sort=email").status_code == 200
    assert len(statements) <= 8, statements


def test_new_account_errors_stay_next_to_the_field(client, login, session):
    login("owner")  # a limit above the default credit and a tolerance: an owner's decision
    portuguese = {"Accept-Language": "pt-BR"}  # 1.500,00 is read with a decimal comma
    response = client.post(
        "/admin/accounts/new",
        headers=portuguese,
        data={
            "document_type": "CPF",
            "document": "52998224724",
            "email": "new@shop.example",
            "name": "Typo",
            "credit_limit": "1.500,00",
            "tolerance": "10",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "52998224724 não é um CPF válido." in page
    assert 'value="new@shop.example"' in page  # nothing typed is lost
    ok = client.post(
        "/admin/accounts/new",
        headers=portuguese,
        data={
            "document_type": "CPF",
            "document": "529.982.247-25",
            "email": "new@shop.example",
            "name": "Shop",
            "credit_limit": "1.500,00",
            "tolerance": "10",
        },
    )
    assert ok.status_code == 302
    account = credit.get_account(session, "52998224725_CPF")
    assert (account.credit_limit, account.tolerance) == (Decimal("1500.00"), Decimal("0.1"))


def test_change_limit_with_reason_shows_in_audit_trail(client, login, store, session):
    full, _ = store
    login("owner")
    refused = client.post(
        f"/admin/accounts/{full.id}/limit", data={"credit_limit": "2000", "reason": ""}
    )
    assert refused.status_code == 422
    client.post(
        f"/admin/accounts/{full.id}/limit",
        data={"credit_limit": "2000", "reason": "Good payer since 2019", "confirmed": "yes"},
    )
    page = client.get(f"/admin/accounts/{full.id}").get_data(as_text=True)
    assert "Good payer since 2019" in page.split('id="audit-trail"')[1]
    assert credit.get_account(session, full.id).credit_limit == Decimal("2000.00")


def test_orders_can_be_billed_changed_and_cancelled(client, login, session, make_account):
    account = make_account(limit="1000")
    first = credit.authorize(session, account.id, "300", actor="t", payment_term="30/60/90")
    second = credit.authorize(session, account.id, "100", actor="t")
    login("finance")
    client.post(
        f"/admin/accounts/{account.id}/transactions/{second.id}/value", data={"value": "90"}
    )
    client.post(f"/admin/accounts/{account.id}/transactions/{second.id}/cancel")
    client.post(
        f"/admin/accounts/{account.id}/transactions/{first.id}/settle", data={"value": "300"}
    )
    session.expire_all()
    assert credit.get_transaction(session, account.id, second.id).status == "Cancelled"
    assert len(session.scalars(select(Invoice)).all()) == 3
    assert credit.find_breaches(session) == []


def test_running_balance_on_the_statement(client, login, session, make_account, purchase):
    account = make_account(limit="1000")
    purchase(account, "100")
    login("support")
    page = client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
    statement = page.split('id="statement"')[1].split("</table>")[0]
    assert statement.index("900.00") < statement.index("1,000.00")


def test_export_respects_filters_and_defuses_formulas(client, login, make_account):
    make_account(email="a@x.example", name="=HYPERLINK(1)")
    make_account(email="b@y.example", name="Other")
    login("support")
    body = client.get("/admin/accounts/export.csv?q=x.example").get_data(as_text=True)
    assert "a@x.example" in body and "b@y.example" not in body and "'=HYPERLINK(1)" in body


def test_unknown_account_is_404(client, login):
    login("support")
    assert client.get("/admin/accounts/nope_CPF").status_code == 404


READ = {"owner": 200, "finance": 200, "support": 200, "customer": 403}
WRITE = {"owner": 302, "finance": 302, "support": 403, "customer": 403}  # PRG, flash on error
OWNER_ONLY = {"owner": 302, "finance": 403, "support": 403, "customer": 403}
FORM = {"owner": 422, "finance": 422, "support": 403, "customer": 403}  # an empty form is refused
OWNER_FORM = {"owner": 422, "finance": 403, "support": 403, "customer": 403}

ROUTES = [
    ("GET", "/admin/accounts", READ),
    ("GET", "/admin/accounts/totals", READ),
    ("GET", "/admin/accounts/export.csv", READ),
    ("GET", "/admin/accounts/new", {**FORM, "owner": 200, "finance": 200}),
    ("POST", "/admin/accounts/new", FORM),
    ("GET", "/admin/accounts/{id}", READ),
    ("POST", "/admin/accounts/{id}/limit", OWNER_FORM),
    ("POST", "/admin/accounts/{id}/tolerance", OWNER_FORM),
    ("POST", "/admin/accounts/{id}/lift-hold", OWNER_ONLY),
    ("POST", "/admin/accounts/{id}/close", WRITE),
    ("POST", "/admin/accounts/{id}/reopen", WRITE),
    ("POST", "/admin/accounts/{id}/holders", FORM),
    ("POST", "/admin/accounts/{id}/holders/x/delete", WRITE),
    ("POST", "/admin/accounts/{id}/holders/x/cap", WRITE),
    ("POST", "/admin/accounts/{id}/transactions/x/settle", WRITE),
    ("POST", "/admin/accounts/{id}/transactions/x/value", WRITE),
    ("POST", "/admin/accounts/{id}/transactions/x/cancel", WRITE),
    ("POST", "/admin/accounts/{id}/details", FORM),
    ("POST", "/admin/accounts/{id}/balance", OWNER_FORM),
    ("POST", "/admin/accounts/{id}/transactions/x/refund", FORM),
    ("GET", "/admin/accounts/{id}/statement.csv", READ),
]


@pytest.mark.parametrize(("method", "path", "expected"), ROUTES)
@pytest.mark.parametrize("role", ["owner", "finance", "support", "customer", "anonymous"])
def test_roles(client, login, make_account, session, method, path, expected, role):
    account = make_account(email=f"{role}-holder@roles.example")
    if role == "customer":
        from portal import people

        login(
            user=people.create_user(
                session, account.email, "customer", actor="t", password="correct-horse-battery"
            )
        )
    elif role != "anonymous":
        login(role)
    response = client.open(path.format(id=account.id), method=method, data={})
    assert response.status_code == (302 if role == "anonymous" else expected[role])
    if role == "anonymous":
        assert "/login" in response.location


def test_dependent_cap_set_and_cleared_on_the_page(client, login, store, session):
    _full, calm = store
    holder = next(h for h in credit.get_account(session, calm.id).holders if h.level == 2)
    login("finance")
    page = client.get(f"/admin/accounts/{calm.id}").get_data(as_text=True)
    assert "Set cap" in page
    client.post(f"/admin/accounts/{calm.id}/holders/{holder.id}/cap", data={"spending_cap": "250"})
    session.expire_all()
    assert credit.spending_cap(session, calm.id, holder.email).cap == Decimal("250.00")
    client.post(f"/admin/accounts/{calm.id}/holders/{holder.id}/cap", data={"spending_cap": ""})
    assert credit.spending_cap(session, calm.id, holder.email) is None
