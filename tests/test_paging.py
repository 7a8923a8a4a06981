"""Deep pages and totals at store scale (portal/listing.py, issue 14 item 2).

A deep page picks its ids from the sort's index before reading rows: it must list exactly
what a plain OFFSET lists, for every sort. The plans must read the sort indexes (and, for
the totals of status and due-date filters, the covering index alone), and a free-text
search matching more than the cap gets its exact totals on request.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from portal import credit, figures, listing
from portal.admin import totals
from portal.extensions import db
from portal.models import Account, Invoice, PreAuthorization

SORTS = ["due_date", "-due_date", "createdAt", "-value", "friendly_id", "status", "-remaining"]


@pytest.fixture
def many_invoices(session):
    """300 invoices over 3 accounts with repeated due dates, values and creation times
    (ties everywhere, so the id tie-breaker decides)."""
    today = date(2026, 12, 1)
    accounts = [
        Account(
            id=f"0000000000{n}_Other",
            document=f"0000000000{n}",
            document_type="Other",
            email=f"buyer{n}@example.com",
            credit_limit=Decimal("100000.00"),
            balance=Decimal("100000.00"),
        )
        for n in range(3)
    ]
    session.add_all(accounts)
    session.flush()
    holds, invoices = [], []
    for i in range(300):
        tid = f"T{i:05d}"
        value = Decimal(10 + i % 7)
        holds.append(
            PreAuthorization(
                id=tid,
                account_id=accounts[i % 3].id,
                status="Settled",
                value=value,
                original_value=value,
                installments=1,
                payment_term="30",
                available_at_approval=value,
                done_by="test",
            )
        )
        status = ["Opened", "Paid", "Cancelled", "Opened"][i % 4]
        invoices.append(
            Invoice(
                id=f"{tid}-01",
                friendly_id=f"{i:08d}",
                account_id=accounts[i % 3].id,
                transaction_id=tid,
                order_id=f"ORD{i}",
                installment=1,
                number_of_installments=1,
                status=status,
                value=value,
                paid_amount=value if status == "Paid" else Decimal("0.00"),
                due_date=today + timedelta(days=i % 5),
                original_due_date=today,
            )
        )
    session.add_all(holds)
    session.flush()
    session.add_all(invoices)
    session.commit()
    if db.engine.dialect.name == "postgresql":  # a visibility map, as a live store has
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE invoices"))


def _ids(session, args: dict, monkeypatch, deep_from: int) -> list[str]:
    monkeypatch.setattr(listing, "DEEP_OFFSET", deep_from)
    query = listing.parse(listing.INVOICES, args)
    return [row.id for row in listing.run(session, listing.INVOICES, query).items]


@pytest.mark.parametrize("sort", SORTS)
def test_a_deep_page_lists_what_a_plain_offset_lists(session, many_invoices, monkeypatch, sort):
    for args in (
        {"sort": sort, "page": "11", "perPage": "20"},
        {"sort": sort, "page": "3", "perPage": "7", "status": "Opened"},
        {"sort": sort, "page": "2", "perPage": "5", "q": "ord1"},
    ):
        plain = _ids(session, args, monkeypatch, deep_from=10**9)
        deep = _ids(session, args, monkeypatch, deep_from=0)
        assert plain and deep == plain, args


def test_the_last_page_and_beyond_are_exact(session, many_invoices, monkeypatch):
    last = _ids(session, {"sort": "due_date", "page": "15"}, monkeypatch, deep_from=0)
    assert len(last) == 20
    assert _ids(session, {"sort": "due_date", "page": "16"}, monkeypatch, deep_from=0) == []


def _plan(session, stmt) -> str:
    """The plan of `stmt`. On PostgreSQL, 300 rows make every plan cost alike, so scans of
    the table are turned off (which index it then picks among the equals is its choice:
    the benchmark shows the plans at store scale)."""
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    if db.engine.dialect.name == "sqlite":
        rows = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        return "\n".join(str(row[-1]) for row in rows)
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_bitmapscan = off"))
    session.execute(text("SET LOCAL enable_sort = off"))
    plan = "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))
    session.rollback()
    return plan


@pytest.mark.parametrize(
    ("args", "index"),
    [
        ({"sort": "due_date"}, "ix_invoices_due_sort"),
        ({"sort": "-createdAt"}, "ix_invoices_created_sort"),
        ({"sort": "value"}, "ix_invoices_value_sort"),
        ({"sort": "due_date", "status": "Paid"}, "ix_invoices_status_due"),
    ],
)
def test_deep_pages_walk_the_sort_index(session, many_invoices, args, index):
    query = listing.parse(listing.INVOICES, {**args, "page": "1000"})
    stmt = listing._rows(
        listing.INVOICES, listing.where(listing.INVOICES, query), query.sort, 20_000, 20
    )
    plan = _plan(session, stmt)
    assert index in plan, plan
    if db.engine.dialect.name == "sqlite":  # ids from the index alone (the 20 rows are sorted)
        assert f"COVERING INDEX {index}" in plan, plan


@pytest.mark.parametrize(
    ("args", "index"),
    [
        ({"status": "Opened"}, "ix_invoices_status_due"),
        ({"status": "Overdue"}, "ix_invoices_status_due"),
        ({"dueDateFrom": "2026-12-02", "dueDateTo": "2026-12-03"}, "ix_invoices_due_sort"),
    ],
)
def test_totals_of_status_and_due_date_filters_read_an_index_alone(
    session, many_invoices, args, index
):
    query = listing.parse(listing.INVOICE_TOTALS, args)
    matched = listing.where(listing.INVOICE_TOTALS, query).subquery()
    by_status, overdue, not_yet_due = listing.invoice_total_queries(matched)
    for stmt in (by_status, overdue, not_yet_due):
        plan = _plan(session, stmt)
        if db.engine.dialect.name == "sqlite":
            assert "COVERING INDEX ix_invoices_" in plan, plan
            assert index in _plan(session, by_status), plan
        else:
            assert "Index" in plan and "Seq Scan" not in plan, plan
            indexes = set(session.scalars(text("SELECT indexname FROM pg_indexes")))
            assert index in indexes


def test_totals_add_up_per_status(session, many_invoices):
    query = listing.parse(listing.INVOICE_TOTALS, {"dueDateFrom": "2026-12-02"})
    totals = listing.summarize(session, listing.INVOICE_TOTALS, query)
    rows = [i for i in session.scalars(db.select(Invoice)) if i.due_date >= date(2026, 12, 2)]
    assert totals["count"] == len(rows) == 240
    for status, key in (("Paid", "totalPaid"), ("Cancelled", "totalCancelled")):
        assert totals[key] == sum(i.value for i in rows if i.status == status)
        assert totals[f"count{status}"] == sum(i.status == status for i in rows)
    assert totals["total"] == sum(i.value - i.paid_amount for i in rows if i.status == "Opened")
    today = credit.store_today(credit.get_settings(session))
    late = [i for i in rows if i.status == "Opened" and i.due_date < today]
    assert totals["countOverdue"] == len(late)
    assert totals["totalOverdue"] == sum(i.value - i.paid_amount for i in late)


def test_totals_of_a_broad_search_are_computed_on_request(
    client, login, session, many_invoices, monkeypatch
):
    login("finance")
    monkeypatch.setattr(totals, "COUNT_CAP", 50)
    broad = client.get("/admin/invoices/totals?q=ord", headers={"HX-Request": "true"})
    assert broad.status_code == 200
    page = broad.get_data(as_text=True)
    assert "More than 50 match this search." in page
    assert "exact=1" in page and "300 invoices" not in page

    exact = client.get("/admin/invoices/totals?q=ord&exact=1", headers={"HX-Request": "true"})
    assert "300 invoices" in exact.get_data(as_text=True)

    narrow = client.get("/admin/invoices/totals?q=ord12", headers={"HX-Request": "true"})
    assert "invoices" in narrow.get_data(as_text=True)  # ord12, ord120–129: exact at once
    filtered = client.get("/admin/invoices/totals?status=Opened")
    assert "150 invoices" in filtered.get_data(as_text=True)  # a filter, not a search


SEARCHES = ["ord1", "ord12", "ord", "buyer1", "example", "holder.x", "00000012", "T0001-", "zz"]


@pytest.mark.parametrize("spec", [listing.INVOICES, listing.ACCOUNTS], ids=lambda s: s.name)
def test_a_search_tested_row_by_row_matches_the_same_rows(session, many_invoices, spec):
    """The broad form of a search (portal/search.py) is the same set as its union of
    index lookups, for words of the row, of its account and of a holder, and ids."""
    credit.add_holder(session, "00000000001_Other", "holder.x@example.com", actor="t")
    for q in SEARCHES:
        query = listing.parse(spec, {"q": q})
        narrow, broad = (
            set(
                session.scalars(
                    listing.where(spec, query, broad=b).with_only_columns(spec.model.id)
                )
            )
            for b in (False, True)
        )
        assert broad == narrow, q
    assert len(narrow) == 0 and len(broad) == 0  # "zz": no id starts with it


@pytest.mark.parametrize("sort", ["due_date", "-value", "friendly_id"])
def test_a_list_page_of_a_search_is_what_the_full_listing_pages(
    session, many_invoices, monkeypatch, sort
):
    """The list's search page (count and page read from one lookup of the matches, and a
    broad search's page walking the sort order) lists what the exact listing lists."""
    monkeypatch.setattr(listing, "BROAD_SEARCH", 10)
    for q, page, deep_from in (("ord1", "2", 10**9), ("ord", "3", 10**9), ("ord", "9", 0)):
        args = {"q": q, "sort": sort, "page": page, "perPage": "7"}
        monkeypatch.setattr(listing, "DEEP_OFFSET", deep_from)
        query = listing.parse(listing.INVOICES, args)
        exact = listing.run(session, listing.INVOICES, query)
        capped = listing.run(session, listing.INVOICES, query, count_cap=10)
        assert [i.id for i in capped.items] == [i.id for i in exact.items], args
        assert capped.items and capped.capped and capped.total == 11 < exact.total, args
    narrow = listing.parse(
        listing.INVOICES, {"q": "ord12", "sort": sort, "page": "2", "perPage": "5"}
    )
    page = listing.run(session, listing.INVOICES, narrow, count_cap=100)
    assert not page.capped and page.total == 11 and len(page.items) == 5  # ord12, ord120–129
    past = listing.parse(listing.INVOICES, {"q": "ord12", "page": "9"})
    assert listing.run(session, listing.INVOICES, past, count_cap=100).total == 11


