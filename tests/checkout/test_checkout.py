"""The demo checkout: cart totals, terms and installments, refusals, placing an order."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from portal import credit, people
from portal.checkout.cart import PRODUCTS, read_cart
from portal.i18n import day, money
from portal.models import Account, Invoice, PreAuthorization

from ..conftest import ROLE_PASSWORD

# The demo cart by default: 2 × 189.90 + 1 × 349.00 + 1 × 42.50
DEFAULT_TOTAL = Decimal("771.30")


def formatted(app, value) -> str:
    with app.test_request_context():
        return money(Decimal(value))


def formatted_day(app, value) -> str:
    with app.test_request_context():
        return day(value)


class _Fields(HTMLParser):
    """The values a browser would submit from the form with id `form_id`."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        elif tag == "input" and self.inside and attrs.get("name"):
            if attrs.get("type") == "radio" and "checked" not in attrs:
                return
            self.values[attrs["name"]] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def form_values(html: str, form_id: str = "place-order") -> dict[str, str]:
    parser = _Fields(form_id)
    parser.feed(html)
    return parser.values


def get(client, query: str = "", **headers) -> tuple[int, str]:
    response = client.get("/checkout" + query, headers=headers)
    return response.status_code, response.get_data(as_text=True)


@pytest.fixture
def customer(session, login):
    """Log in as a customer with this e-mail (a holder of some account)."""

    def make(email: str):
        user = people.create_user(session, email, "customer", actor="test", password=ROLE_PASSWORD)
        return login(user=user)

    return make


@pytest.fixture
def terms(session):
    """Offer these payment terms at checkout."""

    def offer(*days: str) -> None:
        for text in days:
            credit.save_term(session, text, "test")

    return offer


def holds(session) -> list[PreAuthorization]:
    return list(session.scalars(select(PreAuthorization)))


# --- the cart --------------------------------------------------------------------------------


def test_cart_totals_are_exact_decimals():
    cart = read_cart({"qty-paper": "3", "qty-toner": "0", "qty-chair": "1", "qty-pens": "7"})
    assert cart.total == Decimal("569.70") + Decimal("1290.00") + Decimal("297.50")
    assert isinstance(cart.total, Decimal) and cart.count == 11
    assert [line.quantity for line in cart.items] == [3, 1, 7]


@pytest.mark.parametrize(
    ("raw", "quantity"),
    [
        *[("", 0), ("abc", 0), ("-2", 0), ("1.5", 0), ("1000", 99), (" 4 ", 4)],
        *[("²", 0), ("٣", 0), ("1e3", 0), ("1_0", 0), ("0012", 12), ("99999999999", 99)],
    ],
)
def test_unusable_quantities_are_cleaned(raw, quantity):
    assert read_cart({"qty-paper": raw}).lines[0].quantity == quantity


def test_an_empty_query_string_gives_the_demo_cart():
    cart = read_cart({})
    assert cart.total == DEFAULT_TOTAL
    assert [line.quantity for line in cart.lines] == [p.default_quantity for p in PRODUCTS]


def test_anonymous_visitor_sees_the_cart_and_a_login_link(app, client):
    status, html = get(client, "?qty-paper=1&qty-toner=0&qty-chair=1&qty-pens=0")
    assert status == 200
    assert formatted(app, "1479.90") in html  # 189.90 + 1290.00
    assert "Log in to pay with credit" in html
    assert 'href="/login?next=/checkout?qty-paper%3D1' in html
    assert 'id="place-order"' not in html


def test_unicode_digits_and_huge_quantities_in_the_url_are_not_errors(app, client):
    status, html = get(client, "?qty-paper=²&qty-toner=99999999999&qty-chair=-3&qty-pens=٣")
    assert status == 200
    assert formatted(app, "34551.00") in html  # 99 × 349.00, the rest ignored


def test_a_customer_with_bad_quantities_sees_the_page(client, make_account, customer):
    customer(make_account(limit="5000").email)
    status, html = get(client, "?qty-paper=²&qty-toner=-3&qty-chair=99999999999&qty-pens=abc")
    assert status == 200 and 'id="place-order"' in html


def test_login_link_brings_the_customer_back_to_checkout(client, session, make_account):
    account = make_account()
    people.create_user(session, account.email, "customer", actor="t", password=ROLE_PASSWORD)
    response = client.post(
        "/login?next=/checkout", data={"email": account.email, "password": ROLE_PASSWORD}
    )
    assert response.status_code == 302 and response.location == "/checkout"


@pytest.mark.parametrize("role", ["owner", "finance", "support"])
def test_staff_see_a_note_and_cannot_order(client, login, role):
    login(role)
    status, html = get(client)
    assert status == 200 and 'id="staff-note"' in html and 'id="place-order"' not in html
    response = client.post("/checkout/orders", data={"term": "30"})
    assert response.status_code == 403


def test_anonymous_order_goes_to_login(client):
    response = client.post("/checkout/orders", data={"term": "30"})
    assert response.status_code == 302 and response.location.startswith("/login")


