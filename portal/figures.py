"""Read-only figures for the dashboard and My Credits, computed with aggregate SQL.

Nothing here writes. Totals are single aggregate queries (no per-row Python), so they
stay fast with 100k accounts; SQLite returns SUM of NUMERIC as float, hence `_money`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from . import credit
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


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


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
    """Open invoices of one aging range."""

    key: str
    amount: Decimal
    count: int


@dataclass
class Receivables:
    """Open invoices (what customers still owe), overdue ones and their aging."""

    today: date
    buckets: list[Bucket] = field(default_factory=list)

    @property
    def open_amount(self) -> Decimal:
        """Σ remaining of every Opened invoice."""
        return sum((b.amount for b in self.buckets), Decimal("0.00"))

    @property
    def open_count(self) -> int:
        """How many invoices are Opened."""
        return sum(b.count for b in self.buckets)

    @property
    def overdue_amount(self) -> Decimal:
        """Σ remaining of Opened invoices due before today."""
        return sum((b.amount for b in self.buckets if b.key != "current"), Decimal("0.00"))

    @property
    def overdue_count(self) -> int:
        """How many Opened invoices are due before today."""
        return sum(b.count for b in self.buckets if b.key != "current")


def portfolio(session: Session) -> Portfolio:
    """Granted, used, pre-authorized and available credit of Open accounts (one query)."""
    rows = session.execute(
        select(
            Account.status,
            func.count(),
            func.sum(Account.credit_limit),
            func.sum(Account.credit_limit - Account.balance),
            func.sum(Account.pre_authorized),
            func.sum(Account.balance - Account.pre_authorized),
        ).group_by(Account.status)
    ).all()
    result = Portfolio()
    for status, count, granted, used, held, available in rows:  # one row per status
        if status != "Open":
            result.closed_accounts += count
            continue
        result.accounts = count
        result.granted, result.used = _money(granted), _money(used)
        result.pre_authorized, result.available = _money(held), _money(available)
    return result


def _due_range(today: date, first: int | None, last: int | None):
    """SQL condition on Invoice.due_date for `first`..`last` days overdue."""
    conditions = []
    if last is not None:  # at most `last` days late: due on or after today − last
        conditions.append(Invoice.due_date >= today - timedelta(days=last))
    if first is not None:  # at least `first` days late: due on or before today − first
        conditions.append(Invoice.due_date <= today - timedelta(days=first))
    return conditions[0] if len(conditions) == 1 else conditions[0] & conditions[1]


def receivables(session: Session, settings: StoreSettings) -> Receivables:
    """Open invoices by aging range, against the store's today (one query)."""
    today = credit.store_today(settings)
    remaining = Invoice.value - Invoice.paid_amount
    columns = []
    for _key, first, last in AGING_BUCKETS:
        condition = _due_range(today, first, last)
        columns.append(func.sum(case((condition, remaining), else_=0)))
        columns.append(func.count(case((condition, Invoice.id))))
    row = session.execute(select(*columns).where(Invoice.status == "Opened")).one()
    buckets = [
        Bucket(key, _money(row[2 * i]), int(row[2 * i + 1] or 0))
        for i, (key, _first, _last) in enumerate(AGING_BUCKETS)
    ]
    return Receivables(today=today, buckets=buckets)


def recent_activity(session: Session, limit: int = 10) -> list[AuditEvent]:
    """The latest audit events, newest first."""
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)))


NEAR_LIMIT = Decimal("0.80")  # share of the limit in use (invoices + holds) that warns


@dataclass
class InvoiceRow:
    """An invoice as a customer sees it, with the flags the domain computed."""

    invoice: Invoice
    overdue: bool
    amount_due: Decimal
    pay_url: str | None


@dataclass
class CustomerCredit:
    """One account's credit as one of its holders sees it (My Credits, checkout)."""

    account: Account
    available_credit: Decimal
    available_balance: Decimal
    tolerance_margin: Decimal
    on_hold: bool
    used_share: Decimal
    near_limit: bool
    cap: credit.SpendingCap | None
    today: date


