"""Bulk changes from imported files: the same rules as one click, in one transaction.

`plan_*` is the dry run: it decides for every row whether it creates, updates, changes
nothing or is rejected, with the column (as the template's header names it) and the reason
of every problem of the row, not only the first. `apply_*` writes a plan
all-or-nothing; with only_valid it skips the rejected rows. Account imports write with
multi-row INSERTs (100k rows in seconds) but the same entries and audit events as
open_account / change_limit; invoice imports call the invoice operations row by row.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l  # labels of a row's cells: translated if refused
from flask_babel import ngettext
from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Account, AuditEvent, Holder, Invoice, StatementEntry, utcnow
from ..search import words
from .accounts import OPENING, account_id_for
from .errors import Conflict, CreditError, InvalidInput
from .invoices import STATUSES, annotate_invoice, cancel_invoice, pay_invoice, reopen_invoice
from .ledger import lock_account, post_limit, post_tolerance, reread, write_transaction
from .money import parse_non_negative, parse_rate
from .permissions import (
    ACCOUNTS,
    EVERYTHING,
    INVOICES,
    LIMITS,
    PAY,
    Forbidden,
    Grant,
    opening_needs,
)
from .settings import get_settings
from .validation import clean_text, normalize_document, normalize_email

CHUNK = 5000
STATUS_WORDS = {
    "opened": "Opened",
    "open": "Opened",
    "aberto": "Opened",
    "em aberto": "Opened",
    "abierto": "Opened",
    "abierta": "Opened",
    "paid": "Paid",
    "pago": "Paid",
    "pagado": "Paid",
    "pagada": "Paid",
    "paga": "Paid",
    "cancelled": "Cancelled",
    "canceled": "Cancelled",
    "cancelado": "Cancelled",
    "cancelada": "Cancelled",
    "overdue": "Opened",
    "vencido": "Opened",
    "vencida": "Opened",
}


@dataclass
class RowResult:
    """What one row of a file does: create, update, unchanged or rejected."""

    row: int
    action: str
    data: dict = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    changes: dict = field(default_factory=dict)


@dataclass
class Plan:
    """The dry-run result of a file."""

    kind: str
    rows: list[RowResult]

    @property
    def counts(self) -> dict[str, int]:
        """How many rows create, update, change nothing, or are rejected."""
        counts = {"create": 0, "update": 0, "unchanged": 0, "rejected": 0}
        for result in self.rows:
            counts[result.action] += 1
        return counts

    def of(self, action: str) -> list[RowResult]:
        """The rows that create, update, change nothing or are rejected, in file order."""
        return [r for r in self.rows if r.action == action]

    @property
    def rejected(self) -> list[RowResult]:
        return self.of("rejected")


class Unreadable(str):
    """A cell's text the file reader could not read exactly, with the reason (`error`)."""

    def __new__(cls, text: str, error: InvalidInput):
        cell = super().__new__(cls, text)
        cell.error = error
        return cell


def _cell(cell):
    """A cell as the file reader read it; an Unreadable one is refused with its reason."""
    if isinstance(cell, Unreadable):
        raise cell.error
    return cell


class _Errors(list):
    """The (column, reason) of each bad cell of one row, gathered while reading the row."""

    def read(self, column: str, reader):
        """What `reader()` returns, or None with its reason kept under `column`."""
        try:
            return reader()
        except CreditError as error:
            self.append((column, _reason(column, error.message)))
            return None


def _reason(column: str, message: str) -> str:
    """A message without the column's label in front ("Credit limit: use a point…" → "use a
    point…"): the label is shown beside it."""
    return message.removeprefix(f"{column}: ")


def _blank(cell) -> bool:
    return not isinstance(cell, Unreadable) and not str(cell or "").strip()


# --- accounts ----------------------------------------------------------------------------


