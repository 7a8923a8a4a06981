"""One table query: search, filters, sort and paging declared once per table.

A ListingSpec says which columns `q` searches, which filters exist (each parses its
query-string value and builds a SQL condition), which sort keys are allowed and how the
summary row is aggregated. `parse()` turns a query string into a ListingQuery, `run()`
returns one page plus the count and summary of the whole filtered set. The admin
tables, the CSV export and the API search all go through here, so a filter means the
same thing everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, func, or_, select, union
from sqlalchemy.orm import Session

from . import search
from .credit.errors import InvalidInput
from .models import (
    Account,
    AuditEvent,
    Invoice,
    OutboxMessage,
    StatementEntry,
    User,
    invoice_rollups,
)

CENT = Decimal("0.01")
PAGING = ("q", "sort", "page", "perPage", "op")


@dataclass(frozen=True)
class Filter:
    """A named filter: `parse` checks the raw value, `condition` builds the WHERE clause."""

    name: str
    condition: Callable[[Any], Any]
    parse: Callable[[str], Any] = str


@dataclass(frozen=True)
class ListingSpec:
    """What a table can be searched, filtered and sorted by."""

    name: str
    model: type
    search: Sequence[Any] = ()
    filters: Sequence[Filter] = ()
    sorts: Mapping[str, Any] = field(default_factory=dict)
    default_sort: str = "id"
    per_page: int = 20
    max_per_page: int = 1000
    summary: Callable[[Any], Sequence[Any]] | None = None
    # Replaces `summary` where the totals take queries of their own: (session, the matched
    # rows as a subquery, the query or None when extra conditions narrow it) -> the whole
    # summary, "count" included.
    totals: Callable[[Session, Any, Any], dict] | None = None
    # Replaces `search` where an index answers it (portal/search.py): (q, broad) -> a
    # condition; and q -> the SELECTs of ids, one per index, whose union the matches are.
    matcher: Callable[[str, bool], Any] | None = None
    lookups: Callable[[str], list[Select]] | None = None

    def filter(self, name: str) -> Filter | None:
        """The filter of that name, if the spec declares it."""
        return next((f for f in self.filters if f.name == name), None)


@dataclass(frozen=True)
class ListingQuery:
    """The state of a table, as it travels in the URL."""

    q: str = ""
    sort: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    page: int = 1
    per_page: int = 20
    op: str = "and"

    def to_args(self, **changes) -> dict[str, str]:
        """Query-string arguments; changing search, filters or sort drops the page."""
        state = replace(self, **changes)
        if {"q", "sort", "filters", "op"} & set(changes) and "page" not in changes:
            state = replace(state, page=1)
        args = {k: v for k, v in state.filters.items() if v not in ("", None)}
        for key, value, default in (
            ("q", state.q, ""),
            ("sort", state.sort, ""),
            ("op", state.op, "and"),
            ("page", state.page, 1),
        ):
            if value != default:
                args[key] = str(value)
        if state.per_page != ListingQuery.per_page:
            args["perPage"] = str(state.per_page)
        return args


@dataclass
class Page:
    """One page of rows with the count and summary of everything that matched."""

    items: list
    total: int
    summary: dict[str, Any]
    query: ListingQuery
    offset: int
    limit: int
    capped: bool = False  # more rows matched than were counted

    @property
    def pages(self) -> int:
        """How many pages of `limit` rows the whole result has."""
        return max(1, -(-self.total // self.limit)) if self.limit else 1

    @property
    def has_next(self) -> bool:
        """Whether rows follow this page."""
        return self.offset + len(self.items) < self.total


_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}", re.ASCII)


def whole_number(raw: object) -> int | None:
    """A count typed in a query string: 1 to 9 ASCII digits (spaces around allowed), or None.

    Never `str.isdigit()` then `int()`: "²" is a digit to the first and not to the second,
    and int() also reads "1_000", "٣" and 4,300-digit numbers.
    """
    text = str(raw if raw is not None else "").strip()
    return int(text) if _WHOLE_NUMBER.fullmatch(text) else None


def _positive_int(raw: str, name: str) -> int:
    number = whole_number(raw)
    if number is None or number < 1:
        raise InvalidInput(
            "invalid_paging",
            _("%(field)s must be a whole number from 1 to 999999999.", field=name),
            name,
        )
    return number


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")  # NUL, lone surrogates: unstorable


def _check_text(raw: object, name: str) -> None:
    """Refuse text no database can compare with (PostgreSQL refuses NUL outright)."""
    if _UNSTORABLE.search(str(raw)):
        raise InvalidInput(
            "invalid_filter", _("%(field)s must not contain NUL characters.", field=name), name
        )


def _paging(args: Mapping[str, str], name: str, default: int, strict: bool) -> int:
    """A page or page size from the query string: absent or empty is the default; a bad one
    raises InvalidInput when `strict`, and means the default otherwise."""
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        return _positive_int(raw, name)
    except InvalidInput:
        if strict:
            raise
        return default


def parse(spec: ListingSpec, args: Mapping[str, str], *, strict: bool = True) -> ListingQuery:
    """Read q, sort, page, perPage, op and the declared filters from a query string.

    Unknown sort keys fall back to the default. A filter value, page or page size that does
    not parse raises InvalidInput when `strict` (the API: a 400 naming it); otherwise the
    filter is dropped and the page is the first, of the default size (pages in the browser).
    """
    filters: dict[str, str] = {}
    for flt in spec.filters:
        raw = args.get(flt.name)
        if raw in (None, ""):
            continue
        try:
            _check_text(raw, flt.name)
            flt.parse(raw)
        except InvalidInput:
            if strict:
                raise
            continue
        filters[flt.name] = raw
    per_page = min(_paging(args, "perPage", spec.per_page, strict), spec.max_per_page)
    page = _paging(args, "page", 1, strict)
    op = "or" if str(args.get("op", "")).lower() == "or" else "and"
    q = str(args.get("q") or "")
    if strict:
        _check_text(q, "q")
    return ListingQuery(
        q=_UNSTORABLE.sub("", q).strip()[:200],
        sort=_clean_sort(spec, args),
        filters=filters,
        page=page,
        per_page=per_page,
        op=op,
    )


def _clean_sort(spec: ListingSpec, args: Mapping[str, str]) -> str:
    keys = [k.strip() for k in str(args.get("sort") or "").split(",") if k.strip()]
    known = [k for k in keys if k.lstrip("-") in spec.sorts]
    return ",".join(known)


def order_by(spec: ListingSpec, sort: str) -> list:
    """ORDER BY clauses for a sort string such as '-dueDate,value'; id breaks ties."""
    keys = (sort or spec.default_sort).split(",")
    order = []
    for key in keys:
        column = spec.sorts[key.lstrip("-")]
        order.append(column.desc() if key.startswith("-") else column.asc())
    last_desc = keys[-1].startswith("-")
    order.append(spec.model.id.desc() if last_desc else spec.model.id.asc())  # tie-breaker
    return order


def where(spec: ListingSpec, query: ListingQuery, *extra, broad: bool = False) -> Select:
    """The filtered SELECT of the spec's model (no order, no paging); `broad`: a search
    known to match more than BROAD_SEARCH rows, in its row-by-row form (portal/search.py)."""
    stmt = select(spec.model).where(*_filtered(spec, query, *extra))
    if query.q and spec.matcher is not None:
        stmt = stmt.where(spec.matcher(query.q, broad))
    elif query.q and spec.search:
        stmt = stmt.where(or_(*(col.icontains(query.q, autoescape=True) for col in spec.search)))
    return stmt


def _filtered(spec: ListingSpec, query: ListingQuery, *extra) -> list:
    """The conditions of the query's filters (all, or any: `op`) and the `extra` ones."""
    conditions = [
        spec.filter(name).condition(spec.filter(name).parse(raw))
        for name, raw in query.filters.items()
    ]
    if conditions:
        conditions = [or_(*conditions) if query.op == "or" else and_(*conditions)]
    return [*conditions, *extra]


