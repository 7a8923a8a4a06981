"""Accounts: search, open, read, update, close, limit, tolerance, statements, holders."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from flask import request
from sqlalchemy import func, select

from .. import credit, listing
from ..credit.ledger import write_transaction
from ..extensions import db
from ..models import Invoice, StatementEntry
from . import bp, serializers
from .auth import actor, require_scope
from .idempotency import idempotent
from .payload import body, optional_object, optional_text, reply, window

ACCOUNT = "/creditcontrol/accounts/<creditAccountId>"
CREDIT_LINE = ("Credit", "Tolerance")  # entries that move the limit, not what is owed
DEFAULT_REASON = "API"


def _account_reply(account):
    enabled = credit.get_settings(db.session).tolerance_enabled
    return reply(serializers.account(account, enabled))


def _reason(data: dict) -> str:
    return optional_text(data, "reason") or DEFAULT_REASON


@bp.get("/creditcontrol/accounts", strict_slashes=False)  # the guides write …/accounts/
@require_scope("accounts:read")
def search_accounts():
    """Search accounts; only open ones unless `status` says otherwise (as the contract)."""
    args = request.args.to_dict()
    args.setdefault("status", "Open")
    query = listing.parse(listing.ACCOUNTS, args)
    paging = window(request.args) or (None, None)
    page = listing.run(db.session, listing.ACCOUNTS, query, offset=paging[0], limit=paging[1])
    enabled = credit.get_settings(db.session).tolerance_enabled
    return reply(
        {
            "data": [serializers.account(a, enabled) for a in page.items],
            "summary": {"count": page.total},
        }
    )


@bp.post("/creditcontrol/accounts")
@require_scope("accounts:write")
@idempotent
def open_account():
    """Open an account with its main holder and initial limit."""
    data = body()
    tolerance = data.get("tolerance")
    account = credit.open_account(
        db.session,
        document=optional_text(data, "document"),
        document_type=optional_text(data, "documentType"),
        email=optional_text(data, "email"),
        credit_limit=data.get("creditLimit"),
        tolerance="0" if tolerance in (None, "") else tolerance,
        name=optional_text(data, "name") or "",
        description=optional_text(data, "description") or "",
        actor=actor(),
    )
    return _account_reply(account)


@bp.get(ACCOUNT)
@require_scope("accounts:read")
def get_account(creditAccountId):
    """One account."""
    return _account_reply(credit.get_account(db.session, creditAccountId))


@bp.put(ACCOUNT)
@require_scope("accounts:write")
def update_account(creditAccountId):
    """Change e-mail and description; creditLimit and tolerance when sent."""
    data = body()
    session = db.session
    email, description = optional_text(data, "email"), optional_text(data, "description")
    with write_transaction(session):  # all of it, or nothing when one part is refused
        account = credit.update_account(
            session, creditAccountId, actor=actor(), email=email, description=description
        )
        if data.get("creditLimit") is not None:
            account = credit.change_limit(
                session, account.id, data["creditLimit"], actor=actor(), reason=_reason(data)
            )
        if data.get("tolerance") is not None:
            account = credit.change_tolerance(
                session, account.id, data["tolerance"], actor=actor(), reason=_reason(data)
            )
    return _account_reply(account)


@bp.delete(ACCOUNT)
@require_scope("accounts:write")
def close_account(creditAccountId):
    """Close an account (its invoices stay payable)."""
    data = body(required=False)
    account = credit.close_account(db.session, creditAccountId, actor=actor(), reason=_reason(data))
    return _account_reply(account)


@bp.put(f"{ACCOUNT}/creditlimit")
@require_scope("accounts:write")
def change_limit(creditAccountId):
    """Set the credit limit; `reason` (optional) goes to the audit trail."""
    data = body()
    account = credit.change_limit(
        db.session, creditAccountId, data.get("value"), actor=actor(), reason=_reason(data)
    )
    return _account_reply(account)


@bp.put(f"{ACCOUNT}/tolerance")
@require_scope("accounts:write")
def change_tolerance(creditAccountId):
    """Set the tolerance rate (0.3 = 30 % above the limit)."""
    data = body()
    account = credit.change_tolerance(
        db.session, creditAccountId, data.get("value"), actor=actor(), reason=_reason(data)
    )
    return _account_reply(account)


def _invoices_of(session, entries) -> dict[str, tuple[str | None, int]]:
    """(orderId, numberOfInstallments) of the invoices the entries concern."""
    ids = {e.invoice_id for e in entries if e.invoice_id}
    if not ids:
        return {}
    rows = session.execute(
        select(Invoice.id, Invoice.order_id, Invoice.number_of_installments).where(
            Invoice.id.in_(ids)
        )
    )
    return {invoice_id: (order_id, count) for invoice_id, order_id, count in rows}


def _balance_at(session, account_id: str, moment) -> Decimal:
    """The account's balance as the API reports it (what is owed, negated) just before
    `moment` (now when None): every entry but the credit line's (limit, tolerance)."""
    stmt = select(func.coalesce(func.sum(StatementEntry.value), 0)).where(
        StatementEntry.account_id == account_id, StatementEntry.origin.not_in(CREDIT_LINE)
    )
    if moment is not None:
        stmt = stmt.where(StatementEntry.created_at < moment)
    return serializers.money(session.scalar(stmt))