def test_a_search_page_looks_its_matches_up_once(
    client, login, session, many_invoices, sql_statements
):
    """The list asks the search indexes once for the count and the page together, for a
    hit and for a miss (an empty first page is a count of 0); a page past the end of the
    matches counts them on its own."""
    login("finance")
    for q, page, shown, lookups in (
        ("ord12", 1, "ORD120", 1),
        ("zzqxj", 1, "No invoice matches.", 1),
        ("ord12", 9, "0–0 of 11", 2),  # not "0–160 of 11"
    ):
        with sql_statements() as seen:
            answer = client.get(
                f"/admin/invoices?q={q}&page={page}", headers={"HX-Request": "true"}
            )
        assert answer.status_code == 200 and shown in answer.get_data(as_text=True), q
        searching = [s for s in seen if " LIKE " in s or " MATCH " in s]
        assert len(searching) == lookups, (q, page, searching)


def test_each_lookup_gives_a_row_once_and_their_union_is_the_search(session, many_invoices):
    """The index lookups of a search (what a list counts up to its cap from) give each
    row once, and together exactly the rows of the search."""
    credit.add_holder(session, "00000000001_Other", "holder.x@example.com", actor="t")
    for spec in (listing.INVOICES, listing.ACCOUNTS):
        for q in SEARCHES:
            query = listing.parse(spec, {"q": q})
            matches = set(
                session.scalars(listing.where(spec, query).with_only_columns(spec.model.id))
            )
            found: set[str] = set()
            for lookup in spec.lookups(q):
                ids = list(session.scalars(lookup))
                assert len(ids) == len(set(ids)), (spec.name, q)
                found |= set(ids)
            assert found == matches, (spec.name, q)