def _matched_ids(spec: ListingSpec, query: ListingQuery, most: int, *extra):
    """A SELECT of the ids of at least `most` matching rows, or of all when fewer match.

    A search with index lookups (portal/search.py) takes up to `most` rows from each
    lookup (each gives a row once), filtered: their union has `most` rows or more exactly
    when the search does, and is every match otherwise. Each lookup stops early, where
    the union of whole lookups collects every match first (a million for "ord")."""
    if not (query.q and spec.lookups is not None):
        return where(spec, query, *extra).with_only_columns(spec.model.id).limit(most)
    filtered = _filtered(spec, query, *extra)
    parts = [lookup.where(*filtered).limit(most).subquery() for lookup in spec.lookups(query.q)]
    return union(*(select(part.c.id) for part in parts))


def summarize(session: Session, spec: ListingSpec, query: ListingQuery, *extra) -> dict:
    """The count and the spec's totals over the whole filtered set (one aggregate query,
    or the queries of the spec's own `totals`)."""
    matched = where(spec, query, *extra).subquery()
    if spec.totals is not None:
        return spec.totals(session, matched, None if extra else query)
    aggregates = [func.count().label("count")]
    if spec.summary is not None:
        aggregates += list(spec.summary(matched))
    row = session.execute(select(*aggregates).select_from(matched)).one()._asdict()
    total = int(row.pop("count") or 0)
    return {
        "count": total,
        **{k: int(v or 0) if k.startswith("count") else _money(v) for k, v in row.items()},
    }


