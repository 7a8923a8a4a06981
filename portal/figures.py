"""Read-only figures for the dashboard and My Credits, computed with aggregate SQL.

Nothing here writes. Totals are single aggregate queries (no per-row Python), so they
stay fast with 100k accounts; SQLite returns SUM of NUMERIC as float, hence `_money`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from . import credit, listing, paylinks
from .models import Account, AuditEvent, Invoice, StoreSettings

CENT = Decimal("0.01")
# (key, first day overdue, last day overdue or None); "current" is not yet due.
AGING_BUCKETS = (
    ("current", None, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)

# The lists the dashboard's figures open, as the query-string arguments of the back-office
# lists (portal/listing.py). Each figure is computed with its list's own filters, so the
# number on the dashboard is the number of rows the link shows.
OPEN_ACCOUNTS = {"status": "Open"}
CLOSED_ACCOUNTS = {"status": "Closed"}
ON_HOLD_ACCOUNTS = {"status": "Open", "on_hold": "yes"}
NEAR_LIMIT_ACCOUNTS = {"status": "Open", "utilization": "80-100"}
OVER_LIMIT_ACCOUNTS = {"status": "Open", "utilization": "100+"}
OPEN_INVOICES = {"status": "Opened"}
OVERDUE_INVOICES = {"status": "Overdue"}


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def list_condition(spec: listing.ListingSpec, args: Mapping[str, str]):
    """The SQL condition of the list that `args` opens: its filters (and search), parsed
    as the list parses them (paging and sort aside)."""
    clause = listing.where(spec, listing.parse(spec, args, strict=False)).whereclause
    return clause if clause is not None else true()


def _count(session: Session, spec: listing.ListingSpec, args: Mapping[str, str]) -> int:
    """How many rows the list that `args` opens matches."""
    matched = listing.where(spec, listing.parse(spec, args, strict=False)).subquery()
    return session.scalar(select(func.count()).select_from(matched)) or 0


@dataclass
class Portfolio:
    """Credit figures over the Open accounts, plus how many are closed."""

    accounts: int = 0
    closed_accounts: int = 0
    granted: Decimal = Decimal("0.00")
    used: Decimal = Decimal("0.00")
    pre_authorized: Decimal = Decimal("0.00")
    available: Decimal = Decimal("0.00")

    @property
    def used_share(self) -> Decimal | None:
        """Used credit as a share of credit granted (None when nothing is granted)."""
        return (self.used / self.granted) if self.granted > 0 else None


@dataclass
class Bucket:
    """Open invoices of one aging range, and the invoices list that shows them."""

    key: str
    amount: Decimal
    count: int
    args: dict[str, str] = field(default_factory=dict)


@dataclass
class Receivables:
    """Open invoices (what customers still owe), overdue ones and their aging."""

    today: date
    buckets: list[Bucket] = field(default_factory=list)
    open_amount: Decimal = Decimal("0.00")  # Σ remaining of every Opened invoice
    open_count: int = 0
    overdue_amount: Decimal = Decimal("0.00")  # … of those due before the store's today
    overdue_count: int = 0


def portfolio(session: Session) -> Portfolio:
    """Granted, used, pre-authorized and available credit of Open accounts: the totals of
    the accounts list of OPEN_ACCOUNTS (its own summary query), and how many are closed."""
    totals = listing.summarize(
        session, listing.ACCOUNTS, listing.parse(listing.ACCOUNTS, OPEN_ACCOUNTS, strict=False)
    )
    closed = _count(session, listing.ACCOUNTS, CLOSED_ACCOUNTS)
    return Portfolio(
        accounts=totals["count"],
        closed_accounts=closed,
        granted=totals["creditLimit"],
        used=totals["used"],
        pre_authorized=totals["preAuthorized"],
        available=totals["available"],
    )


def aging_lists(today: date) -> dict[str, dict[str, str]]:
    """The invoices list of each aging range (the list's own filters), against `today`."""

    def days_ago(days: int) -> str:
        return (today - timedelta(days=days)).isoformat()

    lists = {}
    for key, first, last in AGING_BUCKETS:
        if first is None:  # not yet due: due today or later
            lists[key] = {"status": "Opened", "due_from": days_ago(last)}
            continue
        args = {"status": "Overdue", "due_to": days_ago(first)}
        if last is not None:
            args["due_from"] = days_ago(last)
        lists[key] = args
    return lists


def receivables(session: Session, settings: StoreSettings) -> Receivables:
    """Open and overdue invoices and their aging, against the store's today: each bucket is
    the count and Σ still owed of the invoices list it links to, read with that list's own
    condition (a range of the (status, due_date, …, value, paid_amount) index: no CASE per
    invoice). The buckets part the open invoices (not yet due, then four overdue ranges),
    so the open and overdue figures, and their lists' counts, are the buckets' sums."""
    today = credit.store_today(settings)
    buckets = []
    for key, args in aging_lists(today).items():
        count, value, paid = session.execute(
            select(func.count(), func.sum(Invoice.value), func.sum(Invoice.paid_amount)).where(
                list_condition(listing.INVOICES, args)
            )
        ).one()
        buckets.append(Bucket(key, _money(value) - _money(paid), count, args))
    overdue = [bucket for bucket in buckets if bucket.key != "current"]
    return Receivables(
        today=today,
        buckets=buckets,
        open_count=sum(bucket.count for bucket in buckets),
        open_amount=sum((bucket.amount for bucket in buckets), Decimal("0.00")),
        overdue_count=sum(bucket.count for bucket in overdue),
        overdue_amount=sum((bucket.amount for bucket in overdue), Decimal("0.00")),
    )


def recent_activity(session: Session, limit: int = 10) -> list[AuditEvent]:
    """The latest audit events, newest first (portal/activity.py tells them as sentences)."""
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))


