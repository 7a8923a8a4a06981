"""Models → the contract's JSON field names. Money with two decimals, times in UTC with Z.

Every date is an ISO 8601 date-time in UTC with a Z, as the contract writes them: a
timestamp as it is, a calendar day (due date, expiration date) as the start of that day
in the store's timezone (`due_moment`). Dates shown to people (back-office, My Credits)
and the CSV files keep plain days: only the API's JSON goes through here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..credit.settings import store_today
from ..models import Account, Holder, Invoice, PreAuthorization, Refund, StoreSettings
from ..paylinks import link_for

CENT = Decimal("0.01")
RATE = Decimal("0.0001")


def money(value) -> Decimal:
    """A Decimal with exactly two places (SQLite aggregates may come back as float)."""
    if value is None:
        value = 0
    return Decimal(str(value)).quantize(CENT)


def rate(value) -> Decimal:
    """A rate such as 0.25, without the database's trailing zeros."""
    quantized = Decimal(str(value or 0)).quantize(RATE)
    return quantized.normalize() if quantized else Decimal("0")


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z: 2024-01-31T12:00:00.123456Z."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def store_zone(settings: StoreSettings) -> ZoneInfo:
    """The store's timezone, in which due dates and expiration dates are calendar days."""
    return ZoneInfo(settings.timezone)


def due_moment(value: date | None, zone: tzinfo) -> str | None:
    """A calendar day (due date, expiration date) as the contract's date-time: the start of
    that day in the store's timezone, in UTC with a Z.

    2024-04-02 in America/Sao_Paulo → 2024-04-02T03:00:00Z; in UTC → 2024-04-02T00:00:00Z.
    Reading it back in the store's timezone gives the same day (`payload.parse_date`).
    """
    if value is None:
        return None
    try:
        return timestamp(datetime.combine(value, time(), zone))
    except OverflowError:  # year 1 or 9999 beyond UTC: no such instant, say the UTC midnight
        return f"{value.isoformat()}T00:00:00Z"


def account(acc: Account, tolerance_enabled: bool) -> dict:
    """Account, as every account operation of the contract returns it."""
    return {
        "id": acc.id,
        "balance": money(acc.api_balance),
        "document": acc.document,
        "status": acc.status,
        "documentType": acc.document_type,
        "creditLimit": money(acc.credit_limit),
        "updatedAt": timestamp(acc.updated_at),
        "createdAt": timestamp(acc.created_at),
        "description": acc.description or "",
        "availableCredit": money(acc.available_credit),
        "preAuthorizedCredit": money(acc.pre_authorized),
        "email": acc.email,
        "tolerance": rate(acc.tolerance),
        "availableBalance": money(acc.available_balance(tolerance_enabled)),
    }


def invoice(inv: Invoice, settings: StoreSettings, today: date | None = None) -> dict:
    """Invoice; `remaining`, `postponements` and `effectivePaymentLink` are this portal's
    additions.

    The store's `settings` give the timezone of the due dates and the payment link
    template; `today` (the store's, now by default) the amount due the link may carry.
    `paymentLink` stays the invoice's own link; `effectivePaymentLink` is what customers
    are sent to (portal/paylinks.py).
    """
    zone = store_zone(settings)
    today = today if today is not None else store_today(settings)
    return {
        "id": inv.id,
        "friendlyId": inv.friendly_id,
        "status": inv.status,
        "value": money(inv.value),
        "accountId": inv.account_id,
        "creditValue": money(0),
        "createdAt": timestamp(inv.created_at),
        "resolvedAt": timestamp(inv.resolved_at),
        "updatedAt": timestamp(inv.updated_at),
        "paymentLink": inv.payment_link or None,
        "originalDueDate": due_moment(inv.original_due_date, zone),
        "dueDate": due_moment(inv.due_date, zone),
        "installment": inv.installment,
        "orderId": inv.order_id or "",
        "observation": inv.observation or None,
        "transactionId": inv.transaction_id,
        "numberOfInstallments": inv.number_of_installments,
        "creditAccountId": inv.account_id,
        "paidAmount": money(inv.paid_amount),
        "remaining": money(inv.remaining),
        "postponements": inv.postponements,
        "effectivePaymentLink": link_for(inv, settings, today),
    }


