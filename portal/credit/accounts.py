"""Accounts and their holders: open, update, close, reopen, limits, tolerance, holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import Session

from .. import webhooks
from ..models import Account, Holder, Invoice, StoreSettings
from .errors import Conflict, InvalidInput, NotFound
from .ledger import (
    audit,
    lock_account,
    post,
    post_limit,
    post_tolerance,
    reread,
    write_transaction,
)
from .money import parse_decimal, parse_non_negative, parse_rate
from .permissions import EVERYTHING, Grant, opening_needs
from .settings import get_settings, store_today
from .validation import clean_text, normalize_document, normalize_email, require_text

OPENING = "Initial credit limit"


def account_id_for(document: str, document_type: str) -> str:
    """The public id of an account, as the reference API builds it: `<document>_<type>`."""
    return f"{document}_{document_type}"


def get_account(session: Session, account_id: str) -> Account:
    """The account, or NotFound."""
    account = session.get(Account, str(account_id))
    if account is None:
        raise NotFound(
            "account_not_found", _("Account %(account)s does not exist.", account=account_id)
        )
    return account


def open_account(
    session: Session,
    *,
    document: str,
    document_type: str,
    email: str,
    credit_limit,
    tolerance="0",
    name: str = "",
    description: str = "",
    actor: str,
    grant: Grant = EVERYTHING,
) -> Account:
    """Open an account with its main holder and a Credit entry for the initial limit.

    A limit above the store's default credit, or any tolerance, is a limit decision: it
    needs the right to change limits (`grant`), as a later limit change would.
    """
    document, document_type = normalize_document(document, document_type)
    email = normalize_email(email)
    name = clean_text(name, "name", 200)
    description = clean_text(description, "description", 500, strip=False)
    limit = parse_non_negative(credit_limit, "credit_limit")
    tolerance = parse_rate(tolerance, "tolerance")
    with write_transaction(session):
        default_credit = get_settings(session).default_credit_value
        needed = opening_needs(limit, tolerance, default_credit)
        grant.check(needed, "credit_limit" if limit > default_credit else "tolerance")
        account_id = account_id_for(document, document_type)
        if session.get(Account, account_id) is not None:
            raise Conflict(
                "duplicate_document",
                _(
                    "An account for %(type)s %(document)s already exists.",
                    type=document_type,
                    document=document,
                ),
                "document",
            )
        _check_email_free(session, email)
        account = Account(
            id=account_id,
            document=document,
            document_type=document_type,
            email=email,
            name=name,
            description=description,
            status="Open",
            credit_limit=Decimal("0.00"),
            tolerance=tolerance,
            balance=Decimal("0.00"),
            pre_authorized=Decimal("0.00"),
        )
        session.add(account)
        session.add(Holder(id=uuid.uuid4().hex, account_id=account_id, email=email, level=1))
        session.flush()
        post_limit(session, account, limit, actor, description=OPENING, opening=True)
        audit(
            session,
            actor,
            "account.open",
            account,
            account_id=account_id,
            credit_limit=limit,
            tolerance=tolerance,
        )
    return account


def _check_email_free(session: Session, email: str, except_id: str | None = None) -> None:
    clash = session.scalar(select(Account.id).where(Account.email == email))
    if clash is not None and clash != except_id:
        raise Conflict(
            "duplicate_email", _("%(email)s already has an account.", email=email), "email"
        )


def update_account(
    session: Session,
    account_id: str,
    *,
    actor: str,
    email: str | None = None,
    name: str | None = None,
    description: str | None = None,
) -> Account:
    """Change the account's e-mail (its main holder follows), name or description."""
    new_email = normalize_email(email) if email is not None else None
    name = clean_text(name, "name", 200) if name is not None else None
    if description is not None:
        description = clean_text(description, "description", 500, strip=False)
    with write_transaction(session):
        account = lock_account(session, account_id)
        changes = {}
        if new_email is not None and new_email != account.email:
            _check_email_free(session, new_email, except_id=account.id)
            main = _main_holder(session, account.id)
            if session.scalar(
                select(Holder.id).where(
                    Holder.account_id == account.id, Holder.email == new_email, Holder.level == 2
                )
            ):
                raise Conflict(
                    "duplicate_holder",
                    _("%(email)s is already a dependent.", email=new_email),
                    "email",
                )
            main.email = new_email
            changes["email"] = new_email
            account.email = new_email
        if name is not None:
            account.name = changes["name"] = name
        if description is not None:
            account.description = changes["description"] = description
        audit(session, actor, "account.update", account, account_id=account.id, **changes)
    return account


def _main_holder(session: Session, account_id: str) -> Holder:
    return session.scalars(
        select(Holder)
        .where(Holder.account_id == account_id, Holder.level == 1)
        .execution_options(populate_existing=True)
    ).one()


def close_account(session: Session, account_id: str, *, actor: str, reason: str) -> Account:
    """Close an account: it authorizes nothing more; its invoices stay payable. A reason is
    required (it is kept in the audit trail)."""
    reason = require_text(reason, "reason")
    with write_transaction(session):
        account = lock_account(session, account_id)
        if account.status == "Closed":
            raise Conflict("invalid_transition", _("The account is already closed."))
        account.status = "Closed"
        audit(session, actor, "account.close", account, account_id=account.id, reason=reason)
    return account


