"""Free-text search of accounts and invoices, answered by an index on both engines.

Each account and invoice keeps one `search_text`: its words lowercased and without accents
(`fold`), so "jose" finds "José" and "ACME" finds "Acme". The ORM keeps it current (the
`before_insert` / `before_update` hooks below); a bulk insert that bypasses the ORM (the
accounts import, the benchmark store) fills it with `words`.

- PostgreSQL: a `pg_trgm` GIN index on `search_text` (and on `holders.email`) answers
  `search_text LIKE '%…%'`.
- SQLite: the FTS5 table `invoices_fts` (trigram tokenizer, rowid = the invoice's 8-digit
  friendly id as an integer) is kept in sync by triggers and answers the same substring
  as a phrase query; so does `accounts_fts` for accounts and their holders' e-mails (one
  row each, with the account id; migration 7c4d2e91a5b3).

A search of one or two characters (trigrams need three) matches ids exactly or by prefix
only. A search is a union of index lookups that yields row ids; the list then sorts and
pages those rows, so a narrow search never walks a table in sort order. A broad one (more
than `listing.BROAD_SEARCH` rows match: "ord" matches every order id) asks for the same
rows as a condition tested row by row (`broad=True`): its page is found by walking the
sort's index for a few hundred rows, where collecting and sorting a million matches takes
seconds.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    column,
    event,
    func,
    or_,
    select,
    table,
    text,
    union,
)
from sqlalchemy.sql import ColumnElement

from .models import Account, Holder, Invoice

MIN_INFIX = 3  # trigram indexes need three characters
_SPACES = re.compile(r"\s+")


def fold(value: object) -> str:
    """Lowercase, without accents, single-spaced: how text is stored and searched."""
    raw = str(value or "")
    if raw.isascii():  # ids, e-mails, documents: no accent to drop (an import folds 100k)
        return _SPACES.sub(" ", raw.lower()).strip()
    decomposed = unicodedata.normalize("NFKD", raw)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare.casefold()).strip()


def words(*parts: object) -> str:
    """The search text of a row made of these values (bulk writers call it directly)."""
    return fold(" ".join(str(p) for p in parts if p))[:2000]


def account_text(account: Account) -> str:
    return words(account.id, account.document, account.email, account.name, account.description)


def invoice_text(invoice: Invoice) -> str:
    return words(invoice.friendly_id, invoice.id, invoice.order_id, invoice.observation)


@event.listens_for(Account, "before_insert")
@event.listens_for(Account, "before_update")
def _account_search_text(mapper, connection, account: Account) -> None:
    account.search_text = account_text(account)


@event.listens_for(Invoice, "before_insert")
@event.listens_for(Invoice, "before_update")
def _invoice_search_text(mapper, connection, invoice: Invoice) -> None:
    invoice.search_text = invoice_text(invoice)


# --- conditions ------------------------------------------------------------------------


def _is_sqlite() -> bool:
    from .extensions import db

    return db.session.get_bind().dialect.name == "sqlite"


def _like_pattern(key: str) -> str:
    return "%" + key.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def _starts_with(column, value: str):
    """`column` starts with `value`, written so that the column's b-tree index serves it.

    SQLite's LIKE ignores case and so never uses a plain index: a range does (BINARY order
    is code point order). Elsewhere a LIKE with a constant prefix (the C collation).
    """
    if _is_sqlite():
        return and_(column >= value, column < value + "\U0010ffff")
    escaped = value.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return column.like(escaped + "%", escape="/")


def _contains(column, key: str):
    """`column` (a folded search text) contains `key`: the trigram index on PostgreSQL."""
    return column.like(_like_pattern(key), escape="/")


_INVOICES_FTS = table("invoices_fts", column("rowid", Integer))  # rowid: the friendly id
_ACCOUNTS_FTS = table("accounts_fts", column("account_id", String))


def _fts_match(fts, key: str):
    """`key` as an FTS5 phrase matched in `fts`: the trigram tokenizer matches it as a
    substring."""
    phrase = '"' + key.replace('"', '""') + '"'
    return text(f"{fts.name} MATCH :{fts.name}_phrase").bindparams(**{f"{fts.name}_phrase": phrase})


def _exact_invoice_ids(raw: str):
    """Invoices whose friendly id, id or order id is `raw` or starts with it."""
    return or_(
        Invoice.friendly_id == raw,
        _starts_with(Invoice.friendly_id, raw),
        Invoice.id == raw,
        _starts_with(Invoice.id, raw),
        Invoice.order_id == raw,
        _starts_with(Invoice.order_id, raw),
        Invoice.account_id == raw,
    )


def _exact_account_ids(raw: str, key: str):
    """Accounts whose id, document or e-mail is `raw` (the e-mail folded) or starts with it."""
    return or_(
        Account.id == raw,
        _starts_with(Account.id, raw),
        Account.document == raw,
        Account.email == key,
        _starts_with(Account.email, key),
    )


def invoice_lookups(q: str) -> list[Select]:
    """The invoices matching the search `q` as SELECTs of their ids, each answered by one
    index: by id (exactly or by prefix), and from three characters on by any word of the
    invoice or of its account (name, e-mail, document, holders). The matches are their
    union; each gives a row once (SQLite's DISTINCT is streamed, so a LIMIT still stops
    it early; PostgreSQL's would read every match first)."""
    raw = q.strip()
    key = fold(raw)
    exact = select(Invoice.id).where(_exact_invoice_ids(raw))
    if len(key) < MIN_INFIX:
        return [exact]
    if _is_sqlite():
        own = (
            select(Invoice.id)
            .select_from(_INVOICES_FTS)
            .join(Invoice, Invoice.friendly_id == func.printf("%08d", _INVOICES_FTS.c.rowid))
        )
        of_account = (
            select(Invoice.id)
            .select_from(_ACCOUNTS_FTS)
            .join(Invoice, Invoice.account_id == _ACCOUNTS_FTS.c.account_id)
        )
        return [
            own.where(_fts_match(_INVOICES_FTS, key)),
            of_account.where(_fts_match(_ACCOUNTS_FTS, key)).distinct(),  # holders too
            exact,
        ]
    accounts = union(
        select(Account.id).where(_contains(Account.search_text, key)),
        select(Holder.account_id).where(_contains(Holder.email, key)),
    )
    return [
        select(Invoice.id).where(_contains(Invoice.search_text, key)),
        select(Invoice.id).where(Invoice.account_id.in_(accounts)),
        exact,
    ]


def account_lookups(q: str) -> list[Select]:
    """The accounts matching the search `q` as SELECTs of their ids, each answered by one
    index: by id, document or e-mail (exactly or by prefix), and from three characters on
    by any of their words or their holders' e-mails. The matches are their union; each
    gives a row once (see `invoice_lookups`)."""
    raw = q.strip()
    key = fold(raw)
    exact = select(Account.id).where(_exact_account_ids(raw, key))
    if len(key) < MIN_INFIX:
        return [exact]
    if _is_sqlite():
        words = select(Account.id).select_from(_ACCOUNTS_FTS)
        words = words.join(Account, Account.id == _ACCOUNTS_FTS.c.account_id)
        return [words.where(_fts_match(_ACCOUNTS_FTS, key)).distinct(), exact]  # holders too
    holders = select(Holder.account_id).where(_contains(Holder.email, key))
    return [
        select(Account.id).where(_contains(Account.search_text, key)),
        select(Account.id).where(Account.id.in_(holders)),
        exact,
    ]


def _account_row_matches(key: str):
    """The account's search text or one of its holders' e-mails contains `key`, tested
    on the account row at hand."""
    holder = select(Holder.id).where(Holder.account_id == Account.id, _contains(Holder.email, key))
    return or_(_contains(Account.search_text, key), holder.exists())


def invoice_matches(q: str, broad: bool = False) -> ColumnElement[bool]:
    """Invoices matching the search `q` (`invoice_lookups`); `broad`: the same rows,
    tested row by row (see the module's docstring)."""
    raw = q.strip()
    key = fold(raw)
    if len(key) < MIN_INFIX:
        return _exact_invoice_ids(raw)
    if broad:
        account = select(Account.id).where(Account.id == Invoice.account_id)
        return or_(
            _contains(Invoice.search_text, key),
            account.where(_account_row_matches(key)).exists(),
            _exact_invoice_ids(raw),
        )
    return Invoice.id.in_(union(*invoice_lookups(q)))


def account_matches(q: str, broad: bool = False) -> ColumnElement[bool]:
    """Accounts matching the search `q` (`account_lookups`); `broad`: the same rows,
    tested row by row (see the module's docstring)."""
    raw = q.strip()
    key = fold(raw)
    if len(key) < MIN_INFIX:
        return _exact_account_ids(raw, key)
    if broad:
        return or_(_account_row_matches(key), _exact_account_ids(raw, key))
    return Account.id.in_(union(*account_lookups(q)))