@bp.get(f"{ACCOUNT}/statements")
@require_scope("statements:read")
def account_statements(creditAccountId):
    """The statement as VTEX reports it, oldest first: the listed values, their sum
    (intervalBalance) and the account's balance at the start and the end of the interval."""
    session = db.session
    account = credit.get_account(session, creditAccountId)
    spec = listing.STATEMENTS
    query = listing.parse(spec, request.args)
    paged = "page" in request.args or "perPage" in request.args
    page = listing.run(
        session,
        spec,
        query,
        StatementEntry.account_id == account.id,
        StatementEntry.statement_value.is_not(None),  # the opening limit is not listed
        offset=None if paged else 0,
        limit=None if paged else spec.max_per_page,
    )
    invoices = _invoices_of(session, page.items)
    start, end = (_moment(query, name) for name in ("from", "to"))
    return reply(
        {
            "statements": [
                serializers.statement_entry(e, invoices.get(e.invoice_id)) for e in page.items
            ],
            "currentBalance": _balance_at(session, account.id, end),
            "intervalBalance": serializers.money(page.summary["sum"]),
            "previousBalance": _balance_at(session, account.id, start)
            if start
            else serializers.money(0),
            "count": page.total,
        }
    )


def _moment(query: listing.ListingQuery, name: str):
    raw = query.filters.get(name)
    return listing.STATEMENTS.filter(name).parse(raw) if raw else None


def _statement_key(view_args: dict) -> str:
    """The statement id is the client's own: a retried PUT must not adjust twice."""
    name = f"{view_args['creditAccountId']}\n{view_args['statementId']}"
    return "statement:" + hashlib.sha256(name.encode("utf-8")).hexdigest()


@bp.put(f"{ACCOUNT}/statements/<statementId>")
@require_scope("accounts:write")
@idempotent(implicit_key=_statement_key)
def adjust_balance(creditAccountId, statementId):
    """A manual ledger entry of `value` (negative decreases the balance)."""
    data = body()
    value = data.get("value")
    reason = optional_text(data, "reason") or f"API statement {statementId}"
    credit.adjust_balance(db.session, creditAccountId, value, actor=actor(), reason=reason)
    return reply({"value": format(serializers.money(value), "f")})


@bp.post(f"{ACCOUNT}/holders")
@require_scope("accounts:write")
@idempotent
def add_holder(creditAccountId):
    """Add a dependent who shares the account's limit."""
    claims = optional_object(body(), "claims")
    holder = credit.add_holder(
        db.session,
        creditAccountId,
        optional_text(claims, "email"),
        actor=actor(),
        spending_cap=claims.get("spendingCap"),
    )
    return reply(serializers.holder(holder))


@bp.delete(f"{ACCOUNT}/holders/<holderId>")
@require_scope("accounts:write")
def remove_holder(creditAccountId, holderId):
    """Remove a dependent (the main holder changes with the account e-mail instead)."""
    credit.remove_holder(db.session, creditAccountId, holderId, actor=actor())
    return reply({"id": holderId})