def test_htmx_gets_the_summary_only(app, client, make_account, customer):
    customer(make_account().email)
    htmx = {"HX-Request": "true"}
    status, html = get(client, "?qty-paper=0&qty-toner=0&qty-chair=0&qty-pens=2", **htmx)
    assert status == 200
    assert "<html" not in html and html.startswith('<div id="checkout-summary">')
    assert formatted(app, "85.00") in html and 'id="place-order"' in html
    assert "HX-Request" in client.get("/checkout", headers=htmx).headers["Vary"]
    assert "<html" in get(client, "?qty-pens=2")[1]


# --- terms and refusals ----------------------------------------------------------------------


def test_terms_show_their_installments_and_due_dates(
    app, client, session, make_account, customer, terms
):
    terms("30", "30/60/90")
    customer(make_account(limit="5000").email)
    status, html = get(client, "?qty-paper=0&qty-toner=0&qty-chair=0&qty-pens=1&term=30/60/90")
    assert status == 200
    today = credit.store_today(credit.get_settings(session))
    options = html.split('class="form-check border')[1:]
    assert len(options) == 2
    assert "30 days" in options[0] and "1 installment" in options[0]
    assert formatted(app, "42.50") in options[0]
    assert formatted_day(app, today + timedelta(days=30)) in options[0]
    assert "30/60/90 days" in options[1] and "3 installments" in options[1]
    assert "checked" in options[1] and "checked" not in options[0]
    # 42.50 / 3: the leftover cent goes to the first installment
    for n, (amount, offset) in enumerate([("14.17", 30), ("14.17", 60), ("14.16", 90)], 1):
        assert f"{n} of 3 · due {formatted_day(app, today + timedelta(days=offset))}" in html
        assert formatted(app, amount) in options[1]


def test_without_active_terms_the_checkout_offers_30_days(client, session, make_account, customer):
    customer(make_account().email)
    html = get(client)[1]
    assert html.count('name="term"') == 1 and 'value="30" checked' in html


def test_over_the_limit_the_order_button_is_disabled_with_the_reason(
    app, client, make_account, customer
):
    customer(make_account(limit="700").email)
    html = get(client)[1]
    assert re.search(r'id="place-order-button"\s+disabled', html)
    assert "Not enough credit" in html
    assert formatted(app, DEFAULT_TOTAL) in html and formatted(app, "700.00") in html
    html = get(client, "?qty-paper=1&qty-toner=1&qty-chair=0&qty-pens=1")[1]  # 581.40
    assert 'id="refusal"' not in html and not re.search(r'id="place-order-button"\s+disabled', html)


def test_tolerance_counts_when_the_store_enables_it(client, make_account, customer, settings):
    customer(make_account(limit="700", tolerance="0.2").email)
    assert "Not enough credit" in get(client)[1]
    settings(tolerance_enabled=True)
    assert "Not enough credit" not in get(client)[1]


def test_an_account_on_hold_cannot_buy(client, session, make_account, purchase, customer, settings):
    settings(overdue_hold_days=5)
    account = make_account(limit="5000")
    purchase(account, "10")
    invoice = session.scalars(select(Invoice)).one()
    invoice.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=10)
    session.commit()
    customer(account.email)
    html = get(client)[1]
    assert "on hold" in html and 'id="refusal"' in html


def test_a_closed_account_cannot_buy(client, session, make_account, customer):
    account = make_account(limit="5000")
    credit.close_account(session, account.id, actor="test", reason="closed for the test")
    customer(account.email)
    assert "This account is closed" in get(client)[1]


def test_a_dependent_is_held_to_their_cap(app, client, session, make_account, customer):
    account = make_account(limit="5000", name="Family Store")
    credit.add_holder(session, account.id, "kid@example.com", actor="test", spending_cap="500")
    customer("kid@example.com")
    html = get(client)[1]
    assert "Family Store" in html and "exceeds your own spending cap" in html
    assert formatted(app, "500.00") in html
    assert 'id="refusal"' not in get(client, "?qty-paper=2&qty-toner=0&qty-chair=0&qty-pens=0")[1]


def test_an_empty_cart_cannot_be_ordered(client, make_account, customer):
    customer(make_account().email)
    html = get(client, "?qty-paper=0&qty-toner=0&qty-chair=0&qty-pens=0")[1]
    assert "Your cart is empty" in html and 'disabled aria-describedby="refusal"' in html


def test_several_accounts_can_be_chosen(client, session, make_account, customer):
    own = make_account(limit="100", name="Own Shop")
    shared = make_account(limit="9000", name="Family Store")
    credit.add_holder(session, shared.id, own.email, actor="test")
    customer(own.email)
    html = get(client)[1]
    assert 'id="account-select"' in html and "Not enough credit" in html
    html = get(client, f"?account={shared.id}")[1]
    assert "Not enough credit" not in html
    assert form_values(html)["account"] == shared.id


def test_someone_elses_account_is_404(client, make_account, customer):
    mine, theirs = make_account(), make_account()
    customer(mine.email)
    assert get(client, f"?account={theirs.id}")[0] == 404
    values = form_values(get(client)[1]) | {"account": theirs.id}
    assert client.post("/checkout/orders", data=values).status_code == 404