def _clean_account_row(row: int, raw: dict) -> RowResult:
    """Read every cell of an account row; a row with bad cells is rejected with the column
    (as the template's header names it) and the reason of each one."""
    errors, data = _Errors(), {}
    try:
        document, document_type = normalize_document(raw.get("document"), raw.get("document_type"))
    except CreditError as error:
        if error.field == "document_type":
            errors.append(("Document Type", error.message))
        if _blank(raw.get("document")):
            errors.append(("Document", _("enter the document number.")))
        elif error.field == "document":
            errors.append(("Document", error.message))
    else:
        data["id"] = account_id_for(document, document_type)
        data["document"], data["document_type"] = document, document_type
    if _blank(raw.get("email")):
        errors.append(("Email", _("enter an e-mail address such as buyer@example.com.")))
    else:
        email = errors.read("Email", lambda: normalize_email(raw.get("email")))
        if email is not None:
            data["email"] = email
    limit = raw.get("credit_limit")
    if _blank(limit):
        errors.append(("Credit limit", _("enter an amount such as 2,500.00.")))
    else:
        data["credit_limit"] = errors.read(
            "Credit limit", lambda: parse_non_negative(_cell(limit), _l("Credit limit"))
        )
    data["tolerance"] = errors.read(
        "Tolerance rate",
        lambda: parse_rate(_cell(raw.get("tolerance")) or "0", _l("Tolerance rate")),
    )
    if "name" in raw:
        data["name"] = errors.read("Name", lambda: clean_text(raw.get("name"), _l("Name"), 200))
    dependents = set()
    for address in str(raw.get("dependents") or "").replace(";", ",").replace("|", ",").split(","):
        if address.strip():
            email = errors.read("Dependents", lambda a=address: normalize_email(a, "dependents"))
            dependents.add(email)
    data["dependents"] = sorted(dependents - {None})
    if data.get("email") in data["dependents"]:
        errors.append(("Dependents", _("The main e-mail cannot also be a dependent.")))
    if errors:
        return RowResult(row=row, action="rejected", data=data, errors=list(errors))
    return RowResult(row=row, action="create", data=data)


def _in_chunks(session: Session, statement_for, values: list):
    for start in range(0, len(values), CHUNK):
        yield from session.execute(statement_for(values[start : start + CHUNK]))


def clean(kind: str, rows: list[tuple[int, dict]]) -> list[RowResult]:
    """Check each row on its own (no database): the pure, cacheable part of a plan."""
    if kind == "invoices":
        return [_clean_invoice_row(row, raw) for row, raw in rows]
    results = [_clean_account_row(row, raw) for row, raw in rows]
    _reject_duplicates(
        results,
        "id",
        "Document",
        lambda row: _("The same account appears twice in the file (row %(row)s).", row=row),
    )
    _reject_duplicates(
        results,
        "email",
        "Email",
        lambda row: _("The same e-mail appears twice in the file (row %(row)s).", row=row),
    )
    return results


def classify(
    session: Session, kind: str, cleaned: list[RowResult], grant: Grant = EVERYTHING
) -> Plan:
    """Match cleaned rows against the database (the rows given are not modified).

    A row whose changes need a right `grant` lacks is rejected with the reason; a cell
    equal to the current value changes nothing and needs nothing.
    """
    results = [RowResult(r.row, r.action, dict(r.data), list(r.errors)) for r in cleaned]
    if kind == "invoices":
        return _classify_invoices(session, results, grant)
    return _classify_accounts(session, results, grant)


def plan_accounts(
    session: Session, rows: list[tuple[int, dict]], grant: Grant = EVERYTHING
) -> Plan:
    """Decide what each account row does, matched by document + type, else by e-mail."""
    return classify(session, "accounts", clean("accounts", rows), grant)


def plan_invoices(
    session: Session, rows: list[tuple[int, dict]], grant: Grant = EVERYTHING
) -> Plan:
    """Decide what each invoice row does; every change is checked against the rules."""
    return classify(session, "invoices", clean("invoices", rows), grant)


def _check_rights(result: RowResult, grant: Grant, needs: list[tuple[str, str]]) -> None:
    """Reject the row for each column of `needs` whose right `grant` lacks (with the other
    reasons it may already have)."""
    refused: dict[str, str] = {}
    for column, right in needs:
        if not grant.allows(right) and column not in refused:
            refused[column] = grant.refusal(right)
    if refused:
        result.action, result.changes = "rejected", {}
        result.errors = [*result.errors, *refused.items()]


