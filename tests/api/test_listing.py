"""The declarative listing behind the API searches (and, later, the admin tables)."""

from dataclasses import replace
from decimal import Decimal

import pytest

from portal import credit, listing


def test_parse_reads_known_parameters_only():
    query = listing.parse(
        listing.INVOICES,
        {
            "q": " abc ",
            "sort": "-dueDate,bogus,value",
            "status": "Paid",
            "unknown": "x",
            "page": "2",
            "perPage": "5000",
            "op": "OR",
        },
    )
    assert (query.q, query.sort, dict(query.filters), query.page, query.op) == (
        "abc",
        "-dueDate,value",
        {"status": "Paid"},
        2,
        "or",
    )
    assert query.per_page == listing.INVOICES.max_per_page


def test_bad_filter_values_raise_or_are_dropped():
    with pytest.raises(credit.InvalidInput) as error:
        listing.parse(listing.INVOICES, {"dueDateFrom": "tomorrow"})
    assert (error.value.code, error.value.field) == ("invalid_filter", "dueDateFrom")
    query = listing.parse(
        listing.INVOICES, {"dueDateFrom": "tomorrow", "status": "Paid"}, strict=False
    )
    assert dict(query.filters) == {"status": "Paid"}
    with pytest.raises(credit.InvalidInput):
        listing.parse(listing.INVOICES, {"page": "0"})


@pytest.mark.parametrize("raw", ["-1", "0", "abc", "²", "٣", "1.5", "1_0", "99999999999999"])
@pytest.mark.parametrize("name", ["page", "perPage"])
def test_bad_paging_raises_when_strict_and_falls_back_otherwise(name, raw):
    with pytest.raises(credit.InvalidInput) as error:
        listing.parse(listing.INVOICES, {name: raw})
    assert (error.value.code, error.value.field) == ("invalid_paging", name)
    assert name in error.value.message
    query = listing.parse(listing.AUDIT, {name: raw, "actor": "ana"}, strict=False)
    assert (query.page, query.per_page) == (1, listing.AUDIT.per_page)
    assert dict(query.filters) == {"actor": "ana"}


def test_good_paging_is_read_and_the_size_capped():
    query = listing.parse(listing.AUDIT, {"page": " 3 ", "perPage": "100000000"}, strict=False)
    assert (query.page, query.per_page) == (3, listing.AUDIT.max_per_page)
    assert listing.parse(listing.AUDIT, {"page": "", "perPage": ""}).page == 1


@pytest.mark.parametrize("raw", ["²", "abc", "2024-13-45", "-1", "a\x00b"])
def test_bad_dates_and_nul_characters_raise_or_are_dropped(raw):
    query = listing.parse(listing.AUDIT, {"from": raw, "to": raw, "actor": raw}, strict=False)
    assert dict(query.filters) == ({} if "\x00" in raw else {"actor": raw})
    with pytest.raises(credit.InvalidInput) as error:
        listing.parse(listing.STATEMENTS, {"from": raw})
    assert (error.value.code, error.value.field) == ("invalid_filter", "from")


def test_nul_characters_leave_the_search_or_refuse_it():
    assert listing.parse(listing.AUDIT, {"q": " a\x00b "}, strict=False).q == "ab"
    with pytest.raises(credit.InvalidInput) as error:
        listing.parse(listing.AUDIT, {"q": "a\x00b"})
    assert error.value.field == "q"


def test_to_args_drops_the_page_when_the_search_changes():
    query = listing.parse(listing.ACCOUNTS, {"status": "Open", "page": "3"})
    assert query.to_args() == {"status": "Open", "page": "3"}
    assert query.to_args(page=4) == {"status": "Open", "page": "4"}
    assert query.to_args(sort="-email") == {"status": "Open", "sort": "-email"}
    assert query.to_args(filters={}, q="ana") == {"q": "ana"}


def test_pages_are_stable_and_the_summary_covers_everything(session, make_account, purchase):
    account = make_account(limit="10000")
    for _ in range(5):
        purchase(account, "10.10", term="30/60")  # equal values: id breaks the ties
    query = listing.parse(listing.INVOICES, {"sort": "value", "perPage": "4"})
    pages = [listing.run(session, listing.INVOICES, replace(query, page=n)) for n in (1, 2, 3)]
    ids = [i.id for page in pages for i in page.items]
    assert len(ids) == len(set(ids)) == 10
    assert ids == sorted(ids)
    assert pages[0].summary == {
        "count": 10,
        "total": Decimal("50.50"),
        "totalPaid": Decimal("0.00"),
        "totalCancelled": Decimal("0.00"),
        "totalOverdue": Decimal("0.00"),
        "countOverdue": 0,
    }
    assert (pages[0].pages, pages[0].has_next, pages[2].has_next) == (3, True, False)


def test_search_escapes_wildcards(session, make_account):
    make_account(email="a_b@example.com")
    make_account(email="axb@example.com")
    query = listing.parse(listing.ACCOUNTS, {"q": "a_b"})
    page = listing.run(session, listing.ACCOUNTS, query)
    assert [a.email for a in page.items] == ["a_b@example.com"]
