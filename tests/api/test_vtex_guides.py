"""VTEX's integration guides replayed against the portal (the examples: vtex_guides.py).

Each scenario arranges what its guide assumes, sends the guide's requests and compares
every field of the guide's response with the portal's (`assert_like_guide`): the same
value (numbers as Decimal: 3000 == 3000.0) and the same JSON type. Timestamps are checked
for their form only (ISO 8601 in UTC with a Z), ids the portal generates (friendlyId, a
holder's id) for presence and type; account ids must be `<document>_<documentType>` and
invoice ids `<transactionId>-NN` (the tests choose the transaction ids: the guides' own).

Where the guides contradict themselves the test says so and asserts the rule instead;
where the portal deliberately answers otherwise, the test asserts the portal's behaviour
and DIFFERENCES lists it (the README's "Differences from VTEX" is written from it).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from validate_docbr import CPF

from .vtex_guides import EXAMPLES, SCENARIOS, Scenario, Step

DIFFERENCES = [
    "PUT /accounts/{creditAccountId}/invoices/{invoiceId} (change invoice) answers 200 with "
    "the changed invoice; VTEX answers 200 with an empty body.",
    "PUT /accounts/{creditAccountId}/invoices/{invoiceId}/postponement answers 200 with the "
    "postponed invoice; VTEX answers 200 with an empty body.",
    "DELETE /accounts/{creditAccountId}/invoices/{invoiceId} (cancel invoice) answers 200 with "
    "the cancelled invoice; VTEX answers 200 with an empty body.",
    "PUT /accounts/{creditAccountId} never changes document or documentType: an account's id "
    "is `<document>_<documentType>`, so both are ignored when sent, and leaving them out "
    "removes nothing. VTEX changes them, and removes them when they are left out.",
    "Every account's id is `<document>_<documentType>`, also when it is opened in the "
    "back-office or by a CSV import; VTEX gives accounts opened in its Admin a random id.",
    "dueDate and originalDueDate are the start of the due day in the store's timezone, in UTC "
    "(2024-04-02 in America/Sao_Paulo is 2024-04-02T03:00:00Z); VTEX keeps the purchase's "
    "time of day (2024-04-02T06:52:53.1314379Z). Timestamps have 6 decimals, VTEX's 7.",
    "friendlyId is 8 digits (e.g. 04718263); VTEX's looks like IBjuAsrJ-1.",
    "Invoices carry resolvedAt, paymentLink and observation as null when they have none; "
    "VTEX leaves them out.",
    "Additional fields: invoices have paidAmount, remaining, postponements and "
    "effectivePaymentLink (paymentLink, else the store's template filled in); statement "
    "entries id, doneBy and description, and their metadata invoiceId; the statements answer "
    "count; invoice summaries totalOverdue and countOverdue; searched accounts document and "
    "documentType.",
]

TIMESTAMPS = frozenset(
    {"createdAt", "updatedAt", "resolvedAt", "dueDate", "originalDueDate", "date"}
)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?Z")


# --- comparing with a guide ------------------------------------------------------------


def json_type(value) -> str:
    """The JSON type of a parsed value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    raise TypeError(f"not a JSON value: {value!r}")


def parse_timestamp(value: str) -> datetime:
    """An ISO 8601 date-time in UTC with a Z (checked), as an aware datetime."""
    assert isinstance(value, str) and TIMESTAMP.fullmatch(value), f"not a UTC date-time: {value!r}"
    return datetime.fromisoformat(value[:-1] + "+00:00")


def assert_like_guide(actual, expected, *, ignore=(), ids=(), where: str = "body") -> None:
    """Every field of the guide's `expected` is in `actual`, of the same JSON type and value.

    Fields only `actual` has are additions and pass. Timestamps (TIMESTAMPS) are checked
    for their form only; `ids` (names or dotted paths) for presence and type only; `ignore`
    (names or dotted paths, list positions left out: "notificationsSettings.daysPrior.
    timeOfDay") not at all. Lists must have the guide's length, compared item by item.
    """
    _compare(actual, expected, set(ignore), set(ids), where, "")