def reopen_account(session: Session, account_id: str, *, actor: str, reason: str = "") -> Account:
    """Reopen a closed account."""
    with write_transaction(session):
        account = lock_account(session, account_id)
        if account.status == "Open":
            raise Conflict("invalid_transition", _("The account is already open."))
        account.status = "Open"
        audit(session, actor, "account.reopen", account, account_id=account.id, reason=reason)
    return account


def limit_warnings(account: Account, new_limit: Decimal) -> list[str]:
    """What a person should read twice before changing a limit: `below_use` (the new limit
    is below what the account already uses, holds included) or `tenfold` (more than ten
    times the current limit)."""
    warnings = []
    if new_limit < account.used + account.pre_authorized:
        warnings.append("below_use")
    if account.credit_limit > 0 and new_limit > 10 * account.credit_limit:
        warnings.append("tenfold")
    return warnings


def change_limit(
    session: Session, account_id: str, new_limit, *, actor: str, reason: str
) -> Account:
    """Set the credit limit; the difference is a Credit entry. A reason is required."""
    limit = parse_non_negative(new_limit, "credit_limit")
    reason = require_text(reason, "reason")
    with write_transaction(session):
        account = lock_account(session, account_id)
        old = account.credit_limit
        post_limit(session, account, limit, actor, description=reason)
        if limit != old:
            webhooks.emit(session, "account.limit_changed", account)
        audit(
            session,
            actor,
            "account.change_limit",
            account,
            account_id=account.id,
            reason=reason,
            old=old,
            new=limit,
        )
    return account


def change_tolerance(
    session: Session, account_id: str, tolerance, *, actor: str, reason: str
) -> Account:
    """Set the tolerance rate (0.2 = 20 % above the limit). A reason is required."""
    rate = parse_rate(tolerance, "tolerance")
    reason = require_text(reason, "reason")
    with write_transaction(session):
        account = lock_account(session, account_id)
        old = account.tolerance
        post_tolerance(session, account, rate, actor, description=reason)
        audit(
            session,
            actor,
            "account.change_tolerance",
            account,
            account_id=account.id,
            reason=reason,
            old=old,
            new=rate,
        )
    return account


def adjust_balance(
    session: Session, account_id: str, value, *, actor: str, reason: str = ""
) -> Account:
    """A manual ledger adjustment (`decrease balance`): a Statement entry of ± value."""
    amount = parse_decimal(value, "value")
    if amount == 0:
        raise InvalidInput(
            "invalid_amount", _("%(field)s must not be zero.", field="value"), "value"
        )
    with write_transaction(session):
        account = lock_account(session, account_id)
        post(
            session, account, "Statement", amount, actor, description=reason or "Manual adjustment"
        )
        audit(
            session,
            actor,
            "account.adjust_balance",
            account,
            account_id=account.id,
            reason=reason,
            value=amount,
        )
    return account


def add_holder(
    session: Session, account_id: str, email: str, *, actor: str, spending_cap=None
) -> Holder:
    """Add a dependent (level 2) who shares the account's limit, optionally capped."""
    email = normalize_email(email)
    cap = (
        parse_non_negative(spending_cap, "spending_cap") if spending_cap not in (None, "") else None
    )
    with write_transaction(session):
        account = lock_account(session, account_id)
        if session.scalar(
            select(Holder.id).where(Holder.account_id == account.id, Holder.email == email)
        ):
            raise Conflict(
                "duplicate_holder",
                _("%(email)s is already a holder of this account.", email=email),
                "email",
            )
        holder = Holder(
            id=uuid.uuid4().hex, account_id=account.id, email=email, level=2, spending_cap=cap
        )
        session.add(holder)
        audit(
            session,
            actor,
            "holder.add",
            holder,
            account_id=account.id,
            email=email,
            spending_cap=cap,
        )
    return holder


def set_holder_cap(
    session: Session, account_id: str, holder_id: str, spending_cap, *, actor: str
) -> Holder:
    """Change or clear (None) a dependent's spending cap."""
    cap = (
        parse_non_negative(spending_cap, "spending_cap") if spending_cap not in (None, "") else None
    )
    with write_transaction(session):
        account = lock_account(session, account_id)
        holder = _holder(session, account.id, holder_id)
        if holder.level == 1:
            raise Conflict("invalid_transition", _("The main holder has no spending cap."))
        holder.spending_cap = cap
        audit(session, actor, "holder.cap", holder, account_id=account.id, spending_cap=cap)
    return holder


def remove_holder(session: Session, account_id: str, holder_id: str, *, actor: str) -> None:
    """Remove a dependent; the main holder can only change through the account e-mail."""
    with write_transaction(session):
        account = lock_account(session, account_id)
        holder = _holder(session, account.id, holder_id)
        if holder.level == 1:
            raise Conflict(
                "main_holder",
                _("The main holder cannot be removed; change the account e-mail."),
            )
        audit(session, actor, "holder.remove", holder, account_id=account.id, email=holder.email)
        session.delete(holder)