def _classify_accounts(session: Session, results: list[RowResult], grant: Grant) -> Plan:
    valid = [r for r in results if r.action != "rejected"]
    ids = [r.data["id"] for r in valid]
    emails = [r.data["email"] for r in valid]
    existing = {}
    columns = (Account.id, Account.email, Account.credit_limit, Account.tolerance, Account.name)
    for found in _in_chunks(
        session, lambda chunk: select(*columns).where(Account.id.in_(chunk)), ids
    ):
        existing[found.id] = found
    by_email = {}
    for found in _in_chunks(
        session, lambda c: select(*columns).where(Account.email.in_(c)), emails
    ):
        by_email[found.email] = found
    holders = _existing_holders(session, list({*existing, *(a.id for a in by_email.values())}))
    default_credit = get_settings(session).default_credit_value
    for result in valid:
        _classify(result, existing, by_email, holders)
        _check_rights(result, grant, _account_needs(result, default_credit))
    return Plan(kind="accounts", rows=results)


ACCOUNT_RIGHTS = {
    "credit_limit": ("Credit limit", LIMITS),
    "tolerance": ("Tolerance rate", LIMITS),
    "email": ("Email", ACCOUNTS),
    "name": ("Name", ACCOUNTS),
    "dependents": ("Dependents", ACCOUNTS),
}


def _account_needs(result: RowResult, default_credit: Decimal) -> list[tuple[str, str]]:
    """(column, right) of each change the row makes; opening counts as a limit decision
    when it grants more than the store's default credit or any tolerance."""
    if result.action == "create":
        data = result.data
        right = opening_needs(data["credit_limit"], data["tolerance"], default_credit)
        column = "Tolerance rate" if data["credit_limit"] <= default_credit else "Credit limit"
        return [(column if right == LIMITS else "Document", right)]
    return [ACCOUNT_RIGHTS[name] for name in result.changes]


def _reject_duplicates(results: list[RowResult], key: str, column: str, message) -> None:
    """Reject each row naming the same `key` as an earlier row (rejected or not: the file
    names the same thing twice either way); `message(row)` says which row came first."""
    seen: dict = {}
    for result in results:
        value = result.data.get(key)
        if value is None:
            continue
        if value in seen:
            result.action, result.changes = "rejected", {}
            result.errors = [*result.errors, (column, message(seen[value]))]
        else:
            seen[value] = result.row


def _existing_holders(session: Session, account_ids: list[str]) -> dict[str, set[str]]:
    holders: dict[str, set[str]] = {}
    for account_id, email in _in_chunks(
        session,
        lambda c: select(Holder.account_id, Holder.email).where(Holder.account_id.in_(c)),
        account_ids,
    ):
        holders.setdefault(account_id, set()).add(email)
    return holders


def _classify(result: RowResult, existing: dict, by_email: dict, holders: dict) -> None:
    data = result.data
    current = existing.get(data["id"]) or by_email.get(data["email"])
    if current is None:
        return  # create
    owner = by_email.get(data["email"])
    if owner is not None and owner.id != current.id:
        current = owner
    if current.id != data["id"]:
        message = _(
            "%(email)s already belongs to account %(account)s.",
            email=data["email"],
            account=current.id,
        )
        result.action, result.errors = "rejected", [("Email", message)]
        return
    result.changes = _account_changes(data, current, holders.get(current.id, set()))
    result.action = "update" if result.changes else "unchanged"


def _account_changes(data: dict, current, holders: set[str]) -> dict:
    """{field: (now, in the file)} for each value the row would change."""
    changes = {}
    for name in ("email", "credit_limit", "tolerance", "name"):
        if name in data and data[name] != getattr(current, name):
            changes[name] = (getattr(current, name), data[name])
    new_dependents = [e for e in data["dependents"] if e not in holders]
    if new_dependents:
        changes["dependents"] = ((), tuple(new_dependents))
    return changes


