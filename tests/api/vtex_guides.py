"""VTEX's integration guides as data: every request/response example, grouped into scenarios.

Source: vtexdocs/dev-portal-content, docs/guides/Integration-Guides/
customer-credit-integration-guide/managing-a-customer-credit-account.md and
managing-a-customer-credit-invoice.md. The bodies live in portal/api/examples.py (one
source: the served /api/openapi.json carries the same ones); this module says in which
order the guides send them and what each guide assumes beforehand (`Given`).

Ids are adapted: documents are valid CPFs (an account opened through the API is
`<document>_<documentType>`), transaction ids are the guides' own (the portal names an
invoice `<transactionId>-NN`, as VTEX does), paths are relative to /api/creditcontrol.
test_vtex_guides.py replays every scenario.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from portal.api.examples import (
    ACCOUNT_GUIDE,
    CHANGED_ACCOUNT,
    CLOSED_ACCOUNT,
    EXAMPLES,
    HOLDER_ID,
    INVOICE_GUIDE,
    INVOICED_ACCOUNT,
    OPEN_TRANSACTION,
    PAID_TRANSACTION,
    READ_ACCOUNT,
    SEARCHED_ACCOUNT,
)

PREFIX = "/api/creditcontrol"


@dataclass(frozen=True)
class Step:
    """One request of a guide and the body the guide shows for it."""

    method: str  # GET, POST, PUT, DELETE
    path: str  # relative to /api/creditcontrol, with {creditAccountId}, {invoiceId}, {holderId}
    example: str  # its name in portal.api.examples.EXAMPLES ("" when the guide shows no body)
    request: dict | None = None  # the guide's request body; None: none sent
    response: dict | None = None  # the guide's response body; None: the guide shows it empty

    @property
    def operation(self) -> tuple[str, str]:
        """(OpenAPI path, method), the key of portal.api.examples.EXAMPLES."""
        return PREFIX + self.path.rstrip("/"), self.method.lower()


def step(method: str, path: str, example: str = "") -> Step:
    """A step whose bodies are the example of that name (copies: tests may not share them)."""
    bodies = EXAMPLES[(PREFIX + path.rstrip("/"), method.lower())][example] if example else {}
    return Step(
        method,
        path,
        example,
        request=copy.deepcopy(bodies.get("request")),
        response=copy.deepcopy(bodies.get("response")),
    )


@dataclass(frozen=True)
class Purchase:
    """A purchase the guide assumes: one installment, settled (and maybe annotated, paid)."""

    transaction_id: str
    value: str
    order_id: str
    paid: bool = False
    observation: str | None = None
    payment_link: str | None = None


@dataclass(frozen=True)
class Given:
    """What a guide assumes before its first request."""

    store: dict = field(default_factory=dict)  # store settings, as the `settings` fixture takes
    accounts: tuple[dict, ...] = ()  # POST /accounts bodies, opened in this order
    purchases: tuple[Purchase, ...] = ()  # on the first account


@dataclass(frozen=True)
class Scenario:
    name: str
    guide: str
    section: str  # the guide's heading
    ids: dict  # the path parameters of the steps
    steps: tuple[Step, ...]
    given: Given = Given()


def _open(document: str, email: str, limit: str, tolerance: str = "0") -> dict:
    return {
        "document": document,
        "documentType": "CPF",
        "email": email,
        "creditLimit": limit,
        "tolerance": tolerance,
    }


ACCOUNT = "/accounts/{creditAccountId}"
STATEMENTS = f"{ACCOUNT}/statements"
INVOICE = f"{ACCOUNT}/invoices/{{invoiceId}}"
CHANGED_DOCUMENT = CHANGED_ACCOUNT.split("_")[0]
# The statement guide's store: it must let tolerance count for the Credit entries to include
# it (its value is Δlimit × (1 + tolerance)); with tolerance on or off the rule is the same.
TOLERANCE_STORE = {"tolerance_enabled": True}
# The store the invoice guide's storeconfig answer shows (besides the postponement fields
# its request changes): each notification at its own time of day, 16:00 and 12:00.
GUIDE_STORE = {
    "daily_interest_rate": "0.01",
    "late_fee_rate": "0.4",
    "default_credit_value": "150",
    "max_pre_authorization_growth_rate": "0.1",
    "my_credits_enabled": True,
    "tolerance_enabled": True,
    "automatic_account_creation": True,
    "reminder_rules": [
        {"when": "before", "days": 1, "time": "16:00"},
        {"when": "after", "days": 0, "time": "12:00"},
    ],
}
INVOICED = _open(INVOICED_ACCOUNT.split("_")[0], "customer@test.com", "1000")
OPEN_PURCHASE = Purchase(OPEN_TRANSACTION, "9.63", "1413870513134-01")
ANNOTATED_PURCHASE = Purchase(
    OPEN_TRANSACTION,
    "9.63",
    "1413870513134-01",
    observation="BF 2024 customer invoice.",
    payment_link="https://www.paymentlink.com",
)
PAID_PURCHASE = Purchase(PAID_TRANSACTION, "8.01", "1413590513132-01", paid=True)

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        # --- Managing a Customer Credit account -------------------------------------------
        Scenario(
            "open_account",
            ACCOUNT_GUIDE,
            "Creating a Customer Credit account",
            {},
            (step("POST", "/accounts", "open-account"),),
        ),
        Scenario(
            "get_account",
            ACCOUNT_GUIDE,
            "Checking Customer Credit account details",
            {"creditAccountId": READ_ACCOUNT},
            (step("GET", ACCOUNT, "get-account"),),
            Given(accounts=(_open("11144477735", "customer2@test.com", "5000"),)),
        ),
        Scenario(
            "update_account_information",
            ACCOUNT_GUIDE,
            "Updating account information",
            {"creditAccountId": CHANGED_ACCOUNT},
            (step("PUT", ACCOUNT, "update-account-information"),),
            Given(accounts=(_open(CHANGED_DOCUMENT, "customer31@test.com", "4500"),)),
        ),
        Scenario(
            "change_credit_limit",
            ACCOUNT_GUIDE,
            "Changing the credit limit of an account",
            {"creditAccountId": CHANGED_ACCOUNT},
            (step("PUT", f"{ACCOUNT}/creditlimit", "change-credit-limit"),),
            Given(accounts=(_open(CHANGED_DOCUMENT, "customer32@test.com", "4500", "0.3"),)),
        ),
        Scenario(
            "change_tolerance",
            ACCOUNT_GUIDE,
            "Changing a credit account tolerance",
            {"creditAccountId": CHANGED_ACCOUNT},
            (step("PUT", f"{ACCOUNT}/tolerance", "change-tolerance"),),
            Given(accounts=(_open(CHANGED_DOCUMENT, "customer32@test.com", "5800", "0.3"),)),
        ),
        Scenario(
            "new_account_statements",
            ACCOUNT_GUIDE,
            "Checking operations in a customer credit account",
            {"creditAccountId": CHANGED_ACCOUNT},
            (step("GET", STATEMENTS, "new-account"),),
            Given(accounts=(_open(CHANGED_DOCUMENT, "customer32@test.com", "4500"),)),
        ),
        Scenario(
            "credit_limit_change_statements",
            ACCOUNT_GUIDE,
            "Tracking a credit limit change operation",
            {"creditAccountId": CHANGED_ACCOUNT},
            (
                step("PUT", f"{ACCOUNT}/creditlimit", "decrease-credit-limit"),
                step("GET", STATEMENTS, "after-credit-limit-decrease"),
                step("PUT", f"{ACCOUNT}/creditlimit", "increase-credit-limit"),
                step("GET", STATEMENTS, "after-credit-limit-increase"),
            ),
            Given(
                store=TOLERANCE_STORE,
                accounts=(_open(CHANGED_DOCUMENT, "customer32@test.com", "10000", "0.1"),),
            ),
        ),
        Scenario(
            "tolerance_change_statements",
            ACCOUNT_GUIDE,
            "Tracking a tolerance value change transaction",
            {"creditAccountId": CHANGED_ACCOUNT},
            (
                step("PUT", f"{ACCOUNT}/tolerance", "decrease-tolerance"),
                step("GET", STATEMENTS, "after-tolerance-decrease"),
                step("PUT", f"{ACCOUNT}/tolerance", "increase-tolerance"),
                step("GET", STATEMENTS, "after-tolerance-increase"),
            ),
            Given(
                store=TOLERANCE_STORE,
                accounts=(_open(CHANGED_DOCUMENT, "customer32@test.com", "5000", "0.1"),),
            ),
        ),
        Scenario(
            "invoice_issue_statement",
            ACCOUNT_GUIDE,
            "Tracking a credit invoice creation",
            {"creditAccountId": CHANGED_ACCOUNT},
            (step("GET", STATEMENTS, "invoice-issued"),),
            Given(
                accounts=(_open(CHANGED_DOCUMENT, "customer32@test.com", "5000"),),
                purchases=(Purchase(PAID_TRANSACTION, "15", "1413590513132-01"),),
            ),
        ),
        Scenario(
            "payment_statement",
            ACCOUNT_GUIDE,
            "Tracking a credit invoice payment",
            {"creditAccountId": CHANGED_ACCOUNT},
            (step("GET", STATEMENTS, "invoice-paid"),),
            Given(
                accounts=(_open(CHANGED_DOCUMENT, "customer32@test.com", "5000"),),
                purchases=(PAID_PURCHASE,),
            ),
        ),
        Scenario(
            "add_and_remove_holder",
            ACCOUNT_GUIDE,
            "Sharing credit with dependents",
            {"creditAccountId": CHANGED_ACCOUNT, "holderId": HOLDER_ID},
            (
                step("POST", f"{ACCOUNT}/holders", "add-holder"),
                step("DELETE", f"{ACCOUNT}/holders/{{holderId}}", "remove-holder"),
            ),
            Given(accounts=(_open(CHANGED_DOCUMENT, "customer32@test.com", "5000"),)),
        ),
        Scenario(
            "search_accounts",
            ACCOUNT_GUIDE,
            "Checking all customer credit accounts of a store",
            {},
            (step("GET", "/accounts/", "search-accounts"),),
            Given(
                accounts=(
                    _open("52998224725", "customer10@test.com", "1000"),
                    _open("11144477735", "customer11@test.com", "2000"),
                    _open("39053344705", "customer12@test.com", "2000"),
                )
            ),
        ),
        Scenario(
            "close_account",
            ACCOUNT_GUIDE,
            "Closing a customer credit account",
            {"creditAccountId": CLOSED_ACCOUNT},
            (step("DELETE", ACCOUNT, "close-account"),),
            Given(accounts=(_open("15350946056", "customerclosed@test.com", "3000"),)),
        ),
        # --- Managing a Customer Credit invoice -------------------------------------------
        Scenario(
            "get_invoice",
            INVOICE_GUIDE,
            "Checking Customer Credit invoice details",
            {"creditAccountId": INVOICED_ACCOUNT, "invoiceId": f"{OPEN_TRANSACTION}-01"},
            (step("GET", INVOICE, "get-invoice"),),
            Given(accounts=(INVOICED,), purchases=(OPEN_PURCHASE,)),
        ),
        Scenario(
            "account_invoices",
            INVOICE_GUIDE,
            "Checking invoice details on a Customer Credit account",
            {"creditAccountId": INVOICED_ACCOUNT},
            (step("GET", f"{ACCOUNT}/invoices/", "account-invoices"),),
            Given(accounts=(INVOICED,), purchases=(PAID_PURCHASE, OPEN_PURCHASE)),
        ),
        Scenario(
            "search_invoices",
            INVOICE_GUIDE,
            "Checking details of all Customer Credit invoices in a VTEX store",
            {},
            (step("GET", "/invoices/", "search-invoices"),),
            Given(
                accounts=(_open(SEARCHED_ACCOUNT.split("_")[0], "customer@test.com", "1000"),),
                purchases=(
                    Purchase("8C7A5F6F57AE4464B3D1F15A0E47C536", "15", "500001"),
                    Purchase("8C7A5F6F57AE4464B3D1F15A0E47C537", "15", "500001", paid=True),
                    Purchase("A69BD96CDA1F402B939913B81C6346B2", "35", "500004"),
                ),
            ),
        ),
        Scenario(
            "change_invoice",
            INVOICE_GUIDE,
            "Updating invoice details on a Customer Credit account",
            {"creditAccountId": INVOICED_ACCOUNT, "invoiceId": f"{OPEN_TRANSACTION}-01"},
            (step("PUT", INVOICE, "change-invoice"), step("GET", INVOICE, "after-change")),
            Given(accounts=(INVOICED,), purchases=(OPEN_PURCHASE,)),
        ),
        Scenario(
            "postpone_invoice",
            INVOICE_GUIDE,
            "Postponing the due date of a Customer Credit invoice",
            {"creditAccountId": INVOICED_ACCOUNT, "invoiceId": f"{OPEN_TRANSACTION}-01"},
            (
                step("PUT", "/storeconfig", "enable-postponement"),
                step("PUT", f"{INVOICE}/postponement", "postpone-invoice"),
                step("GET", INVOICE, "after-postponement"),
            ),
            Given(store=GUIDE_STORE, accounts=(INVOICED,), purchases=(OPEN_PURCHASE,)),
        ),
        Scenario(
            "pay_invoice",
            INVOICE_GUIDE,
            "Confirming payment of a Customer Credit invoice",
            {"creditAccountId": INVOICED_ACCOUNT, "invoiceId": f"{OPEN_TRANSACTION}-01"},
            (step("POST", f"{INVOICE}/payments", "pay-invoice"),),
            Given(accounts=(INVOICED,), purchases=(ANNOTATED_PURCHASE,)),
        ),
        Scenario(
            "cancel_invoice",
            INVOICE_GUIDE,
            "Cancelling a Customer Credit invoice",
            {"creditAccountId": INVOICED_ACCOUNT, "invoiceId": f"{OPEN_TRANSACTION}-01"},
            (step("DELETE", INVOICE), step("GET", INVOICE, "after-cancellation")),
            Given(accounts=(INVOICED,), purchases=(ANNOTATED_PURCHASE,)),
        ),
    )
}
