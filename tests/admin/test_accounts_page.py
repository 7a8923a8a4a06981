"""The accounts list and account page, in more depth: every sort key, filter edges, the
statement's running balance across pages, invitations, what each role is offered."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal import credit, listing
from portal.models import Holder, Invoice, OutboxMessage

EMAILS = re.compile(r'<div class="text-body-secondary[^"]*">([^<]+@sort\.example)</div>')


def _emails(client, sort: str) -> list[str]:
    response = client.get(f"/admin/accounts?q=sort.example&sort={sort}")
    assert response.status_code == 200
    return EMAILS.findall(response.get_data(as_text=True))


@pytest.fixture
def sortable(session, make_account, purchase):
    """Four accounts whose figures all differ (one closed, one with a hold)."""
    rows = [("c", "3000", "0.1"), ("a", "1000", "0.3"), ("d", "500", "0"), ("b", "2000", "0.2")]
    accounts = {}
    for letter, limit, tolerance in rows:
        accounts[letter] = make_account(
            limit=limit, tolerance=tolerance, email=f"{letter}@sort.example", name=letter.upper()
        )
    purchase(accounts["c"], "2900")
    purchase(accounts["a"], "100")
    purchase(accounts["b"], "700", settle=False)
    credit.close_account(session, accounts["d"].id, actor="t", reason="closed for the test")
    return accounts


def test_every_sort_key_orders_both_ways(client, login, sortable):
    login("support")
    for key in listing.ACCOUNTS.sorts:
        ascending = _emails(client, key)
        assert len(ascending) == 4, key
        assert _emails(client, f"-{key}") == ascending[::-1], key  # id breaks ties both ways


FIGURES = {
    "email": lambda a: a.email,
    "credit_limit": lambda a: a.credit_limit,
    "creditLimit": lambda a: a.credit_limit,  # the API's camelCase key means the same
    "balance": lambda a: a.api_balance,  # the API's balance: what is owed, negated
    "used": lambda a: a.used,
    "pre_authorized": lambda a: a.pre_authorized,
    "available": lambda a: a.available_credit,
    "tolerance": lambda a: a.tolerance,
    "status": lambda a: a.status,
}


@pytest.mark.parametrize("sort", [*FIGURES, "-credit_limit", "-available"])
def test_sort_keys_order_by_their_figure(client, login, session, sortable, sort):
    login("support")
    session.expire_all()
    accounts = [credit.get_account(session, a.id) for a in sortable.values()]
    figure = FIGURES[sort.lstrip("-")]
    accounts.sort(key=lambda a: (figure(a), a.id), reverse=sort.startswith("-"))
    assert _emails(client, sort) == [a.email for a in accounts]


def test_sort_survives_a_new_search(client, login, sortable):
    login("support")
    fragment = client.get(
        "/admin/accounts?sort=-credit_limit", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    # The fragment carries the sort into the filters form (outside the swapped table).
    assert 'name="sort" value="-credit_limit" form="accounts-filters"' in fragment
    page = client.get("/admin/accounts").get_data(as_text=True)
    assert page.count('name="sort"') == 1 and 'id="accounts-filters"' in page


def test_utilization_bands_skip_a_zero_limit(client, login, make_account, purchase):
    zero = make_account(limit="0", email="zero@band.example")
    half = make_account(limit="1000", email="half@band.example")
    purchase(half, "600")
    login("support")
    for band, present in [("0-50", []), ("50-80", [half]), ("80-100", []), ("100+", [])]:
        page = client.get("/admin/accounts", query_string={"q": "band.", "utilization": band})
        body = page.get_data(as_text=True)
        assert [a for a in (zero, half) if a.email in body] == present, band
    assert client.get("/admin/accounts?utilization=0-50,50-80&q=band").status_code == 200
    assert client.get("/admin/accounts?utilization=nonsense").status_code == 200  # dropped


def test_no_is_the_complement_of_yes(client, login, session, settings, make_account, purchase):
    late = make_account(limit="1000", email="late@hold.example")
    purchase(late, "100")
    fine = make_account(limit="1000", email="fine@hold.example")
    settings(overdue_hold_days=0)
    invoice = session.scalars(select(Invoice).where(Invoice.account_id == late.id)).one()
    invoice.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=1)
    session.commit()
    login("support")
    for name in ("on_hold", "has_overdue"):
        yes = client.get(f"/admin/accounts?q=hold.example&{name}=yes").get_data(as_text=True)
        no = client.get(f"/admin/accounts?q=hold.example&{name}=no").get_data(as_text=True)
        assert late.email in yes and fine.email not in yes, name
        assert fine.email in no and late.email not in no, name


def test_list_counts_every_match_but_shows_one_page(client, login, make_account):
    for n in range(23):
        make_account(limit="10", email=f"p{n:02d}@pages.example")
    login("support")
    first = client.get("/admin/accounts?q=pages.example&sort=email").get_data(as_text=True)
    assert "1–20 of 23" in first and "p19@" in first and "p20@" not in first
    second = client.get("/admin/accounts?q=pages.example&sort=email&page=2").get_data(as_text=True)
    assert "21–23 of 23" in second and "p20@" in second
    totals = client.get("/admin/accounts/totals?q=pages.example").get_data(as_text=True)
    assert "23 accounts" in totals and "230.00" in totals


def test_excel_export_uses_semicolons_and_a_bom(client, login, make_account):
    make_account(email="xl@excel.example", name="Excel Ltda")
    login("finance")
    response = client.get("/admin/accounts/export.csv?q=excel.example&format=excel")
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert body.startswith("\ufeff") and ";" in body.splitlines()[0]
    assert len(body.strip().splitlines()) == 2 and "xl@excel.example" in body


def _statement_rows(html: str) -> list[tuple[str, str]]:
    table = html.split('id="statement"')[1].split("</table>")[0]
    cells = re.findall(r'<td class="text-end">([^<]*)</td><td class="text-end">([^<]*)</td>', table)
    return [(_amount(value), _amount(balance)) for value, balance in cells]


def _amount(text: str) -> str:
    return re.sub(r"[^0-9.,-]", "", text)  # without the currency symbol


def test_running_balance_across_statement_pages(client, login, make_account, purchase):
    account = make_account(limit="1000")
    for _ in range(24):
        purchase(account, "10")  # 1 credit entry + 24 invoice entries
    login("support")
    first = _statement_rows(client.get(f"/admin/accounts/{account.id}").get_data(as_text=True))
    assert len(first) == 20 and first[0][1] == "760.00" and first[-1][1] == "950.00"
    older = client.get(f"/admin/accounts/{account.id}?page=2").get_data(as_text=True)
    second = _statement_rows(older)
    assert [b for _, b in second] == ["960.00", "970.00", "980.00", "990.00", "1,000.00"]
    assert second[-1][0] == "1,000.00"  # the first entry: the credit limit itself


def test_account_page_runs_a_bounded_number_of_queries(
    client, login, sql_statements, make_account, purchase, session
):
    account = make_account(limit="5000")
    for n in range(10):
        purchase(account, "10", term="30/60")
        credit.add_holder(session, account.id, f"dep{n}@bounded.example", actor="t")
    login("owner")
    with sql_statements() as statements:
        assert client.get(f"/admin/accounts/{account.id}").status_code == 200
    assert len(statements) <= 24, [s.split("FROM")[-1][:60] for s in statements]


def test_add_a_dependent_and_invite_them(client, login, make_account, make_user, session):
    account = make_account(limit="1000")
    login("finance")
    page = client.post(
        f"/admin/accounts/{account.id}/holders",
        data={"email": "Kid@Family.example", "spending_cap": "150"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Holder added." in page and "the invitation to kid@family.example waits" in page
    assert "/invite/" not in page  # a link that sets a password is never shown on a page
    assert credit.spending_cap(session, account.id, "kid@family.example").cap == Decimal("150.00")
    invitation = session.scalars(select(OutboxMessage)).one()
    assert (invitation.topic, invitation.recipient) == ("invitation", "kid@family.example")


def test_a_staff_email_cannot_be_added_as_a_holder(client, login, make_account, make_user, session):
    """The holder and its invitation are one change: a refused login writes no holder."""
    account = make_account(limit="1000")
    staff = make_user("support", email="helpdesk@store.example")
    login("finance")
    response = client.post(f"/admin/accounts/{account.id}/holders", data={"email": staff.email})
    assert response.status_code == 422
    assert "staff login" in response.get_data(as_text=True)
    holders = session.scalars(select(Holder.email).where(Holder.account_id == account.id)).all()
    assert holders == [account.email]
    assert session.scalars(select(OutboxMessage)).all() == []


def test_engine_errors_keep_what_was_typed(client, login, make_account):
    account = make_account(limit="1000")
    login("owner")
    response = client.post(
        f"/admin/accounts/{account.id}/limit",
        data={"credit_limit": "-5", "reason": "Typed with care"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="Typed with care"' in page
    limit_form = page.split("Change the limit")[1].split("</form>")[0]
    assert "invalid-feedback" in limit_form


def test_an_order_value_above_the_credit_is_refused_with_a_message(
    client, login, session, make_account
):
    account = make_account(limit="1000")
    hold = credit.authorize(session, account.id, "100", actor="t")
    login("finance")
    page = client.post(
        f"/admin/accounts/{account.id}/transactions/{hold.id}/value",
        data={"value": "5000"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "alert-danger" in page
    session.expire_all()
    assert credit.get_transaction(session, account.id, hold.id).value == Decimal("100.00")


@pytest.mark.parametrize(
    ("role", "offered", "hidden"),
    [
        ("owner", ["Change limit", "Change tolerance", "Close the account", "Bill"], []),
        ("finance", ["Close the account", "Add a dependent", "Bill"], ["Change limit"]),
        ("support", [], ["Change limit", "Close the account", "Add a dependent", "Bill"]),
    ],
)
def test_each_role_is_offered_only_what_it_may_do(
    client, login, session, make_account, role, offered, hidden
):
    account = make_account(limit="1000")
    credit.authorize(session, account.id, "100", actor="t")
    login(role)
    page = client.get(f"/admin/accounts/{account.id}").get_data(as_text=True)
    assert all(label in page for label in offered), role
    assert not any(label in page for label in hidden), role
    if role == "support":
        assert 'method="post"' not in page.split("</nav>", 1)[1].split("<footer")[0]