def _compare(actual, expected, ignore: set, ids: set, where: str, path: str) -> None:
    assert json_type(actual) == json_type(expected), (
        f"{where}: {json_type(actual)} {actual!r}, the guide has {json_type(expected)} {expected!r}"
    )
    if isinstance(expected, dict):
        for key, value in expected.items():
            dotted = f"{path}.{key}" if path else key
            if key in ignore or dotted in ignore:
                continue
            here = f"{where}.{key}"
            assert key in actual, f"{here} is missing (the guide has {value!r})"
            if key in TIMESTAMPS and isinstance(value, str):
                parse_timestamp(actual[key])
            elif key in ids or dotted in ids:
                assert json_type(actual[key]) == json_type(value), f"{here}: {actual[key]!r}"
            else:
                _compare(actual[key], value, ignore, ids, here, dotted)
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{where}: {len(actual)} items, the guide {expected}"
        for n, (mine, theirs) in enumerate(zip(actual, expected, strict=True)):
            _compare(mine, theirs, ignore, ids, f"{where}[{n}]", path)
    elif json_type(expected) == "number":
        assert Decimal(str(actual)) == Decimal(str(expected)), f"{where}: {actual} ≠ {expected}"
    else:
        assert actual == expected, f"{where}: {actual!r}, the guide has {expected!r}"


def by(items: list[dict], key: str) -> dict:
    """Items of a list by one of their fields (the guides' lists and ours may differ in order)."""
    return {item[key]: item for item in items}


# --- replaying -------------------------------------------------------------------------


def answer(response, status: int = 200):
    """The JSON body of a response with this status, numbers as Decimal."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:500]
    assert response.mimetype == "application/json", text[:500]
    return json.loads(text, parse_float=Decimal)


def send(api, step: Step, ids: dict):
    """Send a guide's request: its method, path (ids filled in) and body.

    The guides write three list paths with a trailing slash (`/accounts/`, `/invoices/`,
    `/accounts/{id}/invoices/`); they are sent without it here, and tried as the guides
    write them in test_guide_paths_with_a_trailing_slash.
    """
    kwargs = {} if step.request is None else {"json": step.request}
    return api.call(step.method, step.path.format(**ids).rstrip("/"), **kwargs)


def arrange(api, settings, scenario: Scenario) -> list[str]:
    """Make what the scenario's guide assumes; the ids of the accounts opened."""
    given = scenario.given
    if given.store:
        settings(**given.store)
    accounts = [answer(api.post("/accounts", json=body))["id"] for body in given.accounts]
    for purchase in given.purchases:
        account = f"/accounts/{accounts[0]}"
        transaction = f"{account}/transactions/{purchase.transaction_id}"
        value = float(purchase.value)
        answer(api.put(transaction, json={"value": value, "orderId": purchase.order_id}))
        answer(api.put(f"{transaction}/settlement", json={"value": value}))
        invoice = f"{account}/invoices/{purchase.transaction_id}-01"
        if purchase.observation or purchase.payment_link:
            notes = {"observation": purchase.observation, "paymentLink": purchase.payment_link}
            answer(api.put(invoice, json=notes))
        if purchase.paid:
            answer(api.post(f"{invoice}/payments"))
    return accounts


def assert_statement_rules(api, account_id: str, statements: dict) -> None:
    """intervalBalance is the sum of the listed values; currentBalance the account's balance."""
    listed = sum((Decimal(str(s["value"])) for s in statements["statements"]), Decimal(0))
    assert Decimal(str(statements["intervalBalance"])) == listed
    balance = answer(api.get(f"/accounts/{account_id}"))["balance"]
    assert Decimal(str(statements["currentBalance"])) == Decimal(str(balance))
    assert Decimal(str(statements["previousBalance"])) == 0  # no from: since the opening


def scenario_steps(api, settings, name: str) -> tuple[Scenario, list[str], tuple[Step, ...]]:
    scenario = SCENARIOS[name]
    return scenario, arrange(api, settings, scenario), scenario.steps


# --- the guides' examples are data that holds together ---------------------------------


def _walk(value, path=""):
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, path)


def test_examples_are_complete_and_use_valid_documents():
    for (path, method), named in EXAMPLES.items():
        assert path.startswith("/api/creditcontrol/"), path
        assert method in ("get", "post", "put", "delete"), method
        for name, example in named.items():
            assert {"summary", "guide"} <= set(example) and ({"request", "response"} & set(example))
            for where, value in _walk({k: example.get(k) for k in ("request", "response")}):
                key = where.rsplit(".", 1)[-1]
                assert value is not None or where in (".request", ".response"), (name, where)
                if key in TIMESTAMPS:  # the form asserted of the portal is the guides' form
                    parse_timestamp(value)
                if key == "document" or (isinstance(value, str) and value.endswith("_CPF")):
                    assert CPF().validate(value.removesuffix("_CPF")), (name, where, value)