@dataclass
class Watchlist:
    """Accounts to watch: how many the list of `args` shows, and its first few."""

    count: int
    accounts: list[Account]
    args: dict[str, str]


WATCHLISTS = {
    "near_limit": NEAR_LIMIT_ACCOUNTS,
    "over_limit": OVER_LIMIT_ACCOUNTS,
    "on_hold": ON_HOLD_ACCOUNTS,
}
# Share of the limit in use, for showing the fullest first (× 1.0: no integer division).
_IN_USE = (Account.credit_limit - Account.balance + Account.pre_authorized) * 1.0


def watchlists(session: Session, limit: int = 8) -> dict[str, Watchlist]:
    """Open accounts near their limit (80–100 % used), at or over it, and on hold: each
    count is the count of the accounts list its link opens (one query for the three), and
    the first few accounts of each list (the fullest first; on hold by id)."""
    # One count per list: "on hold" is an EXISTS over each account's invoices, which a
    # query of its own answers with one semi-join, not a probe per account of the store.
    counts = {key: _count(session, listing.ACCOUNTS, args) for key, args in WATCHLISTS.items()}
    result = {}
    for key, args in WATCHLISTS.items():
        order = (
            [Account.id]
            if key == "on_hold"
            else [(_IN_USE / Account.credit_limit).desc(), Account.id]
        )
        stmt = listing.where(listing.ACCOUNTS, listing.parse(listing.ACCOUNTS, args, strict=False))
        accounts = list(session.scalars(stmt.order_by(*order).limit(limit))) if counts[key] else []
        result[key] = Watchlist(counts[key], accounts, dict(args))
    return result


NEAR_LIMIT = Decimal("0.80")  # share of the limit in use (invoices + holds) that warns


@dataclass
class InvoiceRow:
    """An invoice as a customer sees it, with the flags the domain computed."""

    invoice: Invoice
    overdue: bool
    amount_due: Decimal
    pay_url: str | None  # the effective link (own, else the store's template)
    link_from_template: bool = False


@dataclass(frozen=True)
class CustomerHold:
    """Why a customer's account is on hold: the invoices overdue past the store's threshold
    and what paying all of them today costs (late fees and interest included)."""

    reasons: list[credit.HoldReason]  # the oldest HOLD_REASONS_SHOWN
    to_pay: Decimal
    more: int = 0  # how many other invoices hold it too


@dataclass
class CustomerCredit:
    """One account's credit as one of its holders sees it (My Credits, checkout).

    `available` is the one "Available" figure both pages show (limit less what is owed
    and held); `spendable` adds the tolerance the store grants (`tolerance_margin`, at
    `tolerance_rate`), the most a purchase may spend.
    """

    account: Account
    available: Decimal
    spendable: Decimal
    tolerance_margin: Decimal
    tolerance_rate: Decimal
    hold: CustomerHold | None
    used_share: Decimal
    near_limit: bool
    cap: credit.SpendingCap | None
    today: date

    @property
    def tolerance_places(self) -> int:
        """Decimal places that show the tolerance rate exactly as a percentage (10 %, 12.5 %)."""
        exponent = (self.tolerance_rate * 100).normalize().as_tuple().exponent
        return max(0, -int(exponent))

    @property
    def on_hold(self) -> bool:
        """Whether an overdue invoice blocks new purchases."""
        return self.hold is not None


def customer_accounts(session: Session, account_ids: list[str]) -> list[Account]:
    """The accounts a person holds, in the order of `account_ids`."""
    found = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(account_ids)))}
    return [found[i] for i in account_ids if i in found]