@pytest.mark.parametrize("most", [1, 5, 11, 12, 76, 400])
def test_a_search_is_counted_up_to_a_bound(session, many_invoices, most):
    """Counting up to `most` from the lookups, each stopped at `most`: the exact count
    when it is below, `most` otherwise, with filters (all or any) and without."""
    credit.add_holder(session, "00000000002_Other", "holder.y@example.com", actor="t")
    for spec, q, filters in (
        (listing.INVOICES, "ord12", {}),
        (listing.INVOICES, "ord", {}),
        (listing.INVOICES, "ord", {"status": "Paid"}),
        (listing.INVOICES, "buyer1", {"status": "Opened"}),
        (listing.INVOICES, "example", {"status": "Paid", "due_from": "2026-12-03", "op": "or"}),
        (listing.ACCOUNTS, "example", {}),
        (listing.ACCOUNTS, "holder.y", {}),
    ):
        query = listing.parse(spec, {"q": q, **filters})
        exact = listing.summarize(session, spec, query)["count"]
        assert exact, (q, filters)
        assert listing.count_up_to(session, spec, query, most) == min(exact, most), (q, filters)


@pytest.mark.parametrize(
    "filters",
    [{}, {"status": "Opened"}, {"status": "Paid,Cancelled"}, {"status": "Overdue"}],
    ids=["all", "opened", "paid-cancelled", "overdue"],
)
def test_totals_from_the_rollups_are_the_totals_of_the_invoices(
    session, many_invoices, monkeypatch, filters, sql_statements
):
    """The store's totals (and a status filter's) add up the per-account rollups kept by
    triggers: after payments, a cancellation and a reopening they are what adding up the
    invoices gives, to the cent."""
    opened = session.scalars(
        db.select(Invoice).where(Invoice.status == "Opened").order_by(Invoice.id).limit(3)
    ).all()
    credit.pay_invoice(session, opened[0].account_id, opened[0].id, "3.50", actor="t")
    credit.pay_invoice(session, opened[1].account_id, opened[1].id, actor="t")
    credit.cancel_invoice(session, opened[2].account_id, opened[2].id, actor="t")
    credit.reopen_invoice(session, opened[1].account_id, opened[1].id, actor="t")
    query = listing.parse(listing.INVOICE_TOTALS, filters)
    with sql_statements() as seen:
        from_rollups = listing.summarize(session, listing.INVOICE_TOTALS, query)
    monkeypatch.setattr(listing, "_rolled_up_statuses", lambda query: None)
    assert from_rollups == listing.summarize(session, listing.INVOICE_TOTALS, query)
    used = any("invoice_rollups" in sql for sql in seen)
    assert used == (filters.get("status") != "Overdue")
    assert [b for b in credit.find_breaches(session) if "rollup" in b] == []