# --- placing the order -----------------------------------------------------------------------


def test_placing_an_order_holds_the_total(app, client, session, make_account, customer, terms):
    terms("30", "30/60/90")
    account = make_account(limit="2000")
    user = customer(account.email)
    html = get(client, "?qty-paper=1&qty-toner=1&qty-chair=0&qty-pens=2")[1]  # 623.90
    values = form_values(html) | {"term": "30/60/90"}
    response = client.post("/checkout/orders", data=values)
    assert response.status_code == 303
    (hold,) = holds(session)
    assert re.fullmatch(r"ORD-\d{8}", hold.order_id)
    assert re.fullmatch(r"[0-9a-f]{32}", hold.id)
    assert response.location == f"/checkout/orders/{hold.order_id}"
    assert (hold.status, hold.value, hold.payment_term) == (
        "Authorized",
        Decimal("623.90"),
        "30/60/90",
    )
    assert (hold.holder_email, hold.done_by, hold.installments) == (user.email, user.email, 3)
    session.expire_all()
    account = session.get(Account, account.id)
    assert account.pre_authorized == Decimal("623.90")
    assert account.available_credit == Decimal("1376.10")

    page = client.get(response.location).get_data(as_text=True)
    assert hold.order_id in page and formatted(app, "623.90") in page
    assert "pre-authorized on your credit until it is billed" in page.lower()
    assert "30/60/90 days" in page
    assert formatted(app, "1376.10") in get(client)[1]


def test_submitting_the_same_form_twice_places_one_order(client, session, make_account, customer):
    customer(make_account(limit="5000").email)
    values = form_values(get(client)[1])
    first = client.post("/checkout/orders", data=values)
    second = client.post("/checkout/orders", data=values)
    assert first.status_code == second.status_code == 303
    assert first.location == second.location
    assert len(holds(session)) == 1


def test_a_refused_order_writes_nothing(client, session, make_account, purchase, customer):
    account = make_account(limit="1000")
    customer(account.email)
    values = form_values(get(client)[1])  # 771.30 fits now…
    purchase(account, "500", settle=False)  # …but not after another purchase
    response = client.post("/checkout/orders", data=values)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="order-error"' in html and "Not enough credit" in html
    assert len(holds(session)) == 1


def test_a_changed_cart_is_not_charged(client, session, make_account, customer):
    customer(make_account(limit="5000").email)
    values = form_values(get(client)[1]) | {"qty-chair": "1"}
    response = client.post("/checkout/orders", data=values)
    assert response.status_code == 422 and "Your cart changed" in response.get_data(as_text=True)
    assert holds(session) == []


@pytest.mark.parametrize("total", ["sNaN", "Infinity"])  # sNaN cannot even be compared
def test_a_total_that_is_not_a_number_is_a_changed_cart(
    client, session, make_account, customer, total
):
    customer(make_account(limit="5000").email)
    values = form_values(get(client)[1]) | {"total": total, "qty-paper": "²"}
    response = client.post("/checkout/orders", data=values)
    assert response.status_code == 422 and "Your cart changed" in response.get_data(as_text=True)
    assert holds(session) == []


def test_a_term_the_store_does_not_offer_is_refused(client, session, make_account, customer):
    customer(make_account(limit="5000").email)
    values = form_values(get(client)[1]) | {"term": "1/2/3"}
    response = client.post("/checkout/orders", data=values)
    assert response.status_code == 422 and holds(session) == []


def test_order_without_csrf_token_is_refused(app, client, session, make_account, customer):
    customer(make_account(limit="5000").email)
    app.config["WTF_CSRF_ENABLED"] = True
    html = get(client)[1]
    values = form_values(html)
    assert values.pop("csrf_token")
    assert client.post("/checkout/orders", data=values).status_code == 400
    assert holds(session) == []
    values["csrf_token"] = form_values(html)["csrf_token"]
    assert client.post("/checkout/orders", data=values).status_code == 303
    assert len(holds(session)) == 1


def test_an_order_of_someone_else_is_404(client, session, make_account, purchase, customer):
    mine, theirs = make_account(), make_account()
    purchase(theirs, "10", settle=False, order_id="ORD-00000042")
    customer(mine.email)
    assert client.get("/checkout/orders/ORD-00000042").status_code == 404
    assert client.get("/checkout/orders/ORD-99999999").status_code == 404
    assert client.get("/checkout/orders/ORD%00").status_code == 400  # no NUL reaches a page


def test_the_order_page_follows_the_hold(client, session, make_account, purchase, customer):
    account = make_account()
    hold = purchase(account, "10", settle=False, order_id="ORD-00000007")
    customer(account.email)
    assert "pre-authorized on your credit" in client.get("/checkout/orders/ORD-00000007").get_data(
        as_text=True
    )
    credit.settle(session, account.id, hold.id, "10", actor="test")
    assert "was billed" in client.get("/checkout/orders/ORD-00000007").get_data(as_text=True)
    count = session.scalar(select(func.count()).select_from(Invoice))
    assert count == 1
