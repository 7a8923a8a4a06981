"""Request and response examples from VTEX's Customer Credit integration guides.

The bodies are those of the guides «Managing a Customer Credit account» and «Managing a
Customer Credit invoice» (vtexdocs/dev-portal-content, docs/guides/Integration-Guides/
customer-credit-integration-guide/), with the ids adapted to this portal: documents are
valid CPFs (an account opened through the API has the id `<document>_<documentType>`),
and the e-mail addresses of real people in the account search are replaced by test
addresses. Timestamps and every other value are the guides' own, including where the
guides contradict themselves (tests/api/test_vtex_guides.py says where).

They are served in /api/openapi.json as the `examples` of the operations' JSON media types
(`add_examples`), and tests/api/vtex_guides.py replays them against the portal.
"""

from __future__ import annotations

import copy

ACCOUNTS = "/api/creditcontrol/accounts"
ACCOUNT = f"{ACCOUNTS}/{{creditAccountId}}"
STATEMENTS = f"{ACCOUNT}/statements"
INVOICES = "/api/creditcontrol/invoices"
ACCOUNT_INVOICES = f"{ACCOUNT}/invoices"
INVOICE = f"{ACCOUNT_INVOICES}/{{invoiceId}}"
STORECONFIG = "/api/creditcontrol/storeconfig"

ACCOUNT_GUIDE = "Managing a Customer Credit account"
INVOICE_GUIDE = "Managing a Customer Credit invoice"

# The guides' ids, adapted (see the module docstring).
OPENED_ACCOUNT = "52998224725_CPF"  # the guide's 55555555555_CPF
READ_ACCOUNT = "11144477735_CPF"  # the guide's 111111111_CPF
CHANGED_ACCOUNT = "39053344705_CPF"  # the guide's fe60ff40-d1cb-11ee-a0ed-87f4fcc03446
CLOSED_ACCOUNT = "15350946056_CPF"  # the guide's c5886660-d598-11ee-ac7f-a50b38956bb7
INVOICED_ACCOUNT = "12345678909_CPF"  # the invoice guide's 11111111111_CPF
SEARCHED_ACCOUNT = "09173503401_CPF"  # a valid CPF already: the guide's own
HOLDER_ID = "78d22849ad844ae5a57ef1715de73467"
PAID_TRANSACTION = "ED01C38CD4C949C2BCDFDB2C461C80F1"
OPEN_TRANSACTION = "7583E36F101C461094AB6CA68FA8EE2C"


def _account(account_id: str, **fields) -> dict:
    """An account as the guides show it: these fields, in this order."""
    document = account_id.rsplit("_", 1)[0]
    base = {
        "id": account_id,
        "balance": 0.0,
        "document": document,
        "status": "Open",
        "documentType": "CPF",
        "creditLimit": None,
        "updatedAt": None,
        "createdAt": None,
        "description": "",
        "availableCredit": None,
        "preAuthorizedCredit": 0.0,
        "email": None,
        "tolerance": None,
        "availableBalance": None,
    }
    base.update(fields)
    return base


def _listed_account(account_id: str, limit: float, email: str, updated: str, created: str):
    """An account of the search: the guide's entries have no document fields."""
    return {
        "id": account_id,
        "balance": 0.0,
        "status": "Open",
        "creditLimit": limit,
        "updatedAt": updated,
        "createdAt": created,
        "description": "",
        "availableCredit": limit,
        "preAuthorizedCredit": 0.0,
        "email": email,
        "tolerance": 0.0,
        "availableBalance": limit,
    }


def _statements(*entries, current=0.0, interval, previous=0.0) -> dict:
    return {
        "statements": list(entries),
        "currentBalance": current,
        "intervalBalance": interval,
        "previousBalance": previous,
    }


def _credit(value: float, date: str) -> dict:
    return {"value": value, "date": date, "origin": "Credit"}


CHANGED = {  # the account of the guide's "Changing … account information" examples
    "document": "39053344705",
    "documentType": "CPF",
    "createdAt": "2024-02-22T21:47:37.2207379Z",
    "email": "customer32@test.com",
}

