"""The credit engine: every rule and every write of the portal (see DESIGN.md).

Each operation takes a SQLAlchemy session and an `actor` (who does it), runs as one
transaction that locks the account row first, writes its ledger entries and audit event,
and either commits or raises a CreditError having written nothing.
"""

from .accounts import (
    add_holder,
    adjust_balance,
    change_limit,
    change_tolerance,
    close_account,
    get_account,
    is_on_hold,
    lift_hold,
    open_account,
    remove_holder,
    reopen_account,
    set_holder_cap,
    update_account,
)
from .buyers import account_for_buyer
from .checkout import SpendingCap, offered_terms, spending_cap
from .errors import Conflict, CreditError, InvalidInput, NotFound
from .invoice_bulk import BulkPlan, BulkResult, allowed_actions, apply_bulk, plan_bulk
from .invoices import (
    amount_due,
    annotate_invoice,
    cancel_invoice,
    change_invoice,
    get_invoice,
    is_overdue,
    pay_invoice,
    postpone_invoice,
    reopen_invoice,
)
from .settings import (
    active_terms,
    get_settings,
    remove_term,
    save_term,
    store_today,
    update_settings,
)
from .transactions import (
    authorize,
    cancel_authorization,
    expire_authorizations,
    get_transaction,
    installment_plan,
    purchase_refusal,
    refund,
    settle,
    settle_due_authorizations,
    update_authorization,
)
from .verify import find_breaches

__all__ = [
    "BulkPlan",
    "BulkResult",
    "Conflict",
    "CreditError",
    "InvalidInput",
    "NotFound",
    "SpendingCap",
    "account_for_buyer",
    "active_terms",
    "add_holder",
    "adjust_balance",
    "allowed_actions",
    "amount_due",
    "annotate_invoice",
    "apply_bulk",
    "authorize",
    "cancel_authorization",
    "cancel_invoice",
    "change_invoice",
    "change_limit",
    "change_tolerance",
    "close_account",
    "expire_authorizations",
    "find_breaches",
    "get_account",
    "get_invoice",
    "get_settings",
    "get_transaction",
    "installment_plan",
    "is_on_hold",
    "is_overdue",
    "lift_hold",
    "offered_terms",
    "open_account",
    "pay_invoice",
    "plan_bulk",
    "postpone_invoice",
    "purchase_refusal",
    "refund",
    "remove_holder",
    "remove_term",
    "reopen_account",
    "reopen_invoice",
    "save_term",
    "set_holder_cap",
    "settle",
    "settle_due_authorizations",
    "spending_cap",
    "store_today",
    "update_account",
    "update_authorization",
    "update_settings",
]
