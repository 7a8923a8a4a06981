"""The staff dashboard: real figures from the ledger, aging, activity, and who may see it."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal import credit, figures, people
from portal.i18n import money
from portal.models import Invoice

from ..conftest import ROLE_PASSWORD


def formatted(app, value: str) -> str:
    """An amount as the page shows it (store currency, English locale)."""
    with app.test_request_context():
        return money(Decimal(value))


@pytest.fixture
def portfolio(session, make_account, purchase):
    """Two open accounts (1000 + 500) and a closed one (200); 300 billed in 3 installments,
    50 pre-authorized, one invoice partly paid, two of them overdue (10 and 100 days)."""
    first = make_account(limit="1000")
    second = make_account(limit="500")
    closed = make_account(limit="200")
    credit.close_account(session, closed.id, actor="test", reason="closed for the test")
    purchase(first, "300", term="30/60/90")
    purchase(second, "50", settle=False)
    invoices = session.scalars(select(Invoice).order_by(Invoice.installment)).all()
    today = credit.store_today(credit.get_settings(session))
    invoices[0].due_date = today - timedelta(days=10)
    invoices[1].due_date = today - timedelta(days=100)
    session.commit()
    credit.pay_invoice(session, first.id, invoices[2].id, "40", actor="test")
    return first, second, closed


def test_figures_are_computed_by_the_database(session, portfolio):
    totals = figures.portfolio(session)
    assert (totals.accounts, totals.closed_accounts) == (2, 1)
    assert totals.granted == Decimal("1500.00")
    assert totals.used == Decimal("260.00")
    assert totals.pre_authorized == Decimal("50.00")
    assert totals.available == Decimal("1190.00")
    receivables = figures.receivables(session, credit.get_settings(session))
    assert (receivables.open_amount, receivables.open_count) == (Decimal("260.00"), 3)
    assert (receivables.overdue_amount, receivables.overdue_count) == (Decimal("200.00"), 2)
    aging = {b.key: (b.amount, b.count) for b in receivables.buckets}
    assert aging == {
        "current": (Decimal("60.00"), 1),
        "1-30": (Decimal("100.00"), 1),
        "31-60": (Decimal("0.00"), 0),
        "61-90": (Decimal("0.00"), 0),
        "90+": (Decimal("100.00"), 1),
    }


@pytest.mark.parametrize(
    ("days_late", "bucket"),
    [
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
    ],
)
def test_aging_bucket_edges(session, make_account, purchase, days_late, bucket):
    account = make_account(limit="100")
    purchase(account, "10")
    invoice = session.scalars(select(Invoice)).one()
    settings = credit.get_settings(session)
    invoice.due_date = credit.store_today(settings) - timedelta(days=days_late)
    session.commit()
    counts = {b.key: b.count for b in figures.receivables(session, settings).buckets}
    assert counts[bucket] == 1 and sum(counts.values()) == 1


def test_dashboard_shows_the_figures(app, client, login, portfolio):
    login("support")
    response = client.get("/admin")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for amount in ("1500.00", "260.00", "50.00", "1190.00", "200.00", "60.00", "100.00"):
        assert formatted(app, amount) in html, amount
    assert "2 open accounts" in html and "1 closed" in html
    assert "3 invoices" in html and "2 invoices" in html
    chart = json.loads(
        re.search(r'<script type="application/json" id="aging-data">(.*?)</script>', html).group(1)
    )
    assert chart["keys"] == ["current", "1-30", "31-60", "61-90", "90+"]
    assert [Decimal(a) for a in chart["amounts"]] == [60, 100, 0, 0, 100]
    assert chart["counts"] == [1, 1, 0, 0, 1]
    assert "js/dashboard.js" in html and "chart.umd.min.js" in html


def test_recent_activity_lists_the_last_ten_events(client, login, portfolio, make_account):
    for _ in range(5):
        make_account()
    login("owner")
    html = client.get("/admin").get_data(as_text=True)
    activity = html.split('id="activity-title"')[1]
    assert activity.count('class="list-group-item') == 10
    newest = activity.index("test created the login owner")
    oldest_shown = activity.index("test recorded a payment of")
    assert newest < oldest_shown and "closed the account" not in activity


def test_empty_store_shows_zeros(app, client, login):
    login("finance")
    html = client.get("/admin").get_data(as_text=True)
    assert formatted(app, "0") in html
    assert "0 open accounts" in html


@pytest.mark.parametrize("role", ["owner", "finance", "support"])
def test_every_staff_role_sees_the_dashboard(client, login, role):
    login(role)
    assert client.get("/admin").status_code == 200


def test_customer_gets_403(client, session, login, make_account):
    account = make_account()
    user = people.create_user(
        session, account.email, "customer", actor="test", password=ROLE_PASSWORD
    )
    login(user=user)
    response = client.get("/admin")
    assert response.status_code == 403
    assert "Access denied" in response.get_data(as_text=True)


def test_anonymous_is_redirected_to_login(client):
    response = client.get("/admin")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_dashboard_lists_accounts_near_limit_and_on_hold(
    client, login, session, make_account, purchase, settings
):
    from datetime import timedelta

    from sqlalchemy import select

    from portal import credit
    from portal.models import Invoice

    settings(overdue_hold_days=5)
    full = make_account(limit="1000", name="Nearly Full Ltda")
    purchase(full, "850")
    late = make_account(limit="1000", name="Late Payer SA")
    purchase(late, "10")
    invoice = session.scalars(select(Invoice).where(Invoice.account_id == late.id)).one()
    invoice.due_date = credit.store_today(credit.get_settings(session)) - timedelta(days=6)
    session.commit()
    make_account(limit="1000", name="Comfortable")
    login("support")
    page = client.get("/admin").get_data(as_text=True)
    near = page.split('id="near-limit"')[1].split("</ul>")[0]
    held = page.split('id="on-hold"')[1].split("</ul>")[0]
    assert "Nearly Full Ltda" in near and "Comfortable" not in near
    assert "Late Payer SA" in held and "Nearly Full Ltda" not in held
    assert 'href="/admin/invoices?status=Overdue&amp;sort=due_date"' in page
    assert 'href="/admin/accounts?status=Open&amp;on_hold=yes"' in page
    assert 'href="/admin/accounts?status=Open&amp;utilization=80-100"' in page
