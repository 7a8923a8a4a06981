"""Free-text search by index (portal/search.py): folded text kept current by every write,
the same answers on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm), ids by prefix for
one or two characters, and plans that start from the search index."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

from portal import credit, listing
from portal.extensions import db
from portal.models import Holder, Invoice
from portal.search import fold


def _ids(session, spec, q: str, **filters) -> set[str]:
    query = listing.parse(spec, {"q": q, "perPage": "1000", **filters})
    return {row.id for row in listing.run(session, spec, query).items}


def _friendly(invoices) -> set[str]:
    return {invoice.id for invoice in invoices}


@pytest.fixture
def store(session, make_account, purchase):
    jose = make_account(email="compras@josé.example", name="José Café Ltda", limit="5000")
    ana = make_account(email="ana@example.com", name="Ana Souza ME", limit="5000")
    credit.add_holder(session, ana.id, "filho.da.ana@example.com", actor="t")
    purchase(jose, "300", term="30/60/90", order_id="ORD-ABC-1")
    purchase(ana, "100", order_id="ORD-XYZ-2")
    by_account = {
        account.id: session.query(Invoice).filter_by(account_id=account.id).all()
        for account in (jose, ana)
    }
    return jose, ana, by_account


def test_fold_lowercases_and_drops_accents():
    assert fold("  José  CAFÉ\tLtda ") == "jose cafe ltda"
    assert fold("Ação Çedilha ñ") == "acao cedilha n"
    assert fold(None) == ""


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text_folds_as_any_text_does(value):
    """`fold` takes a shortcut for ASCII text: the same result as the whole rule (here
    through a leading "é", which is not ASCII and folds to "e")."""
    assert fold("é" + value) == fold("e" + value)


def test_accounts_by_any_word_without_accents_or_case(session, store):
    jose, ana, _ = store
    assert _ids(session, listing.ACCOUNTS, "jose") == {jose.id}
    assert _ids(session, listing.ACCOUNTS, "JOSÉ café") == {jose.id}
    assert _ids(session, listing.ACCOUNTS, "souza") == {ana.id}
    assert _ids(session, listing.ACCOUNTS, "filho.da") == {ana.id}  # a dependent's e-mail
    assert _ids(session, listing.ACCOUNTS, ana.document[3:9]) == {ana.id}
    assert _ids(session, listing.ACCOUNTS, "nobody-here") == set()


def test_invoices_by_their_words_and_their_account(session, store):
    jose, ana, invoices = store
    assert _ids(session, listing.INVOICES, "jose") == _friendly(invoices[jose.id])
    assert _ids(session, listing.INVOICES, "abc-1") == _friendly(invoices[jose.id])
    assert _ids(session, listing.INVOICES, "filho.da") == _friendly(invoices[ana.id])
    one = invoices[jose.id][1]
    assert _ids(session, listing.INVOICES, one.friendly_id) == {one.id}
    assert _ids(session, listing.INVOICES, one.friendly_id[2:7]) >= {one.id}  # inside it
    # combined with a filter
    assert _ids(session, listing.INVOICES, "ltda", status="Paid") == set()


def test_one_or_two_characters_match_ids_by_prefix_only(session, store):
    jose, _, invoices = store
    one = invoices[jose.id][0]
    assert one.id in _ids(session, listing.INVOICES, one.friendly_id[:2])
    assert _ids(session, listing.INVOICES, "é") == set()  # no word search under 3 characters
    assert _ids(session, listing.ACCOUNTS, jose.id[:2]) >= {jose.id}


def test_writes_keep_the_search_current(session, store):
    jose, ana, invoices = store
    one = invoices[ana.id][0]
    credit.annotate_invoice(
        session, ana.id, one.id, actor="t", observation="Pago via Pix — São Paulo"
    )
    assert _ids(session, listing.INVOICES, "sao paulo") == {one.id}
    credit.annotate_invoice(session, ana.id, one.id, actor="t", observation="")
    assert _ids(session, listing.INVOICES, "sao paulo") == set()
    credit.update_account(session, jose.id, actor="t", name="Padaria Brasília")
    assert _ids(session, listing.ACCOUNTS, "brasilia") == {jose.id}
    assert _ids(session, listing.ACCOUNTS, "cafe ltda") == set()
    assert _ids(session, listing.INVOICES, "brasilia") == _friendly(invoices[jose.id])


def test_wildcards_and_quotes_are_plain_characters(session, store):
    _, ana, invoices = store
    one = invoices[ana.id][0]
    credit.annotate_invoice(session, ana.id, one.id, actor="t", observation='50% "off" a_b')
    for q in ("50%", '"off"', "a_b", '%"'):
        expected = {one.id} if q != '%"' else set()
        assert _ids(session, listing.INVOICES, q) == expected, q
    assert _ids(session, listing.INVOICES, "%%%") == set()


def test_the_sqlite_index_follows_inserts_updates_and_deletes(session, store, app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the FTS5 table exists on SQLite only")
    rows = session.execute(text("SELECT count(*) FROM invoices_fts")).scalar()
    assert rows == session.query(Invoice).count()
    stale = session.execute(
        text(
            "SELECT count(*) FROM invoices i JOIN invoices_fts f"
            " ON f.rowid = CAST(i.friendly_id AS INTEGER) WHERE f.search_text != i.search_text"
        )
    ).scalar()
    assert stale == 0


def _accounts_fts(session) -> set[tuple[str, str]]:
    return {
        tuple(row) for row in session.execute(text("SELECT account_id, text FROM accounts_fts"))
    }


def _expected_accounts_fts(session) -> set[tuple[str, str]]:
    accounts = [tuple(r) for r in session.execute(text("SELECT id, search_text FROM accounts"))]
    holders = [tuple(r) for r in session.execute(text("SELECT account_id, email FROM holders"))]
    return {*accounts, *holders}


def test_the_sqlite_accounts_index_follows_accounts_and_holders(session, store):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the FTS5 table exists on SQLite only")
    jose, ana, _ = store
    assert _accounts_fts(session) == _expected_accounts_fts(session)
    credit.update_account(session, jose.id, actor="t", name="Padaria Brasília")
    dependent = session.scalars(
        select(Holder).where(Holder.account_id == ana.id, Holder.level == 2)
    ).one()
    credit.remove_holder(session, ana.id, dependent.id, actor="t")
    credit.add_holder(session, jose.id, "neta@example.com", actor="t")
    assert _accounts_fts(session) == _expected_accounts_fts(session)
    rows = session.execute(text("SELECT count(*) FROM accounts_fts_rows")).scalar()
    assert rows == len(_expected_accounts_fts(session))  # nothing left behind
    assert _ids(session, listing.ACCOUNTS, "filho.da") == set()
    assert _ids(session, listing.ACCOUNTS, "neta@") == {jose.id}


def test_plans_start_from_the_search_index(session, store):
    query = listing.parse(listing.INVOICES, {"q": "jose cafe", "sort": "-dueDate"})
    stmt = listing.where(listing.INVOICES, query)
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(
            str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
        assert "VIRTUAL TABLE INDEX" in plan and "invoices_fts" in plan, plan
        assert "accounts_fts VIRTUAL TABLE" in plan and "SCAN accounts " not in plan, plan
    else:
        indexes = set(session.scalars(text("SELECT indexname FROM pg_indexes")))
        assert {"ix_invoices_search_trgm", "ix_accounts_search_trgm"} <= indexes
        assert "ix_holders_email_trgm" in indexes
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))
        assert "ix_invoices_search_trgm" in plan and "ix_accounts_search_trgm" in plan, plan
        session.rollback()
