"""Purchases on credit: pre-authorization holds, settlement into invoices, refunds."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

import holidays
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import webhooks
from ..labels import order_status_label
from ..models import Account, Holder, Invoice, PreAuthorization, Refund, clock_at, utcnow
from .accounts import is_on_hold
from .checkout import holder_spending
from .errors import Conflict, CreditError, InvalidInput, NotFound
from .interest import check_installment_values, settlement_parts
from .ledger import audit, lock_account, post, reread, write_transaction
from .money import CENT, parse_amount, parse_whole, split
from .settings import get_settings, parse_term, store_today
from .validation import clean_text, normalize_email

log = logging.getLogger(__name__)

MAX_INSTALLMENTS = 24
HOLD_DAYS = 30  # a settle=false hold without an expiration date lasts this long


def default_term(installments: int) -> str:
    """The API's default term: first invoice due in 30 days, each next 30 days later."""
    return "/".join(str(30 * (i + 1)) for i in range(installments))


def _parse_installments(raw) -> int:
    return parse_whole(raw, "installments", 1, MAX_INSTALLMENTS, "invalid_installments")


def _check_split(amount: Decimal, count: int) -> None:
    """Refuse a value too small to give every installment at least one cent."""
    if amount < count * CENT:
        raise InvalidInput(
            "invalid_installments",
            _(
                "%(amount)s cannot be split into %(count)s installments of at least 0.01.",
                amount=amount,
                count=count,
            ),
            "installments",
        )


def _parse_transaction_id(raw: str | None) -> str:
    if raw is None or raw == "":
        return uuid.uuid4().hex.upper()
    text = str(raw).strip()
    if not text or len(text) > 60 or not all(c.isalnum() or c in "-_." for c in text):
        raise InvalidInput(
            "invalid_transaction_id",
            _("transactionId must be 1–60 letters, digits, '-', '_' or '.'."),
            "transactionId",
        )
    return text


def get_transaction(session: Session, account_id: str, transaction_id: str) -> PreAuthorization:
    """The pre-authorization of this account, or NotFound."""
    return _checked(session.get(PreAuthorization, str(transaction_id)), account_id, transaction_id)


def _held(session: Session, account: Account, transaction_id: str) -> PreAuthorization:
    """The hold re-read after its account's lock (a copy read before may be stale)."""
    return _checked(
        reread(session, PreAuthorization, str(transaction_id)), account.id, transaction_id
    )


def _checked(hold: PreAuthorization | None, account_id: str, transaction_id: str):
    if hold is None or hold.account_id != str(account_id):
        raise NotFound(
            "transaction_not_found",
            _("Transaction %(transaction)s does not exist.", transaction=transaction_id),
        )
    return hold