def apply_accounts(
    session: Session,
    cleaned: list[RowResult],
    *,
    actor: str,
    reason: str,
    only_valid: bool = False,
    grant: Grant = EVERYTHING,
) -> Plan:
    """Classify cleaned account rows and write them, in one transaction.

    A rejected row refuses the whole file unless only_valid. Each update is computed
    again from its account row once locked (and checked against `grant` again), so a
    change made by someone else since the preview is neither undone nor applied twice.
    """
    with write_transaction(session):
        plan = classify(session, "accounts", cleaned, grant)
        _refuse_if_rejected(plan, only_valid)
        creates = [r.data for r in plan.rows if r.action == "create"]
        updates = [r for r in plan.rows if r.action == "update"]
        try:
            _insert_accounts(session, sorted(creates, key=lambda c: c["id"]), actor)  # B-tree
        except IntegrityError:
            raise Conflict(
                "rows_changed", _("An account of the file was opened meanwhile: preview it again.")
            ) from None
        for result in sorted(updates, key=lambda r: r.data["id"]):
            _update_account(session, result, actor, reason, grant)
    return plan


def _refuse_if_rejected(plan: Plan, only_valid: bool) -> None:
    if plan.rejected and not only_valid:
        raise Conflict(
            "rows_rejected",
            ngettext(
                "%(num)d row is rejected: fix it or apply only the valid rows.",
                "%(num)d rows are rejected: fix them or apply only the valid rows.",
                len(plan.rejected),
            ),
        )


def _insert_accounts(session: Session, creates: list[dict], actor: str) -> None:
    if not creates:
        return
    now = utcnow()
    accounts, holders, entries, events = [], [], [], []
    for data in creates:
        accounts.append(
            {
                "id": data["id"],
                "document": data["document"],
                "document_type": data["document_type"],
                "email": data["email"],
                "name": data.get("name", ""),
                "description": "",
                "search_text": words(data["id"], data["document"], data["email"], data.get("name")),
                "status": "Open",
                "credit_limit": data["credit_limit"],
                "tolerance": data["tolerance"],
                "balance": data["credit_limit"],
                "pre_authorized": Decimal("0.00"),
                "created_at": now,
                "updated_at": now,
            }
        )
        holders.append(
            {
                "id": secrets.token_hex(16),
                "account_id": data["id"],
                "email": data["email"],
                "level": 1,
                "created_at": now,
            }
        )
        holders += [
            {
                "id": secrets.token_hex(16),
                "account_id": data["id"],
                "email": email,
                "level": 2,
                "created_at": now,
            }
            for email in data["dependents"]
        ]
        if data["credit_limit"]:
            entries.append(
                {
                    "account_id": data["id"],
                    "origin": "Credit",
                    "value": data["credit_limit"],
                    "description": OPENING,
                    "done_by": actor,
                    "created_at": now,
                    "statement_value": None,  # the opening limit: not in the API's statement
                    "details": {"old": "0.00", "new": str(data["credit_limit"])},
                }
            )
        events.append(
            {
                "created_at": now,
                "actor": actor,
                "action": "account.open",
                "target_type": "Account",
                "target_id": data["id"],
                "account_id": data["id"],
                "reason": "CSV import",
                "details": {
                    "credit_limit": str(data["credit_limit"]),
                    "tolerance": str(data["tolerance"]),
                },
            }
        )
    for model, values in (
        (Account, accounts),
        (Holder, holders),
        (StatementEntry, entries),
        (AuditEvent, events),
    ):
        _insert_many(session, model.__table__, values)


def _update_account(
    session: Session, result: RowResult, actor: str, reason: str, grant: Grant
) -> None:
    account = lock_account(session, result.data["id"])
    data = result.data
    holders = set(
        session.scalars(select(Holder.email).where(Holder.account_id == account.id)).all()
    )
    result.changes = _account_changes(data, account, holders)
    _check_rights(result, grant, [ACCOUNT_RIGHTS[name] for name in result.changes])
    if result.action == "rejected":
        raise Forbidden("forbidden", _row_errors(result))
    # the limit at the old tolerance, then the tolerance on the new limit (as two API calls)
    post_limit(session, account, data["credit_limit"], actor, description=reason)
    post_tolerance(session, account, data["tolerance"], actor, description=reason)
    if "name" in result.changes:
        account.name = data["name"]
    if "email" in result.changes:
        session.execute(
            update(Holder)
            .where(Holder.account_id == account.id, Holder.level == 1)
            .values(email=data["email"])
        )
        account.email = data["email"]
    for email in result.changes.get("dependents", ((), ()))[1]:
        session.add(Holder(id=uuid.uuid4().hex, account_id=account.id, email=email, level=2))
    session.add(
        AuditEvent(
            actor=actor,
            action="account.import_update",
            target_type="Account",
            target_id=account.id,
            account_id=account.id,
            reason=reason,
            details={k: [str(v) for v in pair] for k, pair in result.changes.items()},
        )
    )