@pytest.mark.parametrize("days", [None, -1, 0, 2])
@pytest.mark.parametrize("op", ["and", "or"])
def test_overdue_totals_of_a_due_date_bound_match_the_invoices(session, many_invoices, days, op):
    """Up to a due date on or after today, the overdue figures are the Opened ones less
    those not yet due; before today, all the Opened ones: the same as counting them."""
    for n, invoice in enumerate(session.scalars(db.select(Invoice).order_by(Invoice.id))):
        if invoice.status == "Opened" and n % 3 == 0:
            invoice.paid_amount = Decimal("1.25")  # partly paid: due is value - paid
    session.commit()
    today = credit.store_today(credit.get_settings(session))
    args = {"status": "Opened,Paid"}
    if days is not None:
        args["due_to"] = (today + timedelta(days=days)).isoformat()
    if op == "or":
        args |= {"op": "or", "value_min": "15"}
    query = listing.parse(listing.INVOICE_TOTALS, args)
    totals = listing.summarize(session, listing.INVOICE_TOTALS, query)

    matched = listing.where(listing.INVOICE_TOTALS, query).with_only_columns(Invoice.id)
    ids = set(session.scalars(matched))
    rows = [i for i in session.scalars(db.select(Invoice)) if i.id in ids]
    late = [i for i in rows if i.status == "Opened" and i.due_date < today]
    assert totals["count"] == len(rows)
    assert totals["countOverdue"] == len(late)
    assert totals["totalOverdue"] == sum((i.value - i.paid_amount for i in late), Decimal(0))
    assert any(i.paid_amount for i in late) or not late