OPEN_INVOICE = {  # the invoice guide's 7583E36F101C461094AB6CA68FA8EE2C-01, as first read
    "id": f"{OPEN_TRANSACTION}-01",
    "friendlyId": "IBjuAsrJ-1",
    "status": "Opened",
    "value": 9.63,
    "accountId": INVOICED_ACCOUNT,
    "creditValue": 0.0,
    "createdAt": "2024-03-03T06:52:53.1314379Z",
    "updatedAt": "2024-04-05T06:52:56.2329924Z",
    "originalDueDate": "2024-04-02T06:52:53.1314379Z",
    "dueDate": "2024-04-02T06:52:53.1314379Z",
    "installment": 1,
    "orderId": "1413870513134-01",
    "transactionId": OPEN_TRANSACTION,
    "numberOfInstallments": 1,
    "creditAccountId": INVOICED_ACCOUNT,
}


def _resolved_invoice(status: str) -> dict:
    """The invoice after the guide's change, payment or cancellation (fields in its order)."""
    invoice = {key: OPEN_INVOICE[key] for key in list(OPEN_INVOICE)[:7]}
    invoice["status"] = status
    invoice.update(
        {
            "resolvedAt": "2024-05-08T18:43:14.7046593Z",
            "updatedAt": "2024-05-08T18:43:14.8765325Z",
            "paymentLink": "https://www.paymentlink.com",
            "originalDueDate": OPEN_INVOICE["originalDueDate"],
            "dueDate": OPEN_INVOICE["dueDate"],
            "installment": 1,
            "orderId": OPEN_INVOICE["orderId"],
            "observation": "BF 2024 customer invoice.",
            "transactionId": OPEN_TRANSACTION,
            "numberOfInstallments": 1,
            "creditAccountId": INVOICED_ACCOUNT,
        }
    )
    return invoice


def _searched_invoice(transaction: str, status: str, value: float, order: str, **dates) -> dict:
    invoice = {
        "id": f"{transaction}-01",
        "status": status,
        "value": value,
        "accountId": SEARCHED_ACCOUNT,
        "creditValue": 0.0,
        **dates,
        "installment": 1,
        "orderId": order,
        "transactionId": transaction,
        "creditAccountId": SEARCHED_ACCOUNT,
    }
    return invoice


