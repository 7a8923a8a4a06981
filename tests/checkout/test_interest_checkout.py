"""The checkout prices its orders with the term's interest and holds that total."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal import credit, people
from portal.models import Invoice, PreAuthorization

from ..conftest import ROLE_PASSWORD
from .test_checkout import form_values, formatted, formatted_day, get

D = Decimal
CART = "?qty-paper=0&qty-toner=0&qty-chair=0&qty-pens=1"  # 42.50
BIG_CART = "?qty-paper=0&qty-toner=0&qty-chair=1&qty-pens=0"  # 1290.00


@pytest.fixture
def shopper(session, login, make_account):
    """A logged-in customer of a fresh account; the store offers 30 (no interest) and
    30/60/90 at 1 % a month."""

    def make(limit="5000"):
        credit.save_term(session, "30", "test")
        credit.save_term(session, "30/60/90", "test", interest_rate="0.01")
        account = make_account(limit=limit)
        user = people.create_user(
            session, account.email, "customer", actor="test", password=ROLE_PASSWORD
        )
        login(user=user)
        return account

    return make


def _holds(session) -> list[PreAuthorization]:
    session.expire_all()
    return list(session.scalars(select(PreAuthorization)))


def test_each_term_shows_its_installments_total_and_interest(app, client, session, shopper):
    shopper()
    html = get(client, BIG_CART + "&term=30/60/90")[1]
    options = html.split('class="form-check border')[1:]
    today = credit.store_today(credit.get_settings(session))
    # 1290.00 = 430 × 3; at 1 % a month: 434.30 / 438.64 / 443.03 (half up), 1315.97 in all
    assert "1× — total " + formatted(app, "1290.00") + ", no interest" in options[0]
    assert (
        f"3× — total {formatted(app, '1315.97')} incl. {formatted(app, '25.97')} interest "
        "at 1% a month"
    ) in options[1]
    for n, (value, days) in enumerate([("434.30", 30), ("438.64", 60), ("443.03", 90)], 1):
        assert f"{n} of 3 · due {formatted_day(app, today + timedelta(days=days))}" in options[1]
        assert formatted(app, value) in options[1]
    assert f"Place order · {formatted(app, '1315.97')}" in html
    assert form_values(html)["order_total"] == "1315.97"
    assert 'hx-get="/checkout"' in options[1] and 'hx-include="#cart-form"' in options[1]
    # the term chosen by htmx comes back as the summary alone, the button on its total
    htmx = get(client, BIG_CART + "&term=30", **{"HX-Request": "true"})[1]
    assert "<html" not in htmx and f"Place order · {formatted(app, '1290.00')}" in htmx


def test_the_order_holds_the_total_and_settles_into_the_previewed_installments(
    app, client, session, shopper
):
    account = shopper()
    html = get(client, CART + "&term=30/60/90")[1]
    today = credit.store_today(credit.get_settings(session))
    preview = credit.price_order(session, "42.50", "30/60/90")
    # 42.50 → 14.17 / 14.17 / 14.16 → 14.31 / 14.45 / 14.59
    assert preview.values == [D("14.31"), D("14.45"), D("14.59")]
    for _, value, due in preview.installments:
        assert formatted(app, value) in html and formatted_day(app, due) in html
    response = client.post("/checkout/orders", data=form_values(html))
    assert response.status_code == 303, response.get_data(as_text=True)
    (hold,) = _holds(session)
    assert (hold.value, hold.original_value) == (D("43.35"), D("43.35"))
    assert hold.installment_values == ["14.31", "14.45", "14.59"]
    assert credit.get_account(session, account.id).pre_authorized == D("43.35")
    page = client.get(response.location).get_data(as_text=True)
    assert formatted(app, "43.35") in page and formatted(app, "14.59") in page

    credit.settle(session, account.id, hold.id, actor="test")
    invoices = session.scalars(
        select(Invoice).where(Invoice.transaction_id == hold.id).order_by(Invoice.installment)
    ).all()
    assert [(i.installment, i.value, i.due_date) for i in invoices] == [
        (1, D("14.31"), today + timedelta(days=30)),
        (2, D("14.45"), today + timedelta(days=60)),
        (3, D("14.59"), today + timedelta(days=90)),
    ]
    assert hold.settled_value == sum(i.value for i in invoices)
    assert credit.find_breaches(session) == []


def test_a_term_without_interest_holds_the_cart_total(client, session, shopper):
    shopper()
    response = client.post("/checkout/orders", data=form_values(get(client, CART + "&term=30")[1]))
    assert response.status_code == 303
    (hold,) = _holds(session)
    assert (hold.value, hold.installment_values) == (D("42.50"), ["42.50"])


def test_a_term_changed_without_javascript_asks_to_confirm_the_new_total(
    app, client, session, shopper
):
    shopper()
    values = form_values(get(client, CART)[1])  # 30 days: the button says 42.50
    assert (values["term"], values["order_total"]) == ("30", "42.50")
    response = client.post("/checkout/orders", data=values | {"term": "30/60/90"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and _holds(session) == []
    assert f"this order costs {formatted(app, '43.35')}" in html
    again = form_values(html)
    assert (again["term"], again["order_total"]) == ("30/60/90", "43.35")
    assert client.post("/checkout/orders", data=again).status_code == 303
    assert [h.value for h in _holds(session)] == [D("43.35")]


def test_the_interest_counts_against_the_credit(app, client, session, shopper):
    shopper(limit="1300")  # enough for 1290.00, not for 1315.97
    html = get(client, BIG_CART + "&term=30/60/90")[1]
    assert 'id="refusal"' in html and "Not enough credit" in html
    assert formatted(app, "1315.97") in html
    assert 'id="refusal"' not in get(client, BIG_CART + "&term=30")[1]
    values = form_values(html) | {"order_total": "1315.97"}
    response = client.post("/checkout/orders", data=values)
    assert response.status_code == 422 and _holds(session) == []


def test_a_term_whose_total_would_overflow_is_refused_not_an_error(client, session, shopper):
    shopper()
    credit.save_term(session, "990", "test", interest_rate="10")  # 11^33 × 42.50
    status, html = get(client, CART + "&term=990")
    assert status == 200 and "This order cannot be paid on this term" in html
    values = form_values(html) | {"order_total": "0.00"}
    response = client.post("/checkout/orders", data=values)
    assert response.status_code == 422 and _holds(session) == []
    assert "This order cannot be paid on this term" in response.get_data(as_text=True)