def count_up_to(session: Session, spec: ListingSpec, query: ListingQuery, most: int, *extra):
    """How many rows match, counting no further than `most` (cheap whatever matches)."""
    bounded = _matched_ids(spec, query, most, *extra).subquery()
    return min(session.scalar(select(func.count()).select_from(bounded)) or 0, most)


def broad_search(session: Session, spec: ListingSpec, query: ListingQuery, cap: int) -> bool:
    """Whether the query is a free-text search matching more than `cap` rows: its exact
    totals are then computed only on request (they add up every match)."""
    return bool(query.q) and count_up_to(session, spec, query, cap + 1) > cap


def run(
    session: Session,
    spec: ListingSpec,
    query: ListingQuery,
    *extra,
    offset: int | None = None,
    limit: int | None = None,
    count_cap: int | None = None,
) -> Page:
    """One page of rows plus the count and summary over the whole filtered set.

    `extra` conditions always apply (e.g. the account of a nested route). Paging is
    `page`/`perPage` unless an explicit offset/limit is given (the API's from/to).
    With `count_cap` (pages refreshed on every keystroke) the rows are counted only up to
    the cap and no summary is computed: `summarize` gives the totals in a request of its own.
    """
    stmt = where(spec, query, *extra)
    limit = query.per_page if limit is None else limit
    offset = (query.page - 1) * query.per_page if offset is None else offset
    summary, items = {}, None
    if count_cap is None:
        summary = summarize(session, spec, query, *extra)
        total = summary["count"]
    elif query.q:
        matched = _matched_ids(spec, query, count_cap + 1, *extra)
        items, total = _searched_page(session, spec, matched, query.sort, offset, limit, count_cap)
    else:
        total = count_up_to(session, spec, query, count_cap + 1, *extra)
    if items is None:
        if query.q and total > BROAD_SEARCH:
            stmt = where(spec, query, *extra, broad=True)
        items = list(session.scalars(_rows(spec, stmt, query.sort, offset, limit)))
    return Page(
        items=items,
        total=total,
        summary=summary,
        query=query,
        offset=offset,
        limit=limit,
        capped=count_cap is not None and total > count_cap,
    )


def _searched_page(session: Session, spec: ListingSpec, matched, sort, offset, limit, cap):
    """(one page of a search's rows or None, how many match up to cap + 1), looking the
    matches up once: the ids `matched` (`_matched_ids`) are a WITH that the count and the
    page both read. When more than `cap` match, those ids are not all of them: the page
    is None, to be read as usual."""
    model = spec.model
    matched = matched.cte("matched")
    count = select(func.count()).select_from(matched).scalar_subquery()
    among = select(model).where(model.id.in_(select(matched.c.id)))
    rows = session.execute(_rows(spec, among, sort, offset, limit).add_columns(count)).all()
    if rows:
        total = rows[0][1]
    elif offset == 0:
        total = 0  # an empty first page: nothing matches
    else:  # a page past the end (or a deep page of a broad search): counted on its own
        total = session.scalar(select(count))
    total = min(total, cap + 1)
    return (None if total > cap else [item for item, _ in rows]), total


DEEP_OFFSET = 200  # from here a page picks its ids before it reads its rows
BROAD_SEARCH = 10_000  # a search matching more rows reads its page walking the sort order


def _rows(spec: ListingSpec, stmt: Select, sort: str, offset: int, limit: int) -> Select:
    """The SELECT of one page's rows, in the sort's order.

    A deep page (page 1000 skips 20,000 rows) first picks the page's ids from the sort's
    index, whose entries hold the sort columns and the id (models: the `*_sort` indexes),
    and then reads only those rows: skipping walks index entries instead of table rows.
    Page URLs keep their page number, so they stay shareable.
    """
    order = order_by(spec, sort)
    if offset < DEEP_OFFSET:
        return stmt.order_by(*order).offset(offset).limit(limit)
    ids = stmt.with_only_columns(spec.model.id).order_by(*order).offset(offset).limit(limit)
    return select(spec.model).where(spec.model.id.in_(ids.scalar_subquery())).order_by(*order)


