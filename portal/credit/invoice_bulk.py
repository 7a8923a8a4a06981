"""Invoice operations over many invoices at once, and which operations one invoice allows.

`plan_bulk` is the confirmation step: how many invoices a selection holds, how much is
still open on them, and which of them the action cannot apply to. `apply_bulk` runs the
action on every invoice of the selection inside one transaction: all change, or none.
An invoice that cannot take the action (e.g. marking a Paid invoice paid) refuses the
whole batch, and the message names it; nothing is skipped silently.

A selection is a SELECT of Invoice rows (the listing query of the page, or the checked
ids), so the confirmation and the change cover exactly the rows the person saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.orm import Session

from ..models import Invoice, StoreSettings
from .errors import Conflict, CreditError, InvalidInput
from .invoices import annotate_invoice, cancel_invoice, pay_invoice
from .ledger import write_transaction
from .money import parse_non_negative, parse_whole

BULK_ACTIONS = ("pay", "cancel", "observation")
MAX_BULK = 10_000  # one transaction; larger sets are refused: narrow the filter
CENT = Decimal("0.01")


def allowed_actions(invoice: Invoice, settings: StoreSettings) -> frozenset[str]:
    """The row actions the engine accepts for this invoice now (the same rules it checks)."""
    actions = {"annotate"}
    if invoice.status != "Opened":
        return frozenset(actions | {"reopen"})
    actions |= {"pay", "cancel"}
    if settings.postponement_enabled and invoice.postponements < settings.postponement_limit:
        actions.add("postpone")
    return frozenset(actions)


def _blocked(columns, action: str):
    """SQL: the invoices of a selection the bulk action cannot apply to."""
    if action in ("pay", "cancel"):
        return columns.status != "Opened"
    return literal(False)


@dataclass(frozen=True)
class BulkPlan:
    """What a bulk action would do: how many invoices, how much still open, who blocks it."""

    action: str
    count: int
    open_amount: Decimal
    blocked_count: int = 0
    blocked: tuple[tuple[str, str], ...] = ()  # (friendly id, status) of the first few

    @property
    def too_many(self) -> bool:
        """More invoices than one bulk action may change."""
        return self.count > MAX_BULK

    @property
    def allowed(self) -> bool:
        """Whether confirming would change every invoice of the selection."""
        return 0 < self.count <= MAX_BULK and not self.blocked_count


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action changed."""

    action: str
    count: int
    open_amount: Decimal


def _check_action(action: str, observation: str) -> None:
    if action not in BULK_ACTIONS:
        raise InvalidInput("invalid_action", _("Choose a bulk action."), "action")
    if action == "observation" and len(observation) > 1000:
        raise InvalidInput(
            "invalid_observation", _("The observation is too long (1000 max)."), "observation"
        )


def plan_bulk(session: Session, selection: Select, action: str) -> BulkPlan:
    """Count the selection, sum what is still open on it, and find what blocks the action.

    One aggregate query; a second one (a few rows) only when some invoices block.
    """
    _check_action(action, "")
    sq = selection.subquery()
    remaining = case((sq.c.status == "Opened", sq.c.value - sq.c.paid_amount), else_=0)
    count, amount, blocked_count = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(remaining), 0),
            func.count(case((_blocked(sq.c, action), 1))),
        ).select_from(sq)
    ).one()
    blocked = ()
    if blocked_count:
        rows = session.execute(
            select(sq.c.friendly_id, sq.c.status)
            .where(_blocked(sq.c, action))
            .order_by(sq.c.friendly_id)
            .limit(5)
        )
        blocked = tuple((friendly, status) for friendly, status in rows)
    return BulkPlan(action, int(count), _money(amount), int(blocked_count or 0), blocked)


def apply_bulk(
    session: Session,
    selection: Select,
    action: str,
    *,
    actor: str,
    observation: str = "",
    expected_count=None,
    expected_amount=None,
) -> BulkResult:
    """Apply the action to every invoice of the selection, all-or-nothing.

    `expected_count` / `expected_amount` are what the confirmation showed: when the
    selection no longer matches them (someone changed an invoice meanwhile), nothing is
    changed and a Conflict asks to confirm again. Accounts are locked in id order.
    """
    observation = str(observation or "")
    _check_action(action, observation)
    expected = _expected(expected_count, expected_amount)
    columns = (Invoice.id, Invoice.account_id, Invoice.friendly_id, Invoice.status)
    remaining = case((Invoice.status == "Opened", Invoice.value - Invoice.paid_amount), else_=0)
    with write_transaction(session):
        rows = session.execute(
            selection.with_only_columns(*columns, remaining)
            .order_by(Invoice.account_id, Invoice.id)
            .limit(MAX_BULK + 1)
        ).all()
        amount = _money(sum((Decimal(str(row[-1])) for row in rows), Decimal("0")))
        _check_selection(len(rows), amount, expected)
        for invoice_id, account_id, friendly_id, _status, _remaining in rows:
            try:
                _apply_one(session, action, account_id, invoice_id, actor, observation)
            except CreditError as error:
                raise type(error)(
                    error.code, f"Invoice {friendly_id}: {error.message}", error.field
                ) from error
    return BulkResult(action, len(rows), amount)


def _apply_one(
    session: Session, action: str, account_id: str, invoice_id: str, actor: str, observation: str
) -> None:
    if action == "pay":
        pay_invoice(session, account_id, invoice_id, actor=actor)
    elif action == "cancel":
        cancel_invoice(session, account_id, invoice_id, actor=actor)
    else:
        annotate_invoice(session, account_id, invoice_id, actor=actor, observation=observation)


def _expected(count, amount) -> tuple[int, Decimal] | None:
    if count in (None, "") or amount in (None, ""):
        return None
    return (
        parse_whole(count, "expected_count", 0, MAX_BULK + 1),
        parse_non_negative(amount, "expected_amount"),
    )


def _check_selection(count: int, amount: Decimal, expected: tuple[int, Decimal] | None) -> None:
    if count == 0:
        raise InvalidInput("empty_selection", _("No invoice is selected."), "ids")
    if count > MAX_BULK:
        raise Conflict(
            "too_many_invoices",
            _("At most %(max)s invoices per bulk action: narrow the filter.", max=MAX_BULK),
        )
    if expected is not None and expected != (count, amount):
        raise Conflict(
            "selection_changed",
            _(
                "The selection changed since the confirmation (now %(count)s invoices, "
                "%(amount)s open): confirm again.",
                count=count,
                amount=amount,
            ),
        )


def _money(value) -> Decimal:
    # SQLite returns SUM over NUMERIC as float: go through str to keep the cents exact.
    return Decimal(str(value if value is not None else 0)).quantize(CENT)