def viewed_as(
    session: Session, account_id: str, holder_id: str, *, actor: str, audited: bool = True
) -> Holder:
    """The holder a staff member views My Credits as; the visit goes to the audit trail."""
    holder = session.get(Holder, str(holder_id))
    if holder is None or holder.account_id != str(account_id):
        raise NotFound(
            "holder_not_found",
            _("Holder %(holder)s does not exist on this account.", holder=holder_id),
        )
    if audited:
        with write_transaction(session):
            audit(
                session,
                actor,
                "holder.view_as",
                holder,
                account_id=holder.account_id,
                email=holder.email,
            )
    return holder


def _holder(session: Session, account_id: str, holder_id: str) -> Holder:
    holder = reread(session, Holder, str(holder_id))
    if holder is None or holder.account_id != account_id:
        raise NotFound(
            "holder_not_found",
            _("Holder %(holder)s does not exist on this account.", holder=holder_id),
        )
    return holder


def _holds(account_id, forgiven_from, settings: StoreSettings, today: date):
    """SQL condition on Invoice: it holds the account `account_id` (a value or a column).
    It is open, overdue past the store's threshold, and due on or after `forgiven_from`
    (lifting a hold forgives what was already past the threshold that day)."""
    return and_(
        Invoice.account_id == account_id,
        Invoice.status == "Opened",
        Invoice.due_date < today - timedelta(days=settings.overdue_hold_days),
        Invoice.due_date >= forgiven_from,
    )


def overdue_hold_filter(settings: StoreSettings, today: date):
    """SQL condition on Account: an invoice holds it (the accounts list's "on hold")."""
    forgiven_from = func.coalesce(Account.hold_forgiven_before, date.min)
    return exists().where(_holds(Account.id, forgiven_from, settings, today))


def is_on_hold(session: Session, account: Account, settings: StoreSettings | None = None) -> bool:
    """Whether an invoice overdue beyond the threshold blocks new purchases.

    Lifting a hold forgives the invoices that were already past the threshold that day;
    a later invoice crossing it puts the account on hold again.
    """
    settings = settings or get_settings(session)
    return session.scalar(holding_invoices(account, settings, Invoice.id).limit(1)) is not None


@dataclass(frozen=True)
class HoldReason:
    """Why an account is on hold: its oldest invoice overdue past the store's threshold."""

    invoice: Invoice
    days_overdue: int
    since: date  # the day the invoice crossed the threshold


def hold_reasons(
    session: Session,
    account: Account,
    settings: StoreSettings | None = None,
    limit: int | None = None,
) -> list[HoldReason]:
    """Every invoice that holds the account (the oldest `limit`), oldest first (empty when
    it is not on hold): paying all of them lifts the hold."""
    settings = settings or get_settings(session)
    today = store_today(settings)
    query = holding_invoices(account, settings, Invoice).order_by(Invoice.due_date, Invoice.id)
    if limit is not None:
        query = query.limit(limit)
    return [
        HoldReason(
            invoice,
            (today - invoice.due_date).days,
            invoice.due_date + timedelta(days=settings.overdue_hold_days + 1),
        )
        for invoice in session.scalars(query)
    ]


def holding_invoices(account: Account, settings: StoreSettings, *columns) -> Select:
    """SELECT `columns` of the invoices that hold the account: open, overdue past the
    store's threshold, and not forgiven when a hold was lifted."""
    forgiven_from = account.hold_forgiven_before or date.min
    return select(*columns).where(
        _holds(account.id, forgiven_from, settings, store_today(settings))
    )


def hold_reason(
    session: Session, account: Account, settings: StoreSettings | None = None
) -> HoldReason | None:
    """The invoice that holds the account (None when it is not on hold)."""
    reasons = hold_reasons(session, account, settings, limit=1)
    return reasons[0] if reasons else None


def accounts_on_hold(session: Session, account_ids, settings: StoreSettings | None = None) -> set:
    """Which of these accounts are on hold (one query: for a page of a list)."""
    settings = settings or get_settings(session)
    if not account_ids:
        return set()
    held = select(Account.id).where(
        Account.id.in_(list(account_ids)), overdue_hold_filter(settings, store_today(settings))
    )
    return set(session.scalars(held))


def lift_hold(session: Session, account_id: str, *, actor: str, reason: str) -> Account:
    """Let an account on hold buy again despite its overdue invoices (owner decision)."""
    reason = require_text(reason, "reason")
    with write_transaction(session):
        account = lock_account(session, account_id)
        if not is_on_hold(session, account):
            raise Conflict("not_on_hold", _("The account is not on hold."))
        settings = get_settings(session)
        account.hold_forgiven_before = store_today(settings) - timedelta(
            days=settings.overdue_hold_days
        )
        webhooks.emit(session, "account.hold_lifted", account)
        audit(session, actor, "account.lift_hold", account, account_id=account.id, reason=reason)
    return account