# (OpenAPI path, method) -> {example name: {"summary", "guide", "request"?, "response"?}}.
# "request" / "response" are the guide's bodies; an operation the guide shows answering
# an empty body has no "response".
EXAMPLES: dict[tuple[str, str], dict[str, dict]] = {
    (ACCOUNTS, "post"): {
        "open-account": {
            "summary": "Open an account",
            "guide": ACCOUNT_GUIDE,
            "request": {
                "document": "52998224725",
                "documentType": "CPF",
                "email": "customer@test.com",
                "creditLimit": "3000",
                "tolerance": "0.05",
            },
            "response": _account(
                OPENED_ACCOUNT,
                creditLimit=3000.00,
                updatedAt="2024-02-22T20:43:21.8753045Z",
                createdAt="2024-02-22T20:43:21.8287567Z",
                availableCredit=3000.00,
                email="customer@test.com",
                tolerance=0.05,
                availableBalance=3000.00,
            ),
        }
    },
    (ACCOUNT, "get"): {
        "get-account": {
            "summary": "Retrieve an account",
            "guide": ACCOUNT_GUIDE,
            "response": _account(
                READ_ACCOUNT,
                creditLimit=5000.0,
                updatedAt="2024-02-22T21:47:37.2832458Z",
                createdAt="2024-02-22T21:47:37.2207379Z",
                availableCredit=5000.0,
                email="customer2@test.com",
                tolerance=0.0,
                availableBalance=5000.0,
            ),
        }
    },
    (ACCOUNT, "put"): {
        "update-account-information": {
            "summary": "Update the e-mail (document and type sent unchanged)",
            "guide": ACCOUNT_GUIDE,
            "request": {
                "email": "customer32@test.com",
                "document": "39053344705",
                "documentType": "CPF",
            },
            "response": _account(
                CHANGED_ACCOUNT,
                **CHANGED,
                creditLimit=4500.0,
                updatedAt="2024-02-23T17:21:41.6800112Z",
                availableCredit=4500.0,
                tolerance=0.0,
                availableBalance=5000.0,
            ),
        }
    },
    (f"{ACCOUNT}/creditlimit", "put"): {
        "change-credit-limit": {
            "summary": "Change the credit limit to 5,300",
            "guide": ACCOUNT_GUIDE,
            "request": {"value": 5300},
            "response": _account(
                CHANGED_ACCOUNT,
                **CHANGED,
                creditLimit=5300.0,
                updatedAt="2024-02-23T17:44:44.7931543Z",
                availableCredit=5300.0,
                tolerance=0.3,
                availableBalance=5300.0,
            ),
        },
        # The guide writes these two values as `9.000` and `12.000`: thousands separated
        # with a point, as in pt-BR. In JSON that would be 9 and 12; its text says 9,000
        # and 12,000, and its statements (-1100, +3300) only add up with those.
        "decrease-credit-limit": {
            "summary": "Decrease the credit limit from 10,000 to 9,000",
            "guide": ACCOUNT_GUIDE,
            "request": {"value": 9000},
        },
        "increase-credit-limit": {
            "summary": "Increase the credit limit from 9,000 to 12,000",
            "guide": ACCOUNT_GUIDE,
            "request": {"value": 12000},
        },
    },
    (f"{ACCOUNT}/tolerance", "put"): {
        "change-tolerance": {
            "summary": "Change the tolerance to 15 %",
            "guide": ACCOUNT_GUIDE,
            "request": {"value": 0.15},
            "response": _account(
                CHANGED_ACCOUNT,
                **CHANGED,
                creditLimit=5800.00,
                updatedAt="2024-02-23T18:03:03.4849783Z",
                availableCredit=5800.00,
                tolerance=0.15,
                availableBalance=5800.00,
            ),
        },
        "decrease-tolerance": {
            "summary": "Decrease the tolerance from 10 % to 0 %",
            "guide": ACCOUNT_GUIDE,
            "request": {"value": 0},
        },
        "increase-tolerance": {
            "summary": "Increase the tolerance from 0 % to 25 %",
            "guide": ACCOUNT_GUIDE,
            "request": {"value": 0.25},
        },
    },
    (STATEMENTS, "get"): {
        "new-account": {
            "summary": "A new account: no statements",
            "guide": ACCOUNT_GUIDE,
            "response": _statements(interval=0.0),
        },
        "after-credit-limit-decrease": {
            "summary": "Limit 10,000 → 9,000 at 10 % tolerance",
            "guide": ACCOUNT_GUIDE,
            "response": _statements(
                _credit(-1100.0, "2024-02-26T13:29:08.3978356Z"), interval=-1100.0
            ),
        },
        "after-credit-limit-increase": {
            "summary": "Then 9,000 → 12,000",
            "guide": ACCOUNT_GUIDE,
            "response": _statements(
                _credit(-1100.0, "2024-02-26T17:08:49.3904874Z"),
                _credit(3300.0, "2024-02-26T17:08:55.3123304Z"),
                interval=2200.0,
            ),
        },
        "after-tolerance-decrease": {
            "summary": "Tolerance 10 % → 0 % on a limit of 5,000",
            "guide": ACCOUNT_GUIDE,
            "response": _statements(
                _credit(-500.0, "2024-02-26T20:04:27.7754907Z"), interval=-500.0
            ),
        },
        "after-tolerance-increase": {
            "summary": "Then 0 % → 25 %",
            "guide": ACCOUNT_GUIDE,
            "response": _statements(
                _credit(-500.0, "2024-02-26T20:04:27.7754907Z"),
                _credit(1250.0, "2024-02-26T22:39:53.8090863Z"),
                interval=750.0,
            ),
        },
        "invoice-issued": {
            "summary": "An invoice of 15 issued",
            "guide": ACCOUNT_GUIDE,
            "response": _statements(
                {
                    "value": -15.0,
                    "date": "2024-02-26T14:39:54.7141907Z",
                    "origin": "Invoice",
                    "metadata": {
                        "transactionId": PAID_TRANSACTION,
                        "orderId": "1413590513132-01",
                        "numberOfInstallments": 1,
                    },
                },
                interval=-8.01,
            ),
        },
        "invoice-paid": {
            "summary": "An invoice of 8.01 paid",
            "guide": ACCOUNT_GUIDE,
            "response": _statements(
                {
                    "value": 8.01,
                    "date": "2024-02-26T14:47:15.9276873Z",
                    "origin": "Payment",
                    "metadata": {"transactionId": PAID_TRANSACTION, "installment": 1},
                },
                interval=0.0,
            ),
        },
    },
    (f"{ACCOUNT}/holders", "post"): {
        "add-holder": {
            "summary": "Add a dependent",
            "guide": ACCOUNT_GUIDE,
            "request": {"claims": {"email": "customertestholder1@test.com"}},
            "response": {
                "level": 2,
                "claims": {"email": "customertestholder1@test.com"},
                "id": HOLDER_ID,
                "createdAt": "2024-02-27T14:38:36.0027682Z",
            },
        }
    },
    (f"{ACCOUNT}/holders/{{holderId}}", "delete"): {
        "remove-holder": {
            "summary": "Remove a dependent",
            "guide": ACCOUNT_GUIDE,
            "response": {"id": HOLDER_ID},
        }
    },
    (ACCOUNTS, "get"): {
        "search-accounts": {
            "summary": "Search all accounts (the guide shows 3 of 35)",
            "guide": ACCOUNT_GUIDE,
            "response": {
                "data": [
                    _listed_account(
                        "07D0F8272B6D77F1E68B",
                        1000.0,
                        "customer10@test.com",
                        "2021-06-28T21:33:46.70945Z",
                        "2020-04-15T01:23:54.4690229Z",
                    ),
                    _listed_account(
                        "E93480BCE84892A336F3",
                        2000.0,
                        "customer11@test.com",
                        "2021-06-28T21:33:46.8344386Z",
                        "2020-05-21T22:42:37.8764106Z",
                    ),
                    _listed_account(
                        "B07403D8311D642477F4",
                        2000.0,
                        "customer12@test.com",
                        "2021-06-28T21:33:47.1156945Z",
                        "2020-07-23T20:26:33.894492Z",
                    ),
                ],
                "summary": {"count": 35},
            },
        }
    },
    (ACCOUNT, "delete"): {
        "close-account": {
            "summary": "Close an account",
            "guide": ACCOUNT_GUIDE,
            "response": _account(
                CLOSED_ACCOUNT,
                status="Closed",
                creditLimit=3000.0,
                updatedAt="2024-02-27T17:52:52.842757Z",
                createdAt="2024-02-27T17:51:03.5303894Z",
                availableCredit=3000.0,
                email="customerclosed@test.com",
                tolerance=0.0,
                availableBalance=3000.0,
            ),
        }
    },
    (INVOICE, "get"): {
        "get-invoice": {
            "summary": "Retrieve an invoice",
            "guide": INVOICE_GUIDE,
            "response": OPEN_INVOICE,
        },
        "after-change": {
            "summary": "After the change (status, observation, payment link)",
            "guide": INVOICE_GUIDE,
            "response": _resolved_invoice("Paid"),
        },
        "after-postponement": {
            "summary": "After a postponement of 5 days",
            "guide": INVOICE_GUIDE,
            "response": {
                **OPEN_INVOICE,
                "originalDueDate": "2024-05-20T06:52:53.1314379Z",
                "dueDate": "2024-05-25T06:52:53.1314379Z",
            },
        },
        "after-cancellation": {
            "summary": "After the cancellation",
            "guide": INVOICE_GUIDE,
            "response": _resolved_invoice("Cancelled"),
        },
    },
    (ACCOUNT_INVOICES, "get"): {
        "account-invoices": {
            "summary": "The invoices of one account",
            "guide": INVOICE_GUIDE,
            "response": {
                "data": [
                    {
                        "id": f"{PAID_TRANSACTION}-01",
                        "friendlyId": "MWKd4GUB-1",
                        "status": "Paid",
                        "value": 8.01,
                        "accountId": INVOICED_ACCOUNT,
                        "creditValue": 0.0,
                        "createdAt": "2024-02-26T14:39:54.6205024Z",
                        "resolvedAt": "2024-02-26T14:47:15.8495716Z",
                        "updatedAt": "2024-02-26T14:47:15.8964469Z",
                        "originalDueDate": "2024-03-27T14:39:54.6205024Z",
                        "dueDate": "2024-03-27T14:39:54.6205024Z",
                        "installment": 1,
                        "orderId": "1413590513132-01",
                        "transactionId": PAID_TRANSACTION,
                        "numberOfInstallments": 1,
                        "creditAccountId": INVOICED_ACCOUNT,
                    },
                    OPEN_INVOICE,
                ],
                "summary": {"total": 9.63, "count": 2, "totalPaid": 8.01, "totalCancelled": 0.0},
            },
        }
    },
    (INVOICES, "get"): {
        "search-invoices": {
            "summary": "Search all invoices (the guide shows 3 of 121)",
            "guide": INVOICE_GUIDE,
            "response": {
                "data": [
                    _searched_invoice(
                        "8C7A5F6F57AE4464B3D1F15A0E47C536",
                        "Opened",
                        15.0,
                        "500001",
                        createdAt="2018-10-24T15:34:14.5879054Z",
                        updatedAt="2018-10-24T15:34:14.6503743Z",
                        originalDueDate="2018-11-23T15:34:14.5879054Z",
                        dueDate="2018-11-23T15:34:14.5879054Z",
                    ),
                    # The guide lists 8C7A5F6F57AE4464B3D1F15A0E47C536-01 a second time, as
                    # Paid; one id cannot be two invoices, so this one has its own id.
                    _searched_invoice(
                        "8C7A5F6F57AE4464B3D1F15A0E47C537",
                        "Paid",
                        15.0,
                        "500001",
                        createdAt="2018-10-24T15:34:14.5879054Z",
                        resolvedAt="2021-03-05T15:01:23.0768211Z",
                        updatedAt="2021-03-05T15:01:23.1236966Z",
                        originalDueDate="2018-11-23T15:34:14.5879054Z",
                        dueDate="2018-11-23T15:34:14.5879054Z",
                    ),
                    _searched_invoice(
                        "A69BD96CDA1F402B939913B81C6346B2",
                        "Opened",
                        35.0,
                        "500004",
                        createdAt="2018-10-25T01:01:07.3570738Z",
                        updatedAt="2018-10-25T01:01:07.5133444Z",
                        originalDueDate="2018-11-24T01:01:07.3570738Z",
                        dueDate="2018-11-24T01:01:07.3570738Z",
                    ),
                ],
                "summary": {
                    "total": 2388.95,
                    "count": 121,
                    "totalPaid": 1379.11,
                    "totalCancelled": 1.24,
                },
            },
        }
    },
    (INVOICE, "put"): {
        "change-invoice": {
            "summary": "Mark as paid, with an observation and a payment link",
            "guide": INVOICE_GUIDE,
            "request": {
                "status": "Paid",
                "observation": "BF 2024 customer invoice.",
                "paymentLink": "https://paymentlink.com",
            },
        }
    },
    (STORECONFIG, "put"): {
        "enable-postponement": {
            "summary": "Allow up to 3 postponements, 30 days in all",
            "guide": INVOICE_GUIDE,
            "request": {
                "invoicePostponementLimit": 3,
                "maxPostponementDays": 30,
                "postponementEnabled": True,
            },
            "response": {
                "dailyInterestRate": 0.01,
                "invoicePostponementLimit": 3,
                "taxRate": 0.4,
                "maxPostponementDays": 30,
                "defaultCreditValue": 150,
                "maxPreAuthorizationGrowthRate": 0.1,
                "myCreditsEnabled": True,
                "toleranceEnabled": True,
                "automaticCheckingAccountCreationEnabled": True,
                "postponementEnabled": True,
                "notificationsSettings": {
                    "daysPrior": [{"days": 1, "timeOfDay": "16:00:00"}],
                    "daysAfter": [{"days": 0, "timeOfDay": "12:00:00"}],
                },
            },
        }
    },
    (f"{INVOICE}/postponement", "put"): {
        "postpone-invoice": {
            "summary": "Postpone by 5 days",
            "guide": INVOICE_GUIDE,
            "request": {"dueDays": 5},
        }
    },
    (f"{INVOICE}/payments", "post"): {
        "pay-invoice": {
            "summary": "Mark an invoice as paid",
            "guide": INVOICE_GUIDE,
            "response": _resolved_invoice("Paid"),
        }
    },
}