def test_every_scenario_is_replayed_and_every_example_used():
    tests = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert set(SCENARIOS) <= tests, set(SCENARIOS) - tests
    used = {(s.operation, s.example) for sc in SCENARIOS.values() for s in sc.steps if s.example}
    every = {(key, name) for key, named in EXAMPLES.items() for name in named}
    assert used == every, every ^ used


# --- Managing a Customer Credit account ------------------------------------------------


def test_open_account(api, settings):
    scenario, _, (opening,) = scenario_steps(api, settings, "open_account")
    account = answer(send(api, opening, scenario.ids))
    # The guide's availableBalance (3000 with tolerance 0.05) is that of a store whose
    # tolerance is off: the portal's default (toleranceEnabled false).
    assert_like_guide(account, opening.response)
    assert account["id"] == f"{opening.request['document']}_CPF"


def test_open_account_with_store_tolerance(api, settings):
    """The same account in a store that enables tolerance: 5 % of 3000 more to spend."""
    settings(tolerance_enabled=True)
    opening = SCENARIOS["open_account"].steps[0]
    account = answer(send(api, opening, {}))
    assert_like_guide(account, {**opening.response, "availableBalance": 3150.0})


def test_get_account(api, settings):
    scenario, _, (read,) = scenario_steps(api, settings, "get_account")
    assert_like_guide(answer(send(api, read, scenario.ids)), read.response)


def test_update_account_information(api, settings):
    scenario, (account_id,), (update,) = scenario_steps(api, settings, "update_account_information")
    account = answer(send(api, update, scenario.ids))
    # The guide answers availableBalance 5000 for a limit of 4500 with no tolerance and
    # nothing owed: a slip. The rule: availableBalance = availableCredit (= 4500) here.
    assert_like_guide(account, update.response, ignore={"availableBalance"})
    assert Decimal(str(account["availableBalance"])) == Decimal(str(account["availableCredit"]))

    # Deliberate difference: the document (and the id made of it) never changes.
    other = answer(api.put(f"/accounts/{account_id}", json={"email": "customer33@test.com"}))
    assert (other["id"], other["document"], other["documentType"]) == (
        account_id,
        update.request["document"],
        "CPF",
    )
    moved = answer(
        api.put(f"/accounts/{account_id}", json={**update.request, "document": "11144477735"})
    )
    assert (moved["id"], moved["document"]) == (account_id, update.request["document"])


def test_change_credit_limit(api, settings):
    scenario, _, (change,) = scenario_steps(api, settings, "change_credit_limit")
    # tolerance 0.3 with availableBalance = the limit: the guide's store has tolerance off.
    assert_like_guide(answer(send(api, change, scenario.ids)), change.response)


def test_change_tolerance(api, settings):
    scenario, _, (change,) = scenario_steps(api, settings, "change_tolerance")
    assert_like_guide(answer(send(api, change, scenario.ids)), change.response)


def test_new_account_statements(api, settings):
    scenario, _, (read,) = scenario_steps(api, settings, "new_account_statements")
    assert_like_guide(answer(send(api, read, scenario.ids)), read.response)


def _changes_then_statements(api, scenario: Scenario, account_id: str, field: str) -> None:
    """Each PUT changes `field` to the sent value; each GET lists the guide's statements."""
    for change, read in zip(scenario.steps[::2], scenario.steps[1::2], strict=True):
        account = answer(send(api, change, scenario.ids))
        assert Decimal(str(account[field])) == Decimal(str(change.request["value"]))
        statements = answer(send(api, read, scenario.ids))
        assert_like_guide(statements, read.response)
        assert_statement_rules(api, account_id, statements)


def test_credit_limit_change_statements(api, settings):
    """10,000 → 9,000 → 12,000 at 10 %: Credit −1100, then +3300 (Δlimit × 1.1)."""
    scenario, (account_id,), _ = scenario_steps(api, settings, "credit_limit_change_statements")
    _changes_then_statements(api, scenario, account_id, "creditLimit")


def test_tolerance_change_statements(api, settings):
    """10 % → 0 % → 25 % on 5,000: Credit −500, then +1250 (Δtolerance × limit)."""
    scenario, (account_id,), _ = scenario_steps(api, settings, "tolerance_change_statements")
    _changes_then_statements(api, scenario, account_id, "tolerance")