@pytest.mark.parametrize(
    "args", [figures.NEAR_LIMIT_ACCOUNTS, figures.OVER_LIMIT_ACCOUNTS, {"status": "Open"}]
)
def test_sqlite_reads_the_limit_watchlists_from_one_index(session, args):
    """The dashboard's near- and over-limit counts and the Open accounts' totals read
    limit, balance, pre-authorized and status from ix_accounts_limit_sort alone on SQLite
    (migration c4e7a9d2b6f1); PostgreSQL keeps pre_authorized out of its indexes."""
    if db.engine.dialect.name != "sqlite":
        indexed = session.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_accounts_limit_sort'")
        )
        assert indexed.endswith("(credit_limit, id)"), indexed
        return
    session.execute(
        db.insert(Account),
        [
            {
                "id": f"{n:011d}_Other",
                "document": f"{n:011d}",
                "document_type": "Other",
                "email": f"buyer{n}@example.com",
                "credit_limit": Decimal(1000),
                "balance": Decimal(1000 - n * 37 % 1300),  # 0 to 130 % of the limit used
                "status": "Open" if n % 10 else "Closed",
            }
            for n in range(500)
        ],
    )
    session.commit()
    session.execute(text("ANALYZE accounts"))
    query = listing.parse(listing.ACCOUNTS, args)
    matched = listing.where(listing.ACCOUNTS, query).subquery()
    aggregates = select(func.count(), *listing.ACCOUNTS.summary(matched)).select_from(matched)
    plan = _plan(session, aggregates)
    assert "COVERING INDEX ix_accounts_limit_sort" in plan, plan
    totals = listing.summarize(session, listing.ACCOUNTS, query)
    accounts = session.scalars(listing.where(listing.ACCOUNTS, query)).all()
    assert totals["count"] == len(accounts) > 0


@pytest.mark.parametrize(
    "path", ["/admin/invoices", "/admin/accounts", "/admin/outbox", "/admin/audit"]
)
def test_a_page_past_the_end_says_so_and_links_back(
    client, login, session, purchase, make_account, path
):
    """A shared link to page 99 of a list that has shrunk: the empty table says the page is
    past the end, how many rows match, and links to the first page (not "nothing
    matches" under a count of matches, nor "0–1980 of 1"). The users page shows its last
    page instead (portal/admin/people.py)."""
    from portal import outbox
    from portal.credit.ledger import write_transaction

    login("owner")
    purchase(make_account(), "10.00")
    with write_transaction(session):
        outbox.enqueue(session, topic="invite", recipient="x@example.com", payload={})
    for headers in ({}, {"HX-Request": "true"}):
        answer = client.get(f"{path}?page=99", headers=headers)
        html = answer.get_data(as_text=True)
        assert answer.status_code == 200, path
        assert "This page is past the end of the list (" in html, path
        back = re.search(r'<a href="([^"]*)"[^>]*>Back to the first page</a>', html)
        assert back and back[1].split("?")[0] == path, path
        assert "page=" not in back[1].replace("perPage=", ""), back[1]  # the first page
        assert "0–0 of " in html and "matches." not in html, path
    first = client.get(path).get_data(as_text=True)
    assert "past the end" not in first, path