def customer_accounts(session: Session, account_ids: list[str]) -> list[Account]:
    """The accounts a person holds, in the order of `account_ids`."""
    found = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(account_ids)))}
    return [found[i] for i in account_ids if i in found]


def customer_credit(
    session: Session, account: Account, settings: StoreSettings, email: str | None = None
) -> CustomerCredit:
    """Limit, holds, available credit and warnings of one account, seen by `email`."""
    return CustomerCredit(
        account=account,
        available_credit=account.available_credit,
        available_balance=account.available_balance(settings.tolerance_enabled),
        tolerance_margin=account.tolerance_margin(settings.tolerance_enabled),
        on_hold=credit.is_on_hold(session, account, settings),
        used_share=account.utilization,
        near_limit=account.utilization >= NEAR_LIMIT,
        cap=credit.spending_cap(session, account.id, email),
        today=credit.store_today(settings),
    )


def invoice_row(invoice: Invoice, settings: StoreSettings, today: date) -> InvoiceRow:
    """An invoice with its overdue flag, what is due today and a safe payment link."""
    link = invoice.payment_link or ""
    payable = invoice.status == "Opened" and link.startswith(("https://", "http://"))
    return InvoiceRow(
        invoice=invoice,
        overdue=credit.is_overdue(invoice, today),
        amount_due=credit.amount_due(invoice, settings, today),
        pay_url=link if payable else None,
    )


NEAR_LIMIT = Decimal("0.8")


def _utilization():
    """SQL: share of the limit in use (invoices and adjustments + holds)."""
    return (Account.credit_limit - Account.balance + Account.pre_authorized) / Account.credit_limit


def near_limit(session: Session, limit: int = 8) -> tuple[int, list[tuple[Account, Decimal]]]:
    """Open accounts using ≥ 80 % of their limit: how many, and the fullest few."""
    condition = (
        (Account.status == "Open") & (Account.credit_limit > 0) & (_utilization() >= NEAR_LIMIT)
    )
    count = session.scalar(select(func.count()).select_from(Account).where(condition)) or 0
    rows = session.execute(
        select(Account).where(condition).order_by(_utilization().desc(), Account.id).limit(limit)
    ).scalars()
    return count, [(account, account.utilization) for account in rows]


def on_hold(session: Session, settings: StoreSettings, limit: int = 8) -> tuple[int, list[Account]]:
    """Open accounts on hold for an invoice overdue past the store's threshold."""
    from .credit.accounts import overdue_hold_filter

    condition = (Account.status == "Open") & overdue_hold_filter(
        settings, credit.store_today(settings)
    )
    count = session.scalar(select(func.count()).select_from(Account).where(condition)) or 0
    accounts = list(
        session.scalars(select(Account).where(condition).order_by(Account.id).limit(limit))
    )
    return count, accounts


@dataclass
class AccountView:
    """What the back-office shows of one account, computed by the engine and queries."""

    available_balance: Decimal
    tolerance_margin: Decimal
    on_hold: bool
    holders: list
    orders: list
    invoices: list
    audit: list


def account_view(session: Session, account: Account, settings: StoreSettings) -> AccountView:
    """Holders, open and recent orders, recent invoices and the audit trail of an account."""
    from .models import PreAuthorization

    today = credit.store_today(settings)
    orders = list(
        session.scalars(
            select(PreAuthorization)
            .where(PreAuthorization.account_id == account.id)
            .order_by(
                (PreAuthorization.status == "Authorized").desc(), PreAuthorization.created_at.desc()
            )
            .limit(20)
        )
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
    audit = list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.account_id == account.id)
            .order_by(AuditEvent.id.desc())
            .limit(20)
        )
    )
    return AccountView(
        available_balance=account.available_balance(settings.tolerance_enabled),
        tolerance_margin=account.tolerance_margin(settings.tolerance_enabled),
        on_hold=credit.is_on_hold(session, account, settings),
        holders=list(account.holders),
        orders=orders,
        invoices=invoices,
        audit=audit,
    )