def _growth_ceiling(session: Session, hold: PreAuthorization) -> Decimal:
    """The most a hold may grow to, or be settled at: the store's growth cap."""
    rate = get_settings(session).max_pre_authorization_growth_rate
    return (hold.original_value * (1 + rate)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def _check_growth(session: Session, hold: PreAuthorization, amount: Decimal) -> None:
    ceiling = _growth_ceiling(session, hold)
    if amount > ceiling:
        raise Conflict(
            "growth_exceeded",
            _(
                "The value may grow to at most %(ceiling)s (the store's growth cap).",
                ceiling=ceiling,
            ),
            "value",
        )


def _available(session: Session, account: Account) -> Decimal:
    return account.available_balance(get_settings(session).tolerance_enabled)


def _check_can_buy(session: Session, account: Account) -> None:
    if account.status != "Open":
        raise Conflict("account_closed", _("The account is closed."))
    if is_on_hold(session, account):
        raise Conflict(
            "account_on_hold", _("The account is on hold because of an overdue invoice.")
        )


def _check_dependent_cap(
    session: Session,
    account: Account,
    email: str | None,
    extra: Decimal,
    exclude_id: str | None = None,
) -> None:
    if email is None:
        return
    holder = session.scalar(
        select(Holder).where(Holder.account_id == account.id, Holder.email == email)
    )
    if holder is None:
        raise Conflict(
            "not_a_holder", _("%(email)s is not a holder of this account.", email=email), "email"
        )
    if holder.spending_cap is None:
        return
    used = holder_spending(session, account.id, email, exclude_id)
    if used + extra > holder.spending_cap:
        raise Conflict(
            "dependent_cap_exceeded",
            _("The purchase exceeds the spending cap of %(email)s.", email=email),
        )


def _check_purchase(
    session: Session, account: Account, email: str | None, amount: Decimal
) -> Decimal:
    """Refuse a purchase the account cannot make now; return its availableBalance."""
    _check_can_buy(session, account)
    _check_dependent_cap(session, account, email, amount)
    available = _available(session, account)
    if amount > available:
        raise Conflict(
            "insufficient_credit",
            _(
                "Insufficient credit: %(amount)s requested, %(available)s available.",
                amount=amount,
                available=available,
            ),
        )
    return available


def authorize(
    session: Session,
    account_id: str,
    value,
    *,
    actor: str,
    transaction_id: str | None = None,
    installments=None,
    payment_term: str | None = None,
    settle: bool = True,
    expiration_date: date | None = None,
    holder_email: str | None = None,
    order_id: str | None = None,
    installment_values=None,
) -> PreAuthorization:
    """Hold `value` of the account's credit for a purchase.

    Approved iff the account is Open, not on hold, the buyer (if a capped dependent) stays
    within the cap, and value ≤ availableBalance. Idempotent on transaction_id: a retry
    with the same value and installments returns the first hold and writes nothing.

    `installment_values` is for the portal's own checkout only (`price_order`): the
    installments it priced with interest, one per installment of the term, summing to
    `value`; the hold remembers them and `settle` issues exactly those. Outside values
    (API, PPP) pass none: they are never charged interest and settle splits them equally.
    """
    amount = parse_amount(value)
    tid = _parse_transaction_id(transaction_id)
    if payment_term:
        term = parse_term(payment_term)
        count = len(term.split("/"))
        if installments not in (None, "") and _parse_installments(installments) != count:
            raise InvalidInput(
                "invalid_installments",
                _("Term %(term)s has %(count)s installments.", term=term, count=count),
                "installments",
            )
    else:
        count = _parse_installments(1 if installments in (None, "") else installments)
        term = default_term(count)
    _check_split(amount, count)
    priced = (
        None
        if installment_values is None
        else check_installment_values(installment_values, amount, count)
    )
    email = normalize_email(holder_email, "holder_email") if holder_email else None
    order_id = clean_text(order_id, "orderId", 64) or None
    with write_transaction(session):
        account = lock_account(session, account_id)
        # a retry names its transaction; an id made here just now cannot exist yet
        existing = reread(session, PreAuthorization, tid) if transaction_id else None
        if existing is not None:
            if (
                existing.account_id,
                existing.original_value,
                existing.installments,
                existing.installment_values,
            ) == (account.id, amount, count, priced):
                return existing
            raise Conflict(
                "duplicate_transaction",
                _("Transaction %(transaction)s already exists with other values.", transaction=tid),
                "transactionId",
            )
        available = _check_purchase(session, account, email, amount)
        today = store_today(get_settings(session))
        if expiration_date is not None and expiration_date < today:
            raise InvalidInput(
                "invalid_expiration_date",
                _("The expiration date is in the past."),
                "expirationDate",
            )
        if not settle and expiration_date is None:
            expiration_date = store_today(get_settings(session)) + timedelta(days=HOLD_DAYS)
        hold = PreAuthorization(
            id=tid,
            account_id=account.id,
            holder_email=email,
            status="Authorized",
            value=amount,
            original_value=amount,
            installments=count,
            payment_term=term,
            settle=bool(settle),
            expiration_date=None if settle else expiration_date,
            order_id=order_id,
            available_at_approval=available,
            installment_values=priced,
            done_by=actor,
        )
        session.add(hold)
        account.pre_authorized = account.pre_authorized + amount
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(
                "duplicate_transaction",
                _("Transaction %(transaction)s already exists.", transaction=tid),
                "transactionId",
            ) from None
        audit(
            session,
            actor,
            "transaction.authorize",
            hold,
            account_id=account.id,
            value=amount,
            installments=count,
            term=term,
            **({"installment_values": priced} if priced else {}),
        )
    return hold


def update_authorization(
    session: Session, account_id: str, transaction_id: str, value, *, actor: str
) -> PreAuthorization:
    """Change a held value. An increase is re-checked and capped by the store's growth rate."""
    amount = parse_amount(value)
    with write_transaction(session):
        account = lock_account(session, account_id)
        hold = _held(session, account, transaction_id)
        if hold.status != "Authorized":
            raise Conflict(
                "invalid_transition",
                _(
                    "Transaction is %(status)s, not Authorized.",
                    status=order_status_label(hold.status),
                ),
            )
        if amount > hold.value:
            _check_growth(session, hold, amount)
            _check_can_buy(session, account)
            _check_dependent_cap(session, account, hold.holder_email, amount, exclude_id=hold.id)
            available = _available(session, account) + hold.value
            if amount > available:
                raise Conflict(
                    "insufficient_credit",
                    _(
                        "Insufficient credit: %(amount)s requested, %(available)s available.",
                        amount=amount,
                        available=available,
                    ),
                )
            hold.available_at_approval = available
        account.pre_authorized = account.pre_authorized + amount - hold.value
        old, hold.value = hold.value, amount
        audit(
            session, actor, "transaction.update", hold, account_id=account.id, old=old, new=amount
        )
    return hold


def _release(account: Account, hold: PreAuthorization, status: str) -> None:
    account.pre_authorized = account.pre_authorized - hold.value
    hold.status = status
    hold.resolved_at = utcnow()


def cancel_authorization(
    session: Session, account_id: str, transaction_id: str, *, actor: str
) -> PreAuthorization:
    """Release a hold. Cancelling an already cancelled hold changes nothing."""
    with write_transaction(session):
        account = lock_account(session, account_id)
        hold = _held(session, account, transaction_id)
        if hold.status == "Cancelled":
            return hold
        if hold.status != "Authorized":
            raise Conflict(
                "invalid_transition",
                _(
                    "Transaction is %(status)s; refund a settled one instead.",
                    status=order_status_label(hold.status),
                ),
            )
        _release(account, hold, "Cancelled")
        audit(session, actor, "transaction.cancel", hold, account_id=account.id)
    return hold


def expire_authorizations(
    session: Session, now: datetime | None = None, *, actor: str = "system"
) -> int:
    """Expire holds created with settle=false whose expiration date has passed; how many.

    A job (portal/jobs.py) with an explicit `now`; safe with any number of workers at once
    (see `_each_due_hold`).
    """
    with _at(now):
        today = store_today(get_settings(session))
        due = session.execute(
            select(PreAuthorization.account_id, PreAuthorization.id)
            .where(
                PreAuthorization.status == "Authorized",
                PreAuthorization.expiration_date < today,
            )
            .order_by(PreAuthorization.account_id, PreAuthorization.id)
        ).all()

        def still_due(hold: PreAuthorization) -> bool:
            return hold.expiration_date is not None and hold.expiration_date < today

        def expire(account: Account, hold: PreAuthorization) -> None:
            _release(account, hold, "Expired")
            audit(session, actor, "transaction.expire", hold, account_id=account.id)

        return _each_due_hold(session, due, still_due, expire, "expire")


@contextmanager
def _at(now: datetime | None) -> Iterator[None]:
    """Run the block at `now` (every timestamp and the store's today), or at the real time."""
    if now is None:
        yield
        return
    with clock_at(now):
        yield


def _claim_account(session: Session, account_id: str) -> Account | None:
    """Lock the account row for this transaction, or None while another transaction has it.

    PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED`, so a job never waits for (or deadlocks
    with) a request or another worker: that account's due holds are taken by whoever holds
    it, or by the next pass. SQLite: `write_transaction` already holds the single write
    lock (BEGIN IMMEDIATE), so the row is always had.
    """
    return session.execute(
        select(Account)
        .where(Account.id == str(account_id))
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _each_due_hold(
    session: Session,
    due: list,
    still_due: Callable[[PreAuthorization], bool],
    act: Callable[[Account, PreAuthorization], None],
    what: str,
) -> int:
    """Apply `act` to each (account id, hold id) in `due`, once, whoever else runs it too.

    One transaction per hold: claim its account row first (never the hold before its
    account: the one lock order of the portal), re-read the hold under that lock and act
    only if it is still Authorized and `still_due` — a hold cancelled, settled or expired
    meanwhile (by a request or another worker) is skipped. A refusal (`CreditError`) of one
    hold is logged and the loop goes on; a crash loses at most the uncommitted hold.
    Returns how many holds this call acted on.
    """
    done = 0
    busy: set[str] = set()
    for account_id, transaction_id in due:
        if account_id in busy:
            continue
        try:
            with write_transaction(session):
                account = _claim_account(session, account_id)
                if account is None:
                    busy.add(account_id)  # locked elsewhere: its holder or the next pass
                    continue
                hold = reread(session, PreAuthorization, transaction_id)
                if hold is None or hold.status != "Authorized" or not still_due(hold):
                    continue
                act(account, hold)
                done += 1
        except CreditError as error:
            log.warning(
                "%s of transaction %s refused: [%s] %s",
                what,
                transaction_id,
                error.code,
                error.message,
            )
    return done


def _new_friendly_id(session: Session) -> str:
    while True:
        candidate = f"{secrets.randbelow(10**8):08d}"
        if session.scalar(select(Invoice.id).where(Invoice.friendly_id == candidate)) is None:
            return candidate


def _issue_invoice(
    session: Session,
    account: Account,
    hold: PreAuthorization,
    number: int,
    value: Decimal,
    due: date,
    actor: str,
    total: int,
) -> Invoice:
    invoice = Invoice(
        id=f"{hold.id}-{number:02d}",
        friendly_id=_new_friendly_id(session),
        account_id=account.id,
        transaction_id=hold.id,
        order_id=hold.order_id,
        installment=number,
        number_of_installments=total,
        status="Opened",
        value=value,
        paid_amount=Decimal("0.00"),
        due_date=due,
        original_due_date=due,
    )
    session.add(invoice)
    session.flush()
    post(session, account, "Invoice", -value, actor, invoice=invoice)
    webhooks.emit(session, "invoice.created", invoice)
    return invoice


def settle(
    session: Session, account_id: str, transaction_id: str, value=None, *, actor: str
) -> PreAuthorization:
    """Bill a purchase: release the hold and issue one invoice per installment.

    `value` defaults to the value held when the hold is read under the lock. It may
    exceed the held value only up to the store's growth cap and the credit available.
    The invoices sum exactly to the settled value: a hold priced by the checkout issues
    its remembered installments (rescaled proportionally, largest remainder, when settled
    at another value); any other hold splits the value equally, leftover cents first.
    Settling again with the same value changes nothing; with another value it changes
    the settled value (lower shrinks open invoices latest due first, higher issues a
    new invoice for the difference). A hold cancelled or expired meanwhile is refused
    with `invalid_transition`.
    """
    amount = None if value is None else parse_amount(value)
    with write_transaction(session):
        account = lock_account(session, account_id)
        hold = _held(session, account, transaction_id)
        if amount is None:
            amount = hold.settled_value if hold.status == "Settled" else hold.value
        if hold.status == "Settled":
            if amount != hold.settled_value:
                _change_settled_value(session, account, hold, amount, actor)
            return hold
        if hold.status != "Authorized":
            raise Conflict(
                "invalid_transition",
                _(
                    "Transaction is %(status)s; it cannot be settled.",
                    status=order_status_label(hold.status),
                ),
            )
        if amount > hold.value:
            _check_growth(session, hold, amount)
            _check_can_buy(session, account)
            available = _available(session, account) + hold.value
            if amount > available:
                raise Conflict(
                    "insufficient_credit",
                    _(
                        "Insufficient credit: %(amount)s to settle, %(available)s available.",
                        amount=amount,
                        available=available,
                    ),
                )
        offsets = [int(d) for d in hold.payment_term.split("/")]
        _check_split(amount, len(offsets))
        _release(account, hold, "Settled")
        today = store_today(get_settings(session))
        for number, (part, offset) in enumerate(
            zip(settlement_parts(hold, amount), offsets, strict=True), start=1
        ):
            _issue_invoice(
                session,
                account,
                hold,
                number,
                part,
                today + timedelta(days=offset),
                actor,
                len(offsets),
            )
        hold.settled_value = amount
        audit(session, actor, "transaction.settle", hold, account_id=account.id, value=amount)
    return hold


def _change_settled_value(
    session: Session, account: Account, hold: PreAuthorization, amount: Decimal, actor: str
) -> None:
    old = hold.settled_value
    if amount < hold.refunded_value:
        raise Conflict(
            "refund_exceeds_settled",
            _(
                "%(refunded)s was already refunded; settle at least that.",
                refunded=hold.refunded_value,
            ),
        )
    if amount < old:
        _give_back(session, account, hold, old - amount, actor)
    else:
        _check_growth(session, hold, amount)
        _check_can_buy(session, account)
        extra = amount - old
        available = _available(session, account)
        if extra > available:
            raise Conflict(
                "insufficient_credit",
                _(
                    "Insufficient credit: %(extra)s more, %(available)s available.",
                    extra=extra,
                    available=available,
                ),
            )
        count = session.scalar(select(func.count()).where(Invoice.transaction_id == hold.id))
        first_offset = int(hold.payment_term.split("/")[0])
        due = store_today(get_settings(session)) + timedelta(days=first_offset)
        _issue_invoice(session, account, hold, count + 1, extra, due, actor, count + 1)
    hold.settled_value = amount
    audit(
        session,
        actor,
        "transaction.change_settled_value",
        hold,
        account_id=account.id,
        old=old,
        new=amount,
    )


def _give_back(
    session: Session,
    account: Account,
    hold: PreAuthorization,
    amount: Decimal,
    actor: str,
    reason: str = "",
) -> None:
    """Shrink the open invoices of `hold`, latest due first; credit what is left over."""
    open_invoices = session.scalars(
        select(Invoice)
        .where(Invoice.transaction_id == hold.id, Invoice.status == "Opened")
        .order_by(Invoice.due_date.desc(), Invoice.installment.desc())
        .execution_options(populate_existing=True)
    )
    left = amount
    for invoice in open_invoices:
        if left <= 0:
            break
        cut = min(left, invoice.remaining)
        if cut <= 0:
            continue
        invoice.value = invoice.value - cut
        post(session, account, "Refund", cut, actor, invoice=invoice, description=reason)
        if invoice.remaining == 0:
            invoice.status = "Paid" if invoice.paid_amount > 0 else "Cancelled"
            invoice.resolved_at = utcnow()
        left -= cut
    if left > 0:
        post(
            session,
            account,
            "Refund",
            left,
            actor,
            transaction_id=hold.id,
            description=reason or "Refund beyond open invoices",
        )


def refund(
    session: Session,
    account_id: str,
    transaction_id: str,
    value,
    *,
    actor: str,
    refund_id: str | None = None,
    reason: str = "",
) -> Refund:
    """Give back part or all of a settled purchase, never more than was settled.

    Idempotent on refund_id: a retry with the same value returns the first refund. The
    reason (optional) describes its ledger entries and goes to the audit trail.
    """
    amount = parse_amount(value)
    reason = clean_text(reason, "reason", 500)
    rid = clean_text(refund_id, "refundId", 80) or uuid.uuid4().hex
    with write_transaction(session):
        account = lock_account(session, account_id)
        hold = _held(session, account, transaction_id)
        existing = reread(session, Refund, rid)
        if existing is not None:
            if existing.transaction_id == hold.id and existing.value == amount:
                return existing
            raise Conflict(
                "duplicate_refund",
                _("Refund %(refund)s already exists with other values.", refund=rid),
            )
        if hold.status != "Settled":
            raise Conflict(
                "invalid_transition",
                _(
                    "Transaction is %(status)s, not Settled.",
                    status=order_status_label(hold.status),
                ),
            )
        refundable = hold.settled_value - hold.refunded_value
        if amount > refundable:
            raise Conflict(
                "refund_exceeds_settled",
                _("At most %(refundable)s can still be refunded.", refundable=refundable),
                "value",
            )
        _give_back(session, account, hold, amount, actor, reason)
        hold.refunded_value = hold.refunded_value + amount
        record = Refund(id=rid, transaction_id=hold.id, value=amount, done_by=actor)
        session.add(record)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(
                "duplicate_refund", _("Refund %(refund)s already exists.", refund=rid)
            ) from None
        audit(
            session,
            actor,
            "transaction.refund",
            hold,
            account_id=account.id,
            reason=reason,
            value=amount,
            refund_id=rid,
        )
    return record


def settle_due_authorizations(
    session: Session, now: datetime | None = None, *, actor: str = "system"
) -> int:
    """Settle holds (settle=true) that have waited the store's business days; how many.

    A hold made on store day D is due once `settle_after_business_days` business days
    (weekends and the store's national holidays skipped) have passed after D. Each is
    settled at the value it holds when re-read under its account's lock; a hold cancelled
    or settled meanwhile is skipped, not an error that stops the pass. A job
    (portal/jobs.py) with an explicit `now`; safe with any number of workers at once.
    """
    with _at(now):
        settings = get_settings(session)
        cutoff = _settle_cutoff(
            store_today(settings),
            settings.settle_after_business_days,
            settings.holiday_country,
            ZoneInfo(settings.timezone),
        )
        due = session.execute(
            select(PreAuthorization.account_id, PreAuthorization.id)
            .where(
                PreAuthorization.status == "Authorized",
                PreAuthorization.settle.is_(True),
                PreAuthorization.created_at < cutoff,
            )
            .order_by(PreAuthorization.account_id, PreAuthorization.created_at, PreAuthorization.id)
        ).all()

        def still_due(hold: PreAuthorization) -> bool:
            return hold.settle and hold.created_at < cutoff

        def bill(account: Account, hold: PreAuthorization) -> None:
            settle(session, account.id, hold.id, actor=actor)

        return _each_due_hold(session, due, still_due, bill, "settle")


def _settle_cutoff(today: date, days: int, country: str, zone: ZoneInfo) -> datetime:
    """The instant before which a hold has waited `days` business days by `today`.

    The latest store day D with `add_business_days(D, days) <= today`: walk back from
    today until `days` business days lie in (D, today]. Holds created before the end of D
    (in the store's timezone) are due.
    """
    calendar = holidays.country_holidays(country)
    last, counted = today, 0
    while counted < days:
        if last.weekday() < 5 and last not in calendar:
            counted += 1
        last -= timedelta(days=1)
    return datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)


def installment_plan(session: Session, value, payment_term: str) -> list[tuple[int, Decimal, date]]:
    """What settling `value` today on `payment_term` would issue: (n, amount, due date)."""
    amount = parse_amount(value)
    offsets = [int(d) for d in parse_term(payment_term).split("/")]
    today = store_today(get_settings(session))
    return [
        (n, part, today + timedelta(days=offset))
        for n, (part, offset) in enumerate(
            zip(split(amount, len(offsets)), offsets, strict=True), start=1
        )
    ]


def purchase_refusal(
    session: Session, account_id: str, value, *, holder_email: str | None = None
) -> CreditError | None:
    """Why `authorize` would refuse this purchase now, or None: for checkout pages.

    The same checks as `authorize`, without writing or locking; the real purchase still
    re-checks under the lock.
    """
    try:
        amount = parse_amount(value)
        email = normalize_email(holder_email, "holder_email") if holder_email else None
        account = session.get(Account, str(account_id))
        if account is None:
            raise NotFound(
                "account_not_found", _("Account %(account)s does not exist.", account=account_id)
            )
        _check_purchase(session, account, email, amount)
    except CreditError as error:
        return error
    return None