def _money(value) -> Decimal:
    # SQLite returns SUM over NUMERIC as float: go through str to keep the cents exact.
    return Decimal(str(value if value is not None else 0)).quantize(CENT)


# --- parsers shared by the specs -----------------------------------------------------------


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_ISO_MOMENT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?",
    re.ASCII,
)


def read_day_or_time(raw: object) -> date | datetime:
    """`YYYY-MM-DD` as a date, an ISO 8601 date-time as a datetime, else ValueError.

    The date-time is aware when it names its zone (`Z`, `+03:00`, `-0300`), naive otherwise;
    `T` and `Z` may be lower case, the fraction has up to 9 digits (.NET writes 7).
    """
    text = str(raw).strip().upper()
    if _ISO_DAY.fullmatch(text):
        return date.fromisoformat(text)
    if _ISO_MOMENT.fullmatch(text):
        return datetime.fromisoformat(text)
    raise ValueError(f"not an ISO 8601 date or date-time: {text[:40]!r}")


def store_zone() -> ZoneInfo:
    """The store's timezone (StoreSettings.timezone), read when a filter needs it."""
    from . import credit
    from .extensions import db

    return ZoneInfo(credit.get_settings(db.session).timezone)


def calendar_day(value: date | datetime, zone: tzinfo | None = None) -> date:
    """The calendar day a date or date-time names, as the store counts days.

    A date is itself. A date-time with a zone is an instant: the day it falls on in `zone`
    (default: the store's timezone), so 2024-04-02T03:00:00Z is 2024-04-02 in São Paulo and
    2024-04-02T02:00:00Z is 2024-04-01 there. A date-time without a zone is a wall-clock
    time of the store: its date part. This is the inverse of how the API writes due dates
    (the start of the day in the store's timezone, in UTC).
    """
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        return value.date()
    return value.astimezone(zone or store_zone()).date()


def _read_date_filter(raw: str, name: str) -> date | datetime:
    try:
        value = read_day_or_time(raw)
    except (ValueError, OverflowError):
        raise InvalidInput(
            "invalid_filter",
            _(
                "%(field)s must be a date (YYYY-MM-DD) or an ISO 8601 date-time "
                "(such as 2024-01-31T03:00:00Z).",
                field=name,
            ),
            name,
        ) from None
    if not 1900 <= value.year <= 9998:  # also keeps "the next day" computable
        raise InvalidInput("invalid_filter", _("%(field)s is out of range.", field=name), name)
    return value


