"""SQLAlchemy models: the tables of the credit ledger and the people who use it.

Money is Numeric(14, 2) and always read as Decimal. Timestamps are stored in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache

from flask_babel import gettext as _
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .extensions import db

Money = Numeric(14, 2, asdecimal=True)
Rate = Numeric(9, 6, asdecimal=True)
ZERO = Decimal("0.00")


_CLOCK: ContextVar[datetime | None] = ContextVar("portal_clock", default=None)


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC (or the moment set by `clock_at`)."""
    return _CLOCK.get() or datetime.now(UTC)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Inside the block, `utcnow()` returns `moment` (aware): every timestamp the engine
    writes and the store's today (`store_today`) follow it. For building a past on purpose
    (the demo store); it applies to the current thread / context only."""
    token = _CLOCK.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _CLOCK.reset(token)


class UTCDateTime(db.TypeDecorator):
    """A DateTime that is always returned timezone-aware in UTC (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Cents(db.TypeDecorator):
    """An amount kept as whole cents in an INTEGER column, read as Decimal: SQLite's
    rollups (their triggers add integers, exactly; SQLite's own decimals are REAL)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else int((Decimal(value) * 100).to_integral_exact())

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(int(value)).scaleb(-2)


class Account(db.Model):
    """A credit line: one per customer document; its balance caches Σ statement entries."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("document", "document_type"),
        CheckConstraint("credit_limit >= 0", name="limit_not_negative"),
        CheckConstraint("tolerance >= 0", name="tolerance_not_negative"),
        CheckConstraint("pre_authorized >= 0", name="holds_not_negative"),
        # Each list sort's index ends with the id that breaks ties (portal/listing.py).
        Index("ix_accounts_status_created", "status", "created_at", "id"),
        Index("ix_accounts_created_sort", "created_at", "id"),
        # On SQLite it also holds balance, pre_authorized and status (migration c4e7a9d2b6f1).
        Index("ix_accounts_limit_sort", "credit_limit", "id"),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    document: Mapped[str] = mapped_column(String(40))
    document_type: Mapped[str] = mapped_column(String(8))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    # Its words folded for search (portal/search.py keeps it current): pg_trgm GIN on
    # PostgreSQL (migration 5d0c1f2a9b7e), the FTS5 table accounts_fts on SQLite (7c4d2e91a5b3).
    search_text: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    status: Mapped[str] = mapped_column(String(10), default="Open")
    credit_limit: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    tolerance: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0"))
    balance: Mapped[Decimal] = mapped_column(Money, default=ZERO, index=True)
    pre_authorized: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    # Set when an owner lifts a hold: invoices due before it no longer block purchases.
    hold_forgiven_before: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    holders: Mapped[list[Holder]] = relationship(
        back_populates="account", order_by="Holder.level, Holder.email"
    )

    @property
    def used(self) -> Decimal:
        """Credit consumed by invoices and adjustments: limit − balance."""
        return self.credit_limit - self.balance

    @property
    def api_balance(self) -> Decimal:
        """`balance` as the API (and VTEX) reports it: what the customer owes, negated.

        0 when nothing is owed, negative with open invoices or debit adjustments, positive
        for a credit in the customer's favour. (The ledger's own balance includes the
        limit: its Credit entries add up to it.)
        """
        return self.balance - self.credit_limit

    @property
    def available_credit(self) -> Decimal:
        """Balance less active holds (`availableCredit` in the API)."""
        return self.balance - self.pre_authorized

    def tolerance_margin(self, tolerance_enabled: bool) -> Decimal:
        """Extra credit the tolerance grants, when the store enables it."""
        if not tolerance_enabled:
            return ZERO
        return (self.tolerance * self.credit_limit).quantize(Decimal("0.01"))

    def available_balance(self, tolerance_enabled: bool) -> Decimal:
        """What a purchase may spend now (`availableBalance` in the API)."""
        return self.available_credit + self.tolerance_margin(tolerance_enabled)

    @property
    def utilization(self) -> Decimal:
        """Share of the limit in use (invoices + holds), 0 when there is no limit."""
        if self.credit_limit <= 0:
            return Decimal("0")
        return (self.used + self.pre_authorized) / self.credit_limit


class Holder(db.Model):
    """A person who may buy on an account: level 1 is the main holder, 2 a dependent."""

    __tablename__ = "holders"
    __table_args__ = (UniqueConstraint("account_id", "email"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    level: Mapped[int] = mapped_column(Integer, default=2)
    spending_cap: Mapped[Decimal | None] = mapped_column(Money)
    # Reminder e-mails about this account's invoices (a one-click opt-out turns them off).
    reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship(back_populates="holders")


class User(UserMixin, db.Model):
    """Someone who logs in: store staff (owner, finance, support) or a customer."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on logout, password change and deactivation: every older session ends.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The language the person chose (en, pt_BR, es); None: the browser's, else the store's.
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """What the session (and a remember-me cookie) stores: id and session version, so a
        bumped version (logout, password change, deactivation) ends every older session."""
        return f"{self.id}:{self.session_version or 0}"

    @property
    def is_staff(self) -> bool:
        """Whether the user works for the store (any role but customer)."""
        return self.role in ("owner", "finance", "support")


class PreAuthorization(db.Model):
    """A hold on an account's credit for one purchase, until settled or released."""

    __tablename__ = "pre_authorizations"
    __table_args__ = (
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("installments >= 1", name="installments_positive"),
        Index("ix_pre_authorizations_account_status", "account_id", "status"),
        Index("ix_pre_authorizations_status_created", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the transactionId
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    holder_email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(12), default="Authorized")
    value: Mapped[Decimal] = mapped_column(Money)
    original_value: Mapped[Decimal] = mapped_column(Money)
    installments: Mapped[int] = mapped_column(Integer, default=1)
    payment_term: Mapped[str] = mapped_column(String(100))
    settle: Mapped[bool] = mapped_column(Boolean, default=True)
    expiration_date: Mapped[date | None] = mapped_column(Date)
    order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    available_at_approval: Mapped[Decimal] = mapped_column(Money)
    settled_value: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    refunded_value: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    # The installments the portal's own checkout priced (interest included), as strings
    # ("340.01"); None for values from outside (API, PPP), which settle splits equally.
    installment_values: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    done_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()


class Invoice(db.Model):
    """One installment of a settled purchase: Opened, Paid or Cancelled."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("paid_amount >= 0 AND paid_amount <= value", name="paid_within_value"),
        Index("ix_invoices_account_status_due", "account_id", "status", "due_date"),
        # Each list sort's index ends with the id that breaks ties (portal/listing.py); the
        # due-date ones also hold what the totals add up, so the totals of a status or
        # due-date filter read the index alone.
        Index("ix_invoices_status_due", "status", "due_date", "id", "value", "paid_amount"),
        Index("ix_invoices_due_sort", "due_date", "id", "status", "value", "paid_amount"),
        Index("ix_invoices_created_sort", "created_at", "id"),
        Index("ix_invoices_value_sort", "value", "id"),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # <transactionId>-01
    friendly_id: Mapped[str] = mapped_column(String(8), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    transaction_id: Mapped[str] = mapped_column(ForeignKey("pre_authorizations.id"), index=True)
    order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    installment: Mapped[int] = mapped_column(Integer)
    number_of_installments: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="Opened")
    value: Mapped[Decimal] = mapped_column(Money)
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    due_date: Mapped[date] = mapped_column(Date)
    original_due_date: Mapped[date] = mapped_column(Date)
    postponements: Mapped[int] = mapped_column(Integer, default=0)
    payment_link: Mapped[str] = mapped_column(String(1000), default="")
    observation: Mapped[str] = mapped_column(String(1000), default="")
    # Its words folded for search (portal/search.py; pg_trgm GIN on PostgreSQL, the FTS5
    # table invoices_fts kept by triggers on SQLite: migration 5d0c1f2a9b7e).
    search_text: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()

    @property
    def remaining(self) -> Decimal:
        """What is still owed on the invoice while it is open."""
        return self.value - self.paid_amount


# One row per account holding, for each invoice status, how many invoices it has, their
# value and their paid amount (<status>_count, _value, _paid), kept by row triggers on
# invoices in the writing transaction (migrations 9e6b1d3f4c20 on PostgreSQL, a3c5e8f1b2d7
# on SQLite, where the amounts are whole cents). The store's invoice totals add these up
# (portal/listing.py). Not in the models' metadata: the migrations own it.
invoice_rollups = Table(
    "invoice_rollups",
    MetaData(),
    Column("account_id", String(80), primary_key=True),
    *(
        Column(
            f"{status}_{figure}",
            BigInteger if figure == "count" else Numeric(18, 2).with_variant(Cents(), "sqlite"),
        )
        for status in ("opened", "paid", "cancelled")
        for figure in ("count", "value", "paid")
    ),
)


class Payment(db.Model):
    """Money received against an invoice; idempotent on its external id."""

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    done_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Refund(db.Model):
    """Part or all of a settled purchase given back; idempotent on its external id."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("value > 0", name="value_positive"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("pre_authorizations.id"), index=True)
    value: Mapped[Decimal] = mapped_column(Money)
    done_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatementEntry(db.Model):
    """One append-only line of an account's ledger; Σ value is the balance."""

    __tablename__ = "statement_entries"
    __table_args__ = (
        Index("ix_statement_entries_account_id", "account_id", "id"),
        Index("ix_statement_entries_invoice", "invoice_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    origin: Mapped[str] = mapped_column(String(16))
    value: Mapped[Decimal] = mapped_column(Money)
    invoice_id: Mapped[str | None] = mapped_column(String(80))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    installment: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500), default="")
    done_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # What the API's statement shows for this entry, as VTEX reports it: a limit change as
    # Δlimit × (1 + tolerance), a tolerance change as Δtolerance × limit, anything else as
    # its value; NULL for the opening limit, which that statement does not list.
    statement_value: Mapped[Decimal | None] = mapped_column(Money)
    # For limit and tolerance changes: {"old": …, "new": …} (and the other figure), so
    # people see "10,000 → 9,000" rather than a bare difference.
    details: Mapped[dict | None] = mapped_column(JSON)


@event.listens_for(Session, "before_flush")
def _refuse_text_longer_than_its_column(session, flush_context, instances):
    """Never store a text cut (SQLite) nor fail on it (PostgreSQL): refuse it, naming it.

    The places where input enters check their own fields with their public names; this is
    the net under them, so no engine ever sees a text longer than its column (nor a NUL,
    which PostgreSQL cannot store).
    """
    from .credit.errors import InvalidInput

    for instance in (*session.new, *session.dirty):
        for key, limit in _text_columns(instance.__table__):
            value = instance.__dict__.get(key)
            if not isinstance(value, str):
                continue
            if limit and len(value) > limit:
                raise InvalidInput(
                    "too_long",
                    _("%(field)s is longer than %(max)s characters.", field=key, max=limit),
                    key,
                )
            if "\x00" in value:
                raise InvalidInput(
                    "invalid_text",
                    _("%(field)s must not contain NUL characters.", field=key),
                    key,
                )


@cache
def _text_columns(table) -> tuple[tuple[str, int | None], ...]:
    """The table's text columns and their lengths (looked up once per table)."""
    return tuple(
        (column.key, getattr(column.type, "length", None))
        for column in table.columns
        if isinstance(column.type, String)  # Text and VARCHAR alike
    )


@event.listens_for(StatementEntry, "before_update")
@event.listens_for(StatementEntry, "before_delete")
def _ledger_is_append_only(mapper, connection, target):
    raise RuntimeError("statement entries are append-only")


class StoreSettings(db.Model):
    """The store's one row of configuration (id = 1)."""

    __tablename__ = "store_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), default="BRL")
    locale: Mapped[str] = mapped_column(String(10), default="pt_BR")
    timezone: Mapped[str] = mapped_column(String(64), default="America/Sao_Paulo")
    holiday_country: Mapped[str] = mapped_column(String(2), default="BR")
    tolerance_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    settle_after_business_days: Mapped[int] = mapped_column(Integer, default=5)
    postponement_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    postponement_limit: Mapped[int] = mapped_column(Integer, default=2)
    max_postponement_days: Mapped[int] = mapped_column(Integer, default=30)
    daily_interest_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0"))
    late_fee_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0"))
    max_pre_authorization_growth_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0.1"))
    automatic_account_creation: Mapped[bool] = mapped_column(Boolean, default=False)
    default_credit_value: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    my_credits_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    overdue_hold_days: Mapped[int] = mapped_column(Integer, default=30)
    payment_instructions: Mapped[str] = mapped_column(Text, default="")
    # How customers pay (My Credits, e-mails, printed invoices): a link template used for
    # every open invoice without a link of its own ({friendlyId}, {amountDue} …), bank
    # details and a Pix key.
    payment_link_template: Mapped[str] = mapped_column(String(500), default="", server_default="")
    bank_details: Mapped[str] = mapped_column(Text, default="", server_default="")
    pix_key: Mapped[str] = mapped_column(String(140), default="", server_default="")
    # The store's identity on My Credits, checkout, e-mails and printed documents.
    trade_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    legal_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    tax_id: Mapped[str] = mapped_column(String(20), default="", server_default="")  # CNPJ
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    support_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    support_phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # The logo (PNG or JPEG), in the database so every host serves the same one; loaded
    # only when asked for (deferred). logo_type is its MIME type, "" without a logo.
    logo: Mapped[bytes | None] = mapped_column(db.LargeBinary, deferred=True)
    logo_type: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # Reminder e-mails: [{"when": "before" | "after", "days": 5, "time": "09:30"}, …], each
    # rule at its own time of day in the store's timezone (portal/reminders.py sends them).
    reminder_rules: Mapped[list] = mapped_column(
        JSON,
        default=lambda: [
            {"when": "before", "days": 5, "time": "12:00"},
            {"when": "before", "days": 1, "time": "12:00"},
            {"when": "before", "days": 0, "time": "12:00"},
            {"when": "after", "days": 3, "time": "12:00"},
        ],
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PaymentTerm(db.Model):
    """A payment term offered at checkout, e.g. `30/60/90`: one invoice per number."""

    __tablename__ = "payment_terms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    days: Mapped[str] = mapped_column(String(100), unique=True)
    interest_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def day_offsets(self) -> list[int]:
        """The due-day offsets of the installments."""
        return [int(part) for part in self.days.split("/")]

    @property
    def installments(self) -> int:
        """How many invoices the term issues."""
        return len(self.day_offsets)


class ApiKey(db.Model):
    """An integration's credentials: the app key is public, the token only hashed."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(128))
    label: Mapped[str] = mapped_column(String(120))
    scopes: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def scope_set(self) -> set[str]:
        """The scopes as a set of names."""
        return {s for s in self.scopes.split(",") if s}


class AuditEvent(db.Model):
    """Who did what to which record, with the reason when one is required."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_account", "account_id", "id"),
        Index("ix_audit_events_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(254), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(80))
    account_id: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(500), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class IdempotencyRecord(db.Model):
    """The first response to a request sent with an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("client", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportFile(db.Model):
    """The bytes of an uploaded CSV, stored once however many times it is uploaded."""

    __tablename__ = "import_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(db.LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportBatch(db.Model):
    """One upload of a CSV file: its dry-run result, and whether and how it was applied."""

    __tablename__ = "import_batches"
    __table_args__ = (Index("ix_import_batches_uploader_status", "uploaded_by", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # accounts | invoices
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # its ImportFile, until discarded
    size: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # previewed → applied (claimed by one conditional UPDATE); previewed → discarded
    status: Mapped[str] = mapped_column(String(12), default="previewed")
    uploaded_by: Mapped[str] = mapped_column(String(254))
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    only_valid: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(db.Model):
    """Something that leaves the portal (an e-mail), written in the transaction that caused it.

    A sender delivers pending rows and marks them; `dedupe_key` makes "at most one per
    cause" a database fact. Messages that carry a secret link (invitation, reset) keep
    only what is needed to make a fresh one in `payload`; the link is made when sending.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="email")
    topic: Mapped[str] = mapped_column(String(32))  # invitation | reset | …
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInThrottle(db.Model):
    """Failed sign-in or reset attempts of one key (an account, or an account + address).

    Kept in the database so that every worker and every machine counts the same failures.
    """

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Reminder(db.Model):
    """One reminder rule firing for one invoice: made once (unique), then sent or skipped.

    The e-mail itself is an outbox row shared by every reminder of one holder and pass.
    """

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("invoice_id", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    rule: Mapped[str] = mapped_column(String(16))  # before:5 | after:3
    due_on: Mapped[date] = mapped_column(Date)  # the store day the rule fires
    status: Mapped[str] = mapped_column(String(12), default="queued")  # sent | skipped
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEndpoint(db.Model):
    """Where the store wants its events delivered (Standard Webhooks, signed)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(1000))
    events: Mapped[list] = mapped_column(JSON, default=list)  # event types, or ["*"]
    secret: Mapped[str] = mapped_column(Text)  # encrypted with a key derived from SECRET_KEY
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str] = mapped_column(String(500), default="")


class WebhookEvent(db.Model):
    """Something that happened, once: its payload is what every endpoint receives."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # msg_… (the webhook-id)
    type: Mapped[str] = mapped_column(String(40), index=True)
    # A state transition recorded once (e.g. invoice.overdue:<invoice id>); None for others.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class WebhookAttempt(db.Model):
    """One try to deliver an event to an endpoint: its status code and duration."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id"))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(500), default="")


class ScheduledLimitChange(db.Model):
    """A limit (and optional tolerance) to apply on a day, through change_limit."""

    __tablename__ = "scheduled_limit_changes"
    __table_args__ = (Index("ix_scheduled_limit_changes_status_on", "status", "effective_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    credit_limit: Mapped[Decimal] = mapped_column(Money)
    tolerance: Mapped[Decimal | None] = mapped_column(Rate)
    effective_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    scheduled_by: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # applied | cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str] = mapped_column(String(500), default="")


class JobRun(db.Model):
    """One pass of the jobs worker: when, by whom, and what each job did."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)


# Keeps Account.search_text and Invoice.search_text current on every write (ORM hooks).
from . import search  # noqa: E402,F401