EXT = {"x-portal-extension": True}


def _example(name: str, example: dict, body: dict) -> dict:
    return {
        "summary": example["summary"],
        "description": f"From VTEX's guide «{example['guide']}» ({name}).",
        "value": copy.deepcopy(body),
        **EXT,
    }


def _add(media: dict, examples: dict[str, dict], part: str) -> None:
    """Put the examples that have a `part` body into the media type's `examples`.

    The contract's own `example` moves first into `examples` as "contract" (OpenAPI 3.0
    makes `example` and `examples` mutually exclusive; tests/api/test_openapi.py accepts
    the move).
    """
    named = {n: _example(n, e, e[part]) for n, e in examples.items() if part in e}
    if not named:
        return
    target = media.setdefault("examples", {})
    if "example" in media:
        target.setdefault(
            "contract", {"summary": "The contract's example", "value": media.pop("example")}
        )
    target.update(named)


def add_examples(path: str, method: str, operation: dict) -> None:
    """Add the guides' examples of (path, method) to its JSON request and 200 response."""
    examples = EXAMPLES.get((path, method))
    if not examples:
        return
    request = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if request is not None:
        _add(request, examples, "request")
    response = operation.get("responses", {}).get("200", {})
    if "$ref" not in response and any("response" in e for e in examples.values()):
        media = response.setdefault("content", {}).setdefault("application/json", {})
        _add(media, examples, "response")