def _row_errors(result: RowResult) -> str:
    """'Row 4: Credit limit: …; Email: …' (every reason of a row, for a refused apply)."""
    reasons = "; ".join(f"{column}: {message}" for column, message in result.errors)
    return _("Row %(row)s: %(reasons)s", row=result.row, reasons=reasons)


SQLITE_VARIABLES = 32766  # the most parameters one SQLite statement takes (3.32 and later)


def _insert_many(session: Session, table, rows: list[dict]) -> None:
    """Insert many rows: on SQLite as multi-row INSERTs without per-value type processing.

    One statement carries as many rows as SQLite takes parameters (about 2,300 accounts):
    the FTS5 triggers on accounts and holders write their pending index out at the end of
    each statement, so one statement per row made 100k one-row index segments (10 s a
    table of 100k; 3 s this way). The values are converted the way SQLAlchemy stores them
    on SQLite: Decimal as text (NUMERIC affinity), datetimes as naive UTC
    'YYYY-MM-DD HH:MM:SS.ffffff', JSON as text. Other engines get a plain Core executemany.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        connection.execute(insert(table), rows)
        return
    columns = list(rows[0])
    values = list(zip(*(_sqlite_column([row[c] for row in rows]) for c in columns), strict=True))
    marks = f"({', '.join('?' for _ in columns)})"
    per_statement = SQLITE_VARIABLES // len(columns)
    with _roomy_page_cache(connection):
        for start in range(0, len(values), per_statement):
            chunk = values[start : start + per_statement]
            sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
            sql += ", ".join([marks] * len(chunk))
            connection.exec_driver_sql(sql, tuple(value for row in chunk for value in row))


@contextmanager
def _roomy_page_cache(connection, kibibytes: int = 65536) -> Iterator[None]:
    """SQLite: a 64 MiB page cache for the block, then the connection's own again. 100k
    rows go into a table and its 5-8 indexes in random key order: SQLite's default 2 MiB
    cache spills and re-reads pages throughout (the accounts of an import: 3.1 -> 2.1 s)."""
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{kibibytes}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(previous)}")


def _sqlite_column(values: list) -> list:
    first = next((v for v in values if v is not None), None)
    if isinstance(first, Decimal):
        return [None if v is None else str(v) for v in values]
    if isinstance(first, datetime):
        cache: dict = {}  # a batch shares one timestamp: convert it once
        return [cache[v] if v in cache else cache.setdefault(v, _sqlite_time(v)) for v in values]
    if isinstance(first, dict):
        return [json.dumps(v) for v in values]
    return values


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


# --- invoices ----------------------------------------------------------------------------


def _clean_invoice_row(row: int, raw: dict) -> RowResult:
    """Read every cell of an invoice row; a row with bad cells is rejected with each reason."""
    errors = _Errors()
    data = {"invoice_id": raw.get("invoice_id", ""), "friendly_id": raw.get("friendly_id", "")}
    if not data["invoice_id"] and not data["friendly_id"]:
        errors.append(("Invoice id", _("Give the invoice id or the friendly id.")))
    status = raw.get("status", "")
    if status:
        data["status"] = STATUS_WORDS.get(status.strip().lower())
        if data["status"] not in STATUSES:
            errors.append(
                (
                    "Status",
                    _('Unknown status "%(status)s": use Open, Paid or Cancelled.', status=status),
                )
            )
    for name in ("payment_link", "observation"):
        if name in raw:
            data[name] = raw[name]
    if raw.get("paid_amount"):
        data["paid_amount"] = errors.read(
            "Paid amount", lambda: parse_non_negative(_cell(raw["paid_amount"]), "Paid amount")
        )
    if errors:
        return RowResult(row=row, action="rejected", data=data, errors=list(errors))
    return RowResult(row=row, action="update", data=data)


def _classify_invoices(session: Session, results: list[RowResult], grant: Grant) -> Plan:
    keys = [
        r.data["invoice_id"] or r.data["friendly_id"] for r in results if r.action != "rejected"
    ]
    found = {}
    for invoice in _in_chunks(
        session,
        lambda c: select(Invoice).where(or_(Invoice.id.in_(c), Invoice.friendly_id.in_(c))),
        keys,
    ):
        found[invoice[0].id] = found[invoice[0].friendly_id] = invoice[0]
    for result in results:
        if result.action != "rejected":
            _classify_invoice(result, found, grant)
    _reject_duplicates(
        results,
        "id",
        "Invoice id",
        lambda row: _("The same invoice appears twice in the file (row %(row)s).", row=row),
    )
    return Plan(kind="invoices", rows=results)


INVOICE_RIGHTS = {
    "paid_amount": ("Paid amount", PAY),
    "payment_link": ("Payment link", INVOICES),
    "observation": ("Observation", INVOICES),
}


def _invoice_needs(changes: dict) -> list[tuple[str, str]]:
    """(column, right) of each change: paying needs PAY, any other status change INVOICES."""
    needs = []
    for name, (_now, wanted) in changes.items():
        if name == "status":
            needs.append(("Status", PAY if wanted == "Paid" else INVOICES))
        else:
            needs.append(INVOICE_RIGHTS[name])
    return needs


def _classify_invoice(result: RowResult, found: dict, grant: Grant) -> None:
    data = result.data
    invoice = found.get(data["invoice_id"]) or found.get(data["friendly_id"])
    if (
        invoice is None
        or (data["friendly_id"] and invoice.friendly_id != data["friendly_id"])
        or (data["invoice_id"] and invoice.id != data["invoice_id"])
    ):
        result.action, result.errors = "rejected", [("Invoice id", _("No such invoice."))]
        return
    data["id"], data["account_id"] = invoice.id, invoice.account_id
    changes, errors = _status_and_payment(invoice, data.get("status"), data.get("paid_amount"))
    for name in ("payment_link", "observation"):
        if name in data and data[name] != getattr(invoice, name):
            changes[name] = (getattr(invoice, name), data[name])
            errors += _annotation_errors(name, data[name])
    result.errors = errors
    result.changes = {} if errors else changes
    result.action = "rejected" if errors else "update" if changes else "unchanged"
    _check_rights(result, grant, _invoice_needs(changes))


def _annotation_errors(name: str, text: str) -> list[tuple[str, str]]:
    """The rules of annotate_invoice for a changed payment link or observation, told at
    the preview rather than when the file is applied."""
    text = str(text or "")
    if name == "payment_link":
        link = text.strip()
        if link and not link.startswith(("https://", "http://")):
            return [("Payment link", _("A payment link must start with https://."))]
        if len(link) > 1000:
            return [("Payment link", _("The payment link is longer than 1000 characters."))]
    elif len(text) > 1000:
        return [("Observation", _("The observation is longer than 1000 characters."))]
    return []


def _status_and_payment(invoice: Invoice, target: str | None, paid: Decimal | None):
    """({status or paid_amount: (now, in the file)}, errors) of a row's Status and Paid
    amount cells, read as the state the row leads to: a file imported again after it was
    applied changes nothing.

    - Paid: the whole value is paid; the paid amount cell may be the value, or left as it
      was before paying (an exported file whose status was changed to Paid).
    - Opened with a paid amount: pay up to it (paying it all makes the invoice Paid, which
      is then what the row leads to); reopening a paid invoice voids its payments (0.00).
    - Cancelled: the paid amount stays as it is (0.00 when a paid invoice is reopened to
      be cancelled).
    A paid amount below what is paid, above the value, or changing on an invoice that is
    not open is refused with its reason.
    """
    status, before, value = invoice.status, invoice.paid_amount, invoice.value

    def refuse(message: str):
        return {}, [("Paid amount", message)]

    if paid is not None and paid > value:
        return refuse(
            _("Paid amount cannot be more than the invoice's value (%(value)s).", value=value)
        )
    if target == "Paid":
        if status == "Paid":
            return {}, []
        if status == "Opened" and paid == value:
            return {"paid_amount": (before, paid)}, []
        if paid is None or paid == before:
            return {"status": (status, "Paid")}, []  # pays what remains (reopened first)
        if status == "Opened" and paid > before:
            return refuse(
                _(
                    "Status Paid means the whole value (%(value)s) is paid: write %(value)s "
                    "in Paid amount or leave it empty.",
                    value=value,
                )
            )
    elif target == "Cancelled":
        after = Decimal("0.00") if status == "Paid" else before  # reopening voids payments
        if paid is not None and paid != after:
            if status == "Paid":
                return refuse(
                    _(
                        "Cancelling a paid invoice voids its payments: leave Paid amount "
                        "empty or write 0.00."
                    )
                )
            return refuse(_("A cancelled invoice keeps its paid amount (%(paid)s).", paid=before))
        return ({"status": (status, "Cancelled")} if status != "Cancelled" else {}), []
    elif paid is None or paid == before:
        if target == "Opened" and status != "Opened":
            if status == "Paid" and paid is not None:
                return {}, []  # paid in full, as the row's payment leads to
            return {"status": (status, "Opened")}, []
        return {}, []
    elif target == "Opened" and status == "Paid" and paid == 0:
        return {"status": (status, "Opened")}, []  # reopening voids the payments
    elif status == "Opened" and paid > before:
        return {"paid_amount": (before, paid)}, []
    if status == "Paid":
        return refuse(
            _(
                "The invoice is paid: its paid amount (%(paid)s) cannot change. To reopen "
                "it, write Open in Status and leave Paid amount empty.",
                paid=before,
            )
        )
    if status == "Cancelled":
        return refuse(
            _(
                "The invoice is cancelled: its paid amount (%(paid)s) cannot change.",
                paid=before,
            )
        )
    return refuse(_("Paid amount cannot be below what is already paid (%(paid)s).", paid=before))


def apply_invoices(
    session: Session,
    cleaned: list[RowResult],
    *,
    actor: str,
    only_valid: bool = False,
    grant: Grant = EVERYTHING,
) -> Plan:
    """Classify cleaned invoice rows and apply them through the invoice operations.

    Each row is classified again against its invoice re-read under the account's lock,
    and the write is computed from that row (a payment pays what the file says is paid
    minus what is paid now), so nothing is paid twice or undone by a stale preview.
    """
    with write_transaction(session):
        plan = classify(session, "invoices", cleaned, grant)
        _refuse_if_rejected(plan, only_valid)
        for result in plan.rows:
            if result.action == "update":
                _apply_invoice_row(session, result, actor, grant)
    return plan


def _apply_invoice_row(session: Session, result: RowResult, actor: str, grant: Grant) -> None:
    data = result.data
    account_id, invoice_id = data["account_id"], data["id"]
    lock_account(session, account_id)
    invoice = reread(session, Invoice, invoice_id)
    fresh = RowResult(result.row, "update", dict(data))
    _classify_invoice(fresh, {invoice.id: invoice, invoice.friendly_id: invoice}, grant)
    if fresh.action == "rejected":
        raise Conflict("rows_changed", _row_errors(fresh))
    result.action, result.changes = fresh.action, fresh.changes
    changes = fresh.changes
    try:
        if "payment_link" in changes or "observation" in changes:
            annotate_invoice(
                session,
                account_id,
                invoice_id,
                actor=actor,
                payment_link=data.get("payment_link"),
                observation=data.get("observation"),
            )
        if "paid_amount" in changes:
            before, after = changes["paid_amount"]
            pay_invoice(session, account_id, invoice_id, after - before, actor=actor)
        elif "status" in changes:
            current, target = changes["status"]
            if current != "Opened":
                reopen_invoice(session, account_id, invoice_id, actor=actor, reason="CSV import")
            if target == "Paid":
                pay_invoice(session, account_id, invoice_id, actor=actor)
            elif target == "Cancelled":
                cancel_invoice(session, account_id, invoice_id, actor=actor, reason="CSV import")
    except CreditError as error:
        raise InvalidInput(
            error.code, _("Row %(row)s: %(reasons)s", row=result.row, reasons=error.message)
        ) from None