def customer_hold(
    session: Session, account: Account, settings: StoreSettings
) -> CustomerHold | None:
    """The invoices that hold the account and the amount due today that lifts the hold: the
    oldest few as invoices, the sum over all of them from three plain columns (an account
    may have thousands)."""
    shown = credit.hold_reasons(session, account, settings, limit=HOLD_REASONS_SHOWN)
    if not shown:
        return None
    today = credit.store_today(settings)
    owed = session.execute(
        credit.holding_invoices(
            account, settings, Invoice.value, Invoice.paid_amount, Invoice.due_date
        )
    ).all()
    to_pay = sum(
        (
            credit.late_amount_due(value - paid, (today - due).days, settings).total
            for value, paid, due in owed
        ),
        Decimal("0"),
    )
    return CustomerHold(shown, to_pay, len(owed) - len(shown))


HOLD_REASONS_SHOWN = 5  # a banner names a few invoices; the Open tab lists them all


def customer_credit(
    session: Session, account: Account, settings: StoreSettings, email: str | None = None
) -> CustomerCredit:
    """Limit, holds, available credit and warnings of one account, seen by `email`."""
    margin = account.tolerance_margin(settings.tolerance_enabled)
    return CustomerCredit(
        account=account,
        available=account.available_credit,
        spendable=account.available_balance(settings.tolerance_enabled),
        tolerance_margin=margin,
        tolerance_rate=account.tolerance if margin else Decimal("0"),
        hold=customer_hold(session, account, settings),
        used_share=account.utilization,
        near_limit=account.utilization >= NEAR_LIMIT,
        cap=credit.spending_cap(session, account.id, email),
        today=credit.store_today(settings),
    )


def invoice_row(invoice: Invoice, settings: StoreSettings, today: date) -> InvoiceRow:
    """An invoice with its overdue flag, what is due today and the link to pay it with
    (its own, else the store's template; only while open, only web addresses)."""
    due = credit.amount_due(invoice, settings, today)
    link = paylinks.effective_link(invoice, settings, due)
    return InvoiceRow(
        invoice=invoice,
        overdue=credit.is_overdue(invoice, today),
        amount_due=due,
        pay_url=link,
        link_from_template=paylinks.from_template(invoice, link),
    )


ORDERS_PER_PAGE = 20
AUDIT_PER_PAGE = 20


@dataclass
class Window:
    """One page of a list shown with "newer" / "older" links (no count: one query)."""

    items: list
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        """Whether pages come before this one."""
        return self.page > 1


def _window(session: Session, stmt, page: int, per_page: int) -> Window:
    """Page `page` of `stmt` (ordered, id last): one row more than shown says if more follow."""
    rows = list(session.scalars(stmt.offset((page - 1) * per_page).limit(per_page + 1)))
    return Window(items=rows[:per_page], page=page, has_next=len(rows) > per_page)


@dataclass
class AccountView:
    """What the back-office shows of one account, computed by the engine and queries."""

    available_balance: Decimal
    tolerance_margin: Decimal
    on_hold: bool
    holders: list
    orders: Window
    refundable: dict[str, Decimal]  # order id → what can still be refunded (billed orders)
    invoices: list
    audit: Window


def account_view(
    session: Session,
    account: Account,
    settings: StoreSettings,
    *,
    orders_page: int = 1,
    audit_page: int = 1,
) -> AccountView:
    """Holders, a page of orders (open ones first, then the newest), recent invoices and a
    page of the audit trail (newest first) of an account."""
    from .models import PreAuthorization

    today = credit.store_today(settings)
    orders = _window(
        session,
        select(PreAuthorization)
        .where(PreAuthorization.account_id == account.id)
        .order_by(
            (PreAuthorization.status == "Authorized").desc(),
            PreAuthorization.created_at.desc(),
            PreAuthorization.id,
        ),
        orders_page,
        ORDERS_PER_PAGE,
    )
    invoices = [
        invoice_row(invoice, settings, today)
        for invoice in session.scalars(
            select(Invoice)
            .where(Invoice.account_id == account.id)
            .order_by(Invoice.due_date.desc(), Invoice.id)
            .limit(20)
        )
    ]
    audit = _window(
        session,
        select(AuditEvent)
        .where(AuditEvent.account_id == account.id)
        .order_by(AuditEvent.id.desc()),
        audit_page,
        AUDIT_PER_PAGE,
    )
    return AccountView(
        available_balance=account.available_balance(settings.tolerance_enabled),
        tolerance_margin=account.tolerance_margin(settings.tolerance_enabled),
        on_hold=credit.is_on_hold(session, account, settings),
        holders=list(account.holders),
        orders=orders,
        refundable={
            order.id: order.settled_value - order.refunded_value  # as credit.refund allows
            for order in orders.items
            if order.status == "Settled" and order.settled_value > order.refunded_value
        },
        invoices=invoices,
        audit=audit,
    )