def test_invoice_issue_statement(api, settings):
    scenario, (account_id,), (read,) = scenario_steps(api, settings, "invoice_issue_statement")
    statements = answer(send(api, read, scenario.ids))
    # The guide lists one entry of −15 beside intervalBalance −8.01 and currentBalance 0.0:
    # its figures come from different purchases. The rules: intervalBalance is the sum of
    # the listed values (−15) and currentBalance the account's balance (−15: owed).
    assert_like_guide(statements, read.response, ignore={"intervalBalance", "currentBalance"})
    assert_statement_rules(api, account_id, statements)
    assert Decimal(str(statements["currentBalance"])) == Decimal("-15")
    # availableCredit = creditLimit + balance − preAuthorizedCredit
    account = answer(api.get(f"/accounts/{account_id}"))
    assert (account["balance"], account["availableCredit"]) == (Decimal("-15"), Decimal("4985"))


def test_payment_statement(api, settings):
    scenario, (account_id,), (read,) = scenario_steps(api, settings, "payment_statement")
    statements = answer(send(api, read, scenario.ids))
    # The guide shows only the Payment entry of the paid purchase; its intervalBalance 0.0
    # counts the Invoice entry (−8.01) too, which the portal lists before it.
    assert [s["origin"] for s in statements["statements"]] == ["Invoice", "Payment"]
    (payment,) = read.response["statements"]
    assert_like_guide(statements["statements"][1], payment, where="statements[1]")
    assert_like_guide(statements, read.response, ignore={"statements"})
    assert_statement_rules(api, account_id, statements)


def test_add_and_remove_holder(api, settings):
    scenario, _, (add, remove) = scenario_steps(api, settings, "add_and_remove_holder")
    holder = answer(send(api, add, scenario.ids))
    assert_like_guide(holder, add.response, ids={"id"})
    removed = answer(send(api, remove, {**scenario.ids, "holderId": holder["id"]}))
    assert_like_guide(removed, remove.response, ids={"id"})
    assert removed["id"] == holder["id"]


def test_search_accounts(api, settings):
    scenario, account_ids, (search,) = scenario_steps(api, settings, "search_accounts")
    found = answer(send(api, search, scenario.ids))
    # The guide's store has 35 accounts, ours the 3 it shows.
    assert_like_guide(found, search.response, ignore={"summary.count", "data"})
    assert found["summary"]["count"] == 3
    mine = by(found["data"], "email")
    for expected in search.response["data"]:
        assert_like_guide(mine[expected["email"]], expected, ids={"id"}, where=expected["email"])
    documents = {body["email"]: body["document"] for body in scenario.given.accounts}
    assert {a["id"] for a in found["data"]} == set(account_ids)
    assert all(a["id"] == f"{documents[a['email']]}_CPF" for a in found["data"])

    # The guide's queries: from/to (positions, both included), email, status.
    page = answer(api.get("/accounts?from=1&to=2"))
    assert (len(page["data"]), page["summary"]["count"]) == (2, 3)
    one = answer(api.get("/accounts?email=customer11@test.com"))
    assert [a["email"] for a in one["data"]] == ["customer11@test.com"]
    assert answer(api.get("/accounts?status=Closed"))["data"] == []


def test_close_account(api, settings):
    scenario, _, (close,) = scenario_steps(api, settings, "close_account")
    assert_like_guide(answer(send(api, close, scenario.ids)), close.response)


def test_guide_paths_with_a_trailing_slash(api, settings):
    """The guides list accounts and invoices at paths ending in `/`: VTEX answers them."""
    arrange(api, settings, SCENARIOS["account_invoices"])
    for scenario in ("search_accounts", "account_invoices", "search_invoices"):
        (listing,) = SCENARIOS[scenario].steps
        path = listing.path.format(**SCENARIOS[scenario].ids)
        assert path.endswith("/")
        assert answer(api.get(path))["data"], path


# --- Managing a Customer Credit invoice ------------------------------------------------


def test_get_invoice(api, settings):
    scenario, _, (read,) = scenario_steps(api, settings, "get_invoice")
    assert_like_guide(answer(send(api, read, scenario.ids)), read.response, ids={"friendlyId"})


def test_account_invoices(api, settings):
    scenario, _, (listing,) = scenario_steps(api, settings, "account_invoices")
    found = answer(send(api, listing, scenario.ids))
    # The summary is the guide's exactly: total is what is still open (9.63), not all (17.64).
    assert_like_guide(found, listing.response, ignore={"data"})
    mine = by(found["data"], "id")
    assert set(mine) == {i["id"] for i in listing.response["data"]}
    for expected in listing.response["data"]:
        assert_like_guide(mine[expected["id"]], expected, ids={"friendlyId"}, where=expected["id"])


