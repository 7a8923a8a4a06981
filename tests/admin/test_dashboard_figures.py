"""Every figure of the dashboard is the count (and amount) of the list its link opens.

The store below has the cases where two definitions used to part: accounts on hold (one
whose hold was lifted, one whose overdue invoice is under the threshold, a closed one),
accounts near their limit (exactly 80 %, exactly 100 %, over it, a closed one, one just
under), and open invoices in every aging range, at each range's edges, partly paid, paid
and cancelled. The test reads each figure and its link from the rendered dashboard, opens
the link, and compares with the rows and the totals (`…/totals`) of that list.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal import credit
from portal.models import Invoice

MONEY = re.compile(r"-?R\$[0-9,]+\.[0-9]{2}")


def amount(text: str) -> Decimal:
    """The one amount of a text as the English pages write it (R$1,234.56)."""
    found = MONEY.findall(text)
    assert len(found) == 1, text
    return Decimal(found[0].replace("R$", "").replace(",", ""))


def amounts(text: str) -> list[Decimal]:
    return [Decimal(a.replace("R$", "").replace(",", "")) for a in MONEY.findall(text)]


def number(text: str) -> int:
    return int(re.search(r"[0-9][0-9,]*", text).group(0).replace(",", ""))


@pytest.fixture
def store(session, make_account, purchase, settings):
    """Accounts on hold or not, near their limit or not, invoices of every age."""
    settings(overdue_hold_days=30)
    today = credit.store_today(credit.get_settings(session))

    def invoices_of(account) -> list[Invoice]:
        return list(
            session.scalars(
                select(Invoice).where(Invoice.account_id == account.id).order_by(Invoice.id)
            )
        )

    def age(invoice: Invoice, days_late: int) -> None:
        invoice.due_date = today - timedelta(days=days_late)

    held = make_account(limit="1000", name="Held")
    purchase(held, "100")
    held_twice = make_account(limit="1000", name="Held twice")
    purchase(held_twice, "200", term="30/60")
    lifted = make_account(limit="1000", name="Hold lifted")
    purchase(lifted, "100")
    under = make_account(limit="1000", name="Under the threshold")
    purchase(under, "100")
    closed_held = make_account(limit="1000", name="Closed on hold")
    purchase(closed_held, "100")
    ages = make_account(limit="5000", name="Every age")
    for _ in range(12):
        purchase(ages, "10")
    # near the limit (in use = invoices + holds)
    exactly_80 = make_account(limit="1000", name="Exactly 80")
    purchase(exactly_80, "800")
    held_85 = make_account(limit="1000", name="Held 85")
    purchase(held_85, "850", settle=False)
    exactly_100 = make_account(limit="1000", name="Exactly 100")
    purchase(exactly_100, "1000")
    over = make_account(limit="1000", name="Over")
    purchase(over, "900")
    credit.change_limit(session, over.id, "500", actor="test", reason="risk")
    closed_90 = make_account(limit="1000", name="Closed 90")
    purchase(closed_90, "900")
    credit.close_account(session, closed_90.id, actor="test", reason="closed for the test")
    just_under = make_account(limit="1000", name="Just under")
    purchase(just_under, "799.99")
    make_account(limit="0", name="No limit")

    age(invoices_of(held)[0], 45)  # 31–60, on hold
    first, second = invoices_of(held_twice)
    age(first, 95)  # 90+, on hold (counted once)
    age(second, 65)  # 61–90
    age(invoices_of(lifted)[0], 40)
    age(invoices_of(under)[0], 10)  # 1–30, not on hold
    age(invoices_of(closed_held)[0], 50)
    edges = (0, -5, 1, 30, 31, 60, 61, 90, 91, 400, 20, 25)  # due today, in 5 days, late…
    for invoice, days_late in zip(invoices_of(ages), edges, strict=True):
        age(invoice, days_late)
    session.commit()
    credit.lift_hold(session, lifted.id, actor="test", reason="promised")
    credit.close_account(session, closed_held.id, actor="test", reason="closed for the test")
    late = invoices_of(ages)
    credit.pay_invoice(session, ages.id, late[9].id, "4", actor="test")  # 400 days: 6 left
    credit.pay_invoice(session, ages.id, late[10].id, actor="test")  # paid: in no list
    credit.cancel_invoice(session, ages.id, late[11].id, actor="test")  # cancelled: neither
    return {
        "on_hold": {held.id, held_twice.id, ages.id},
        "near_limit": {exactly_80.id, held_85.id},
        "over_limit": {exactly_100.id, over.id},
    }


def _figures(page: str) -> dict[str, tuple[str, str, str]]:
    """{label: (href, value, note)} of the dashboard's figure cards."""
    cards = re.findall(
        r'text-uppercase fw-semibold">([^<]+)</div>\s*<div class="[^"]*">'
        r'<a class="stretched-link[^"]*" href="([^"]+)">([^<]+)</a></div>\s*'
        r'(?:<div class="small text-body-secondary">([^<]*)</div>)?',
        page,
    )
    return {
        html.unescape(label): (html.unescape(href), html.unescape(value), html.unescape(note))
        for label, href, value, note in cards
    }