def pre_authorization(hold: PreAuthorization, zone: tzinfo) -> dict:
    """A pre-authorization (hold), with its status as an addition.

    `zone` is the store's timezone (`store_zone`), for the expiration date.
    """
    data = {
        "id": hold.id,
        "value": money(hold.value),
        "installments": hold.installments,
        "status": hold.status,
        "settle": hold.settle,
        "paymentTerm": hold.payment_term,
        "createdAt": timestamp(hold.created_at),
    }
    if hold.expiration_date is not None:
        data["expirationDate"] = due_moment(hold.expiration_date, zone)
    if hold.order_id:
        data["orderId"] = hold.order_id
    return data


def settlement(hold: PreAuthorization) -> dict:
    """The answer to a settlement: the settled value and the transaction id."""
    return {"value": money(hold.settled_value), "id": hold.id, "status": hold.status}


def refund(record: Refund) -> dict:
    """The answer to a refund."""
    return {
        "value": money(record.value),
        "id": record.id,
        "transactionId": record.transaction_id,
        "createdAt": timestamp(record.created_at),
    }


def holder(h: Holder) -> dict:
    """A holder: level 1 is the main holder, 2 a dependent."""
    data = {
        "level": h.level,
        "claims": {"email": h.email},
        "id": h.id,
        "createdAt": timestamp(h.created_at),
    }
    if h.spending_cap is not None:
        data["spendingCap"] = money(h.spending_cap)
    return data


STATEMENT_ORIGINS = {"Tolerance": "Credit"}  # a tolerance change is a Credit line for VTEX


def statement_entry(entry, invoice: tuple[str | None, int] | None) -> dict:
    """One line of the statement as VTEX reports it: a limit change at Δlimit × (1 +
    tolerance), a tolerance change as a Credit of Δtolerance × limit; an invoice's issue
    names its transaction, order and installments, a payment its transaction and
    installment. `invoice` is the (orderId, numberOfInstallments) of the entry's invoice.
    `id`, `doneBy`, `description` and metadata `invoiceId` are the portal's additions."""
    data = {
        "id": entry.id,
        "value": money(entry.statement_value),
        "date": timestamp(entry.created_at),
        "origin": STATEMENT_ORIGINS.get(entry.origin, entry.origin),
        "doneBy": entry.done_by,
        "description": entry.description,
    }
    if entry.transaction_id:
        metadata = {"transactionId": entry.transaction_id}
        if entry.origin == "Invoice" and invoice is not None:
            metadata["orderId"], metadata["numberOfInstallments"] = invoice
        elif entry.installment is not None:
            metadata["installment"] = entry.installment
        if entry.invoice_id:
            metadata["invoiceId"] = entry.invoice_id
        data["metadata"] = metadata
    return data


def _time_of_day(hhmm: str) -> str:
    return f"{hhmm}:00" if len(hhmm) == 5 else hhmm


def _notifications(rules: list[dict], when: str) -> list[dict]:
    """The reminder rules of one side as {days, timeOfDay}: each rule at its own time."""
    return [
        {"days": int(rule["days"]), "timeOfDay": _time_of_day(rule["time"])}
        for rule in rules or []
        if rule["when"] == when
    ]


def store_config(settings: StoreSettings) -> dict:
    """The store configuration under the contract's names."""
    return {
        "dailyInterestRate": rate(settings.daily_interest_rate),
        "invoicePostponementLimit": settings.postponement_limit,
        "taxRate": rate(settings.late_fee_rate),
        "maxPostponementDays": settings.max_postponement_days,
        "defaultCreditValue": money(settings.default_credit_value),
        "postponementEnabled": settings.postponement_enabled,
        "automaticCheckingAccountCreationEnabled": settings.automatic_account_creation,
        "toleranceEnabled": settings.tolerance_enabled,
        "myCreditsEnabled": settings.my_credits_enabled,
        "maxPreAuthorizationGrowthRate": rate(settings.max_pre_authorization_growth_rate),
        "notificationsSettings": {
            "daysPrior": _notifications(settings.reminder_rules, "before"),
            "daysAfter": _notifications(settings.reminder_rules, "after"),
        },
    }