def parse_day_or_time(raw: str, name: str) -> datetime | date:
    """An ISO 8601 date (a whole day) or date-time (an instant, UTC when no zone)."""
    value = _read_date_filter(raw, name)
    if isinstance(value, datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value


def _day(name: str) -> Callable[[str], date]:
    """A calendar-day bound (due dates): a date-time counts as its day in the store's timezone."""

    def parse_day(raw: str) -> date:
        return calendar_day(_read_date_filter(raw, name))

    return parse_day


def _instant(name: str, *, end: bool) -> Callable[[str], datetime]:
    """A date-time bound; a bare date means the start of that day (UTC), or of the next for
    `end`. The conditions are `>= from` and `< to`: a date-time `to` is moved on by a
    microsecond (the columns' precision) so that it is included, as a date `to` is."""

    def parse_instant(raw: str) -> datetime:
        value = parse_day_or_time(raw, name)
        if isinstance(value, datetime):
            return value + timedelta(microseconds=1) if end else value
        return datetime.combine(value + timedelta(days=1 if end else 0), time(), UTC)

    return parse_instant


def _amount(name: str) -> Callable[[str], Decimal]:
    def parse_amount(raw: str) -> Decimal:
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or abs(value) >= Decimal("1e12"):
            raise InvalidInput("invalid_filter", _("%(field)s must be a number.", field=name), name)
        return value.quantize(CENT)

    return parse_amount


def _one_of(name: str, aliases: Mapping[str, str]) -> Callable[[str], list[str]]:
    """A comma-separated list of allowed values (case-insensitive, with aliases)."""
    lookup = {k.lower(): v for k, v in aliases.items()}

    def parse_choice(raw: str) -> list[str]:
        values = [lookup.get(part.strip().lower()) for part in str(raw).split(",")]
        if not values or None in values:
            raise InvalidInput(
                "invalid_filter",
                _(
                    "%(field)s must be one of %(values)s.",
                    field=name,
                    values=", ".join(sorted(set(aliases))),
                ),
                name,
            )
        return sorted(set(values))

    return parse_choice


def _friendly_id(raw: str) -> str:
    # The contract shows friendly ids with the installment appended ("u8KFsGDk-1").
    return str(raw).strip().split("-")[0]


# --- the specs -----------------------------------------------------------------------------


def _store_today() -> date:
    """The store's today, for filters that mean "overdue" (read when the filter runs)."""
    from . import credit
    from .extensions import db

    return credit.store_today(credit.get_settings(db.session))


def invoice_total_queries(sq) -> tuple[Select, Select, Select]:
    """The aggregates the invoice totals are made of, over the matched rows `sq`: count,
    value and paid amount per status; then count and amount due of the Opened invoices
    due before the store's today (the overdue), and of those due on or after it.

    A few plain sums per row (not one CASE per figure and row): with a status or due-date
    filter each reads only the (status, due_date, …, value, paid_amount) index entries.
    """
    by_status = select(
        sq.c.status,
        func.count().label("count"),
        func.coalesce(func.sum(sq.c.value), 0).label("value"),
        func.coalesce(func.sum(sq.c.paid_amount), 0).label("paid"),
    ).group_by(sq.c.status)
    today = _store_today()
    return (
        by_status,
        _opened_due(sq, sq.c.due_date < today),
        _opened_due(sq, sq.c.due_date >= today),
    )


def _opened_due(sq, when) -> Select:
    """Count and amount due of the matched Opened invoices whose due date meets `when`."""
    return select(
        func.count().label("count"),
        # two plain sums: no subtraction per row (a fifth of this query's time)
        (
            func.coalesce(func.sum(sq.c.value), 0) - func.coalesce(func.sum(sq.c.paid_amount), 0)
        ).label("due"),
    ).where(sq.c.status == "Opened", when)


def _latest_due(query) -> date | None:
    """The latest due date the query's filters allow (dueDateTo, due_to), when every
    filter applies (`and`), else None."""
    if query is None or (query.op == "or" and len(query.filters) > 1):
        return None
    bounds = [
        INVOICES.filter(name).parse(query.filters[name])
        for name in ("dueDateTo", "due_to")
        if name in query.filters
    ]
    return min(bounds, default=None)


def _overdue(
    session: Session, query, opened, overdue: Select, not_yet_due: Select
) -> tuple[int, Decimal]:
    """Count and amount due of the matched overdue invoices, given the matched Opened
    ones' count, value and paid amount (`opened`) and the two queries that split them.

    Overdue is Opened and due before today. When the filter ends the due dates on or
    after today ("due up to today"), the Opened ones not yet due fall in those few days:
    they are summed and taken off, rather than every overdue one read again. When it ends
    them before today, every Opened one is overdue."""
    latest = _latest_due(query)
    if latest is None:
        late = session.execute(overdue).one()
        return late.count, _money(late.due)
    count, due = opened.count, _money(opened.value) - _money(opened.paid)
    if latest < _store_today():
        return count, due
    rest = session.execute(not_yet_due).one()
    return count - rest.count, due - _money(rest.due)


def _invoice_summary(session: Session, sq, query=None, counts: bool = False) -> dict:
    """Open (still to pay), paid, cancelled and overdue totals of the matched invoices;
    with `counts`, how many of each status too (the back-office totals)."""
    by_status, overdue, not_yet_due = invoice_total_queries(sq)
    statuses = _rolled_up_statuses(query)
    figures = session.execute(by_status) if statuses is None else _rolled_up(session, statuses)
    rows = {row.status: row for row in figures}
    empty = SimpleNamespace(count=0, value=0, paid=0)
    opened = rows.get("Opened", empty)
    late_count, late_due = _overdue(session, query, opened, overdue, not_yet_due)

    def figure(status: str, name: str):
        return getattr(rows.get(status, empty), name)

    summary = {
        "count": sum(row.count for row in rows.values()),
        "total": _money(opened.value) - _money(opened.paid),
        "totalPaid": _money(figure("Paid", "value")),
        "totalCancelled": _money(figure("Cancelled", "value")),
        "totalOverdue": late_due,
        "countOverdue": late_count,
    }
    if counts:
        summary |= {f"count{status}": figure(status, "count") for status in INVOICE_STATES}
    return summary


def _rolled_up_statuses(query) -> list[str] | None:
    """The statuses whose totals the rollups answer for this query (the whole store, or a
    status filter without Overdue), else None."""
    if query is None or query.q:
        return None
    if not query.filters:
        return list(INVOICE_STATES)
    if set(query.filters) != {"status"}:
        return None
    statuses = INVOICES.filter("status").parse(query.filters["status"])
    return None if "Overdue" in statuses else statuses


def _rolled_up(session: Session, statuses: list[str]) -> list:
    """(status, count, value, paid) of each status from the per-account rollups (models:
    invoice_rollups): one row per account instead of one per invoice."""
    figures = [(status, figure) for status in statuses for figure in ("count", "value", "paid")]
    columns = [invoice_rollups.c[f"{status.lower()}_{figure}"] for status, figure in figures]
    sums = session.execute(select(*(func.coalesce(func.sum(c), 0) for c in columns))).one()
    got = dict(zip(figures, sums, strict=True))
    return [
        SimpleNamespace(
            status=status,
            count=int(got[status, "count"]),
            value=got[status, "value"],
            paid=got[status, "paid"],
        )
        for status in statuses
    ]


def _invoice_status(values: list[str]):
    """Opened, Paid, Cancelled, or Overdue (Opened and due before the store's today)."""
    plain = [v for v in values if v != "Overdue"]
    conditions = [Invoice.status.in_(plain)] if plain else []  # no OR with an empty IN
    if "Overdue" in values:
        conditions.append((Invoice.status == "Opened") & (Invoice.due_date < _store_today()))
    return or_(*conditions)


INVOICE_STATES = ("Opened", "Paid", "Cancelled")
INVOICE_STATUSES = {
    "Opened": "Opened",
    "Open": "Opened",
    "Paid": "Paid",
    "Cancelled": "Cancelled",
    "Overdue": "Overdue",
}

INVOICES = ListingSpec(
    name="invoices",
    model=Invoice,
    matcher=search.invoice_matches,
    lookups=search.invoice_lookups,
    filters=(
        Filter("creditAccountId", lambda v: Invoice.account_id == v),
        Filter("status", _invoice_status, _one_of("status", INVOICE_STATUSES)),
        Filter(
            "createdDateFrom",
            lambda v: Invoice.created_at >= v,
            _instant("createdDateFrom", end=False),
        ),
        Filter(
            "createdDateTo", lambda v: Invoice.created_at < v, _instant("createdDateTo", end=True)
        ),
        Filter("dueDateFrom", lambda v: Invoice.due_date >= v, _day("dueDateFrom")),
        Filter("dueDateTo", lambda v: Invoice.due_date <= v, _day("dueDateTo")),
        Filter("value", lambda v: Invoice.value == v, _amount("value")),
        Filter("friendlyId", lambda v: Invoice.friendly_id == v, _friendly_id),
        Filter("observation", lambda v: Invoice.observation.icontains(v, autoescape=True)),
        Filter("transactionId", lambda v: Invoice.transaction_id == v),
        Filter("orderId", lambda v: Invoice.order_id == v),
        # The back-office's names for the same filters.
        Filter("account", lambda v: Invoice.account_id == v),
        Filter("due_from", lambda v: Invoice.due_date >= v, _day("due_from")),
        Filter("due_to", lambda v: Invoice.due_date <= v, _day("due_to")),
        Filter(
            "created_from", lambda v: Invoice.created_at >= v, _instant("created_from", end=False)
        ),
        Filter("created_to", lambda v: Invoice.created_at < v, _instant("created_to", end=True)),
        Filter("value_min", lambda v: Invoice.value >= v, _amount("value_min")),
        Filter("value_max", lambda v: Invoice.value <= v, _amount("value_max")),
    ),
    sorts={
        "id": Invoice.id,
        "createdAt": Invoice.created_at,
        "dueDate": Invoice.due_date,
        "value": Invoice.value,
        "status": Invoice.status,
        "friendlyId": Invoice.friendly_id,
        "accountId": Invoice.account_id,
        "due_date": Invoice.due_date,
        "created_at": Invoice.created_at,
        "friendly_id": Invoice.friendly_id,
        "account": Invoice.account_id,
        "order_id": Invoice.order_id,
        "remaining": case(
            (Invoice.status == "Opened", Invoice.value - Invoice.paid_amount), else_=0
        ),
    },
    default_sort="createdAt",
    totals=_invoice_summary,
)
# The same list with per-status counts in its summary, for the back-office totals (the
# API's summary keeps its documented keys).
INVOICE_TOTALS = replace(
    INVOICES, totals=lambda session, sq, query: _invoice_summary(session, sq, query, True)
)


def _on_hold(wanted: bool):
    from . import credit
    from .credit.accounts import overdue_hold_filter
    from .extensions import db

    held = overdue_hold_filter(credit.get_settings(db.session), _store_today())
    return held if wanted else ~held


def _has_overdue(wanted: bool):
    overdue = (
        select(Invoice.id)
        .where(
            Invoice.account_id == Account.id,
            Invoice.status == "Opened",
            Invoice.due_date < _store_today(),
        )
        .exists()
    )
    return overdue if wanted else ~overdue


def _yes_no(name: str) -> Callable[[str], bool]:
    def parse_yes_no(raw: str) -> bool:
        value = str(raw).strip().lower()
        if value not in ("yes", "no", "true", "false", "1", "0"):
            raise InvalidInput(
                "invalid_filter", _("%(field)s must be yes or no.", field=name), name
            )
        return value in ("yes", "true", "1")

    return parse_yes_no


ACCOUNT_USED = Account.credit_limit - Account.balance
ACCOUNT_AVAILABLE = Account.balance - Account.pre_authorized
ACCOUNT_API_BALANCE = Account.balance - Account.credit_limit  # the API's `balance`
UTILIZATION_BANDS = {
    "0-50": (None, 50),
    "50-80": (50, 80),
    "80-100": (80, 100),
    "100+": (100, None),
}


def _utilization(bands: list[str]):
    """Share of the limit in use (invoices + holds), by bands of percent."""
    in_use = (ACCOUNT_USED + Account.pre_authorized) * 100
    conditions = []
    for band in bands:
        low, high = UTILIZATION_BANDS[band]
        parts = [Account.credit_limit > 0]
        if low is not None:
            parts.append(in_use >= Account.credit_limit * low)
        if high is not None:
            parts.append(in_use < Account.credit_limit * high)
        conditions.append(and_(*parts))
    return or_(*conditions)


def _account_summary(sq) -> list:
    return [
        func.coalesce(func.sum(sq.c.credit_limit), 0).label("creditLimit"),
        func.coalesce(func.sum(sq.c.balance - sq.c.credit_limit), 0).label("balance"),
        func.coalesce(func.sum(sq.c.credit_limit - sq.c.balance), 0).label("used"),
        func.coalesce(func.sum(sq.c.pre_authorized), 0).label("preAuthorized"),
        func.coalesce(func.sum(sq.c.balance - sq.c.pre_authorized), 0).label("available"),
    ]


ACCOUNTS = ListingSpec(
    name="accounts",
    model=Account,
    matcher=search.account_matches,
    lookups=search.account_lookups,
    filters=(
        Filter(
            "status",
            lambda v: Account.status.in_(v),
            _one_of(
                "status",
                {"Open": "Open", "Opened": "Open", "Closed": "Closed", "Cancelled": "Closed"},
            ),
        ),
        Filter("email", lambda v: Account.email == v, lambda raw: str(raw).strip().lower()),
        Filter("document", lambda v: Account.document == v, lambda raw: str(raw).strip()),
        Filter(
            "documentType",
            lambda v: Account.document_type.in_(v),
            _one_of("documentType", {"CPF": "CPF", "CNPJ": "CNPJ", "Other": "Other"}),
        ),
        Filter("on_hold", _on_hold, _yes_no("on_hold")),
        Filter("has_overdue", _has_overdue, _yes_no("has_overdue")),
        Filter(
            "utilization",
            _utilization,
            _one_of("utilization", {band: band for band in UTILIZATION_BANDS}),
        ),
    ),
    sorts={
        "id": Account.id,
        "createdAt": Account.created_at,
        "email": Account.email,
        "creditLimit": Account.credit_limit,
        "balance": ACCOUNT_API_BALANCE,
        "status": Account.status,
        "document": Account.document,
        "created_at": Account.created_at,
        "credit_limit": Account.credit_limit,
        "name": Account.name,
        "used": ACCOUNT_USED,
        "pre_authorized": Account.pre_authorized,
        "available": ACCOUNT_AVAILABLE,
        "tolerance": Account.tolerance,
    },
    default_sort="createdAt",
    summary=_account_summary,
)

STATEMENTS = ListingSpec(
    name="statements",
    model=StatementEntry,
    search=(StatementEntry.description, StatementEntry.transaction_id, StatementEntry.done_by),
    filters=(
        Filter("accountId", lambda v: StatementEntry.account_id == v),
        Filter("from", lambda v: StatementEntry.created_at >= v, _instant("from", end=False)),
        Filter("to", lambda v: StatementEntry.created_at < v, _instant("to", end=True)),
        Filter(
            "origin",
            lambda v: StatementEntry.origin.in_([*v, "Tolerance"] if "Credit" in v else v),
            _one_of(
                "origin",
                {
                    o: o
                    for o in (
                        "Credit",
                        "Invoice",
                        "Payment",
                        "Cancellation",
                        "Reopen",
                        "Refund",
                        "Statement",
                    )
                },
            ),
        ),
        Filter("transactionId", lambda v: StatementEntry.transaction_id == v),
    ),
    sorts={
        "id": StatementEntry.id,
        "date": StatementEntry.created_at,
        "value": StatementEntry.value,
    },
    default_sort="id",
    per_page=50,
    max_per_page=10000,
    # what the API's statement reports (statement_value), summed as its intervalBalance
    summary=lambda sq: [func.coalesce(func.sum(sq.c.statement_value), 0).label("sum")],
)


AUDIT = ListingSpec(
    name="audit",
    model=AuditEvent,
    search=(AuditEvent.actor, AuditEvent.action, AuditEvent.target_id, AuditEvent.reason),
    filters=(
        Filter("actor", lambda v: AuditEvent.actor == v),
        Filter("action", lambda v: AuditEvent.action == v),
        Filter("account", lambda v: AuditEvent.account_id == v),
        Filter("from", lambda v: AuditEvent.created_at >= v, _instant("from", end=False)),
        Filter("to", lambda v: AuditEvent.created_at < v, _instant("to", end=True)),
    ),
    sorts={
        "created_at": AuditEvent.created_at,
        "actor": AuditEvent.actor,
        "action": AuditEvent.action,
    },
    default_sort="-created_at",
    per_page=50,
)


# Logins, in two tabs: the store's staff and its customers (the back-office users page).
USER_TABS = {"staff": ("owner", "finance", "support"), "customers": ("customer",)}


def user_tab(raw: object) -> str:
    """`staff` or `customers` (either case), else InvalidInput."""
    value = str(raw or "").strip().lower()
    if value not in USER_TABS:
        raise InvalidInput(
            "invalid_filter",
            _("%(field)s must be one of %(values)s.", field="tab", values=", ".join(USER_TABS)),
            "tab",
        )
    return value


USERS = ListingSpec(
    name="users",
    model=User,
    search=(User.email, User.name),
    filters=(
        Filter("tab", lambda v: User.role.in_(USER_TABS[v]), user_tab),
        Filter(
            "role",
            lambda v: User.role.in_(v),
            _one_of("role", {r: r for r in ("owner", "finance", "support", "customer")}),
        ),
    ),
    sorts={
        "email": User.email,
        "name": User.name,
        "role": User.role,
        "last_login": User.last_login_at,
        "created_at": User.created_at,
    },
    default_sort="email",
    per_page=20,
    max_per_page=100,
)


# The outbox (back-office /admin/outbox): what leaves the portal, newest first.
_TOPIC = re.compile(r"[a-z0-9_.]{1,32}", re.ASCII)


def _outbox_topic(raw: str) -> str:
    """A topic as the outbox stores it (invitation, reset, reminder, invoice.paid …)."""
    value = str(raw).strip().lower()
    if not _TOPIC.fullmatch(value):
        message = _("topic must be a topic such as invitation, reset or reminder.")
        raise InvalidInput("invalid_filter", message, "topic")
    return value


OUTBOX = ListingSpec(
    name="outbox",
    model=OutboxMessage,
    search=(OutboxMessage.recipient,),
    filters=(
        Filter(
            "status",
            lambda v: OutboxMessage.status.in_(v),
            _one_of("status", {s: s for s in ("pending", "sent", "failed")}),
        ),
        Filter(
            "kind",
            lambda v: OutboxMessage.kind.in_(v),
            _one_of("kind", {"email": "email", "e-mail": "email", "webhook": "webhook"}),
        ),
        Filter("topic", lambda v: OutboxMessage.topic == v, _outbox_topic),
    ),
    sorts={
        "created_at": OutboxMessage.created_at,
        "next_attempt_at": OutboxMessage.next_attempt_at,
        "sent_at": OutboxMessage.sent_at,
        "attempts": OutboxMessage.attempts,
        "status": OutboxMessage.status,
    },
    default_sort="-created_at",
    per_page=50,
    max_per_page=200,
)