def _aging(page: str) -> list[tuple[str, int, Decimal]]:
    table = page.split('id="aging-table"')[1].split("</tbody>")[0]
    rows = re.findall(
        r'<a href="([^"]+)">[^<]+</a></td>\s*<td class="text-end">([^<]+)</td>\s*'
        r'<td class="text-end">([^<]+)</td>',
        table,
    )
    return [(html.unescape(href), number(count), amount(value)) for href, count, value in rows]


def _watchlist(page: str, list_id: str) -> tuple[str, int, list[str]]:
    """The link, the count and the accounts listed of one watchlist."""
    before, after = page.split(f'id="{list_id}"')
    heading = before.rsplit("<h3", 1)[1]
    href, count = re.search(
        r'href="([^"]+)">[^<]+</a>\s*<span class="badge [^"]+">([^<]+)</span>', heading
    ).groups()
    listed = re.findall(r'href="/admin/accounts/([^"?]+)"', after.split("</ul>")[0])
    return html.unescape(href), number(count), listed


def _open(client, href: str) -> tuple[str, str]:
    """The list page a link opens, and the totals of that same list."""
    url = urlsplit(href)
    assert url.path in ("/admin/accounts", "/admin/invoices"), href
    page = client.get(f"{href}&perPage=100")  # every row on one page
    totals = client.get(f"{url.path}/totals?{url.query}")
    assert page.status_code == totals.status_code == 200, href
    return page.get_data(as_text=True), html.unescape(totals.get_data(as_text=True))


def _account_rows(page: str) -> list[str]:
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'<td[^>]*><a href="/admin/accounts/([^"]+)">', body)


def _invoice_rows(page: str) -> int:
    return page.split("<tbody>")[1].split("</tbody>")[0].count('<tr id="invoice-')


def _account_totals(totals: str) -> dict[str, Decimal]:
    count = number(totals)
    limit, used, held, available = amounts(totals)
    return {"count": count, "limit": limit, "used": used, "held": held, "available": available}


def _invoice_totals(totals: str) -> tuple[int, Decimal]:
    """(how many invoices the list has, Σ still owed on them)."""
    return number(totals), amounts(totals)[0]


def test_every_figure_equals_the_list_it_links_to(client, login, store):
    login("support")
    page = client.get("/admin").get_data(as_text=True)
    figures = _figures(page)
    assert set(figures) == {
        "Credit granted",
        "Used",
        "Pre-authorized",
        "Available",
        "Open invoices",
        "Overdue",
    }

    # credit lines: each card opens the open accounts, its amount is that list's total
    for label, key in (
        ("Credit granted", "limit"),
        ("Used", "used"),
        ("Pre-authorized", "held"),
        ("Available", "available"),
    ):
        href, value, _note = figures[label]
        rows, totals = _open(client, href)
        assert amount(value) == _account_totals(totals)[key], label
    href, _value, note = figures["Credit granted"]
    rows, totals = _open(client, href)
    assert number(note) == _account_totals(totals)["count"] == len(_account_rows(rows)) == 11
    assert "1 closed" not in note and "2 closed" in note

    # receivables: count and amount still owed of the invoices the card opens
    for label, expected in (("Open invoices", 21), ("Overdue", 14)):
        href, value, note = figures[label]
        rows, totals = _open(client, href)
        count, owed = _invoice_totals(totals)
        assert (number(note), amount(value)) == (count, owed), label
        assert count == _invoice_rows(rows) == expected, label

    # aging: each row's count and amount are its list's; together they are the open ones
    aging = _aging(page)
    assert [count for _href, count, _amount in aging] == [7, 3, 5, 3, 3]
    for href, count, owed in aging:
        rows, totals = _open(client, href)
        assert (count, owed) == _invoice_totals(totals) and count == _invoice_rows(rows), href
    open_count, open_owed = _invoice_totals(_open(client, figures["Open invoices"][0])[1])
    assert sum(c for _h, c, _a in aging) == open_count
    assert sum(a for _h, _c, a in aging) == open_owed


@pytest.mark.parametrize("list_id", ["near-limit", "over-limit", "on-hold"])
def test_every_watchlist_count_equals_its_list(client, login, store, list_id):
    login("finance")
    page = client.get("/admin").get_data(as_text=True)
    href, count, listed = _watchlist(page, list_id)
    rows, totals = _open(client, href)
    accounts = _account_rows(rows)
    assert count == len(accounts) == _account_totals(totals)["count"]
    assert set(listed) == set(accounts) == store[list_id.replace("-", "_")]