def test_search_invoices(api, settings):
    scenario, _, (search,) = scenario_steps(api, settings, "search_invoices")
    found = answer(send(api, search, scenario.ids))
    # The guide's summary is of its store's 121 invoices; ours of the 3 it shows.
    assert_like_guide(found, search.response, ignore={"data", "summary"})
    assert_like_guide(
        found["summary"],
        {"total": 50.0, "count": 3, "totalPaid": 15.0, "totalCancelled": 0.0},
        where="summary",
    )
    mine = by(found["data"], "id")
    assert set(mine) == {i["id"] for i in search.response["data"]}
    for expected in search.response["data"]:
        assert_like_guide(mine[expected["id"]], expected, where=expected["id"])


def test_change_invoice(api, settings):
    scenario, _, (change, read) = scenario_steps(api, settings, "change_invoice")
    # Deliberate difference: the guide's PUT answers an empty body, the portal the invoice.
    changed = answer(send(api, change, scenario.ids))
    invoice = answer(send(api, read, scenario.ids))
    assert changed == invoice
    # The guide reads back https://www.paymentlink.com after sending https://paymentlink.com:
    # a slip. The portal keeps the link it is sent.
    assert_like_guide(invoice, read.response, ids={"friendlyId"}, ignore={"paymentLink"})
    assert invoice["paymentLink"] == change.request["paymentLink"]


def test_postpone_invoice(api, settings):
    scenario, _, (configure, postpone, read) = scenario_steps(api, settings, "postpone_invoice")
    config = answer(send(api, configure, scenario.ids))
    # every notification keeps its own time of day, as the guide's 16:00:00 and 12:00:00
    assert_like_guide(config, configure.response)
    assert config["notificationsSettings"] == configure.response["notificationsSettings"]

    before = answer(api.get(postpone.path.format(**scenario.ids).removesuffix("/postponement")))
    # Deliberate difference: the guide's PUT answers an empty body, the portal the invoice.
    postponed = answer(send(api, postpone, scenario.ids))
    invoice = answer(send(api, read, scenario.ids))
    assert postponed == invoice
    assert_like_guide(invoice, read.response, ids={"friendlyId"})
    days = timedelta(days=postpone.request["dueDays"])
    assert invoice["originalDueDate"] == before["originalDueDate"] == before["dueDate"]
    assert parse_timestamp(invoice["dueDate"]) - parse_timestamp(before["dueDate"]) == days


def test_pay_invoice(api, settings):
    scenario, _, (pay,) = scenario_steps(api, settings, "pay_invoice")
    assert_like_guide(answer(send(api, pay, scenario.ids)), pay.response, ids={"friendlyId"})


def test_cancel_invoice(api, settings):
    scenario, _, (cancel, read) = scenario_steps(api, settings, "cancel_invoice")
    # Deliberate difference: the guide's DELETE answers an empty body, the portal the invoice.
    cancelled = answer(send(api, cancel, scenario.ids))
    assert cancel.response is None and cancelled["status"] == "Cancelled"
    invoice = answer(send(api, read, scenario.ids))
    assert cancelled == invoice
    assert_like_guide(invoice, read.response, ids={"friendlyId"})


# --- the served OpenAPI document carries the same examples -----------------------------


def _plain(value):
    """As JSON reads it back (the served document is parsed with floats)."""
    return json.loads(json.dumps(value))


@pytest.fixture
def served(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _media(operation: dict, part: str) -> dict:
    if part == "request":
        return operation["requestBody"]["content"]["application/json"]
    return operation["responses"]["200"]["content"]["application/json"]


def test_openapi_serves_the_guides_examples(served):
    for (path, method), named in EXAMPLES.items():
        operation = served["paths"][path][method]
        for name, example in named.items():
            for part in ("request", "response"):
                if part not in example:
                    continue
                media = _media(operation, part)
                where = f"{method.upper()} {path} {part} example {name}"
                assert name in media.get("examples", {}), f"{where} is not served"
                assert media["examples"][name]["value"] == _plain(example[part]), where
                assert media["examples"][name]["summary"] == example["summary"]
                if "example" in media:  # the contract's own: kept, and first in `examples`
                    assert next(iter(media["examples"])) == "contract", where
                    assert media["examples"]["contract"]["value"] == media["example"], where


def test_openapi_examples_are_the_fixtures(served):
    """Every body a scenario sends or expects is the served example of its operation."""
    for scenario in SCENARIOS.values():
        for step in scenario.steps:
            path, method = step.operation
            operation = served["paths"][path][method]
            for part, body in (("request", step.request), ("response", step.response)):
                if body is None:
                    continue
                value = _media(operation, part)["examples"][step.example]["value"]
                assert value == _plain(body), (scenario.name, step.example, part)
