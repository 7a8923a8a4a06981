"""The served contract: the reference document plus this portal's additions, and its HTML.

openapi-base.json is a verbatim copy of the Customer Credit API contract. What the portal
adds (error responses, the Idempotency-Key header, extra filters and fields, corrected
types) is marked `x-portal-extension: true`; nothing of the contract is removed.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from flask import Flask, Response, current_app

from . import bp
from .examples import add_examples
from .payload import reply

BASE = Path(__file__).with_name("openapi-base.json")
EXT = {"x-portal-extension": True}
METHODS = ("get", "post", "put", "delete", "patch")
ERRORS = {
    "400": ("BadRequest", "Malformed JSON, a missing or invalid field (`invalid_amount`, …)."),
    "401": ("Unauthorized", "Missing or wrong X-VTEX-API-AppKey / X-VTEX-API-AppToken."),
    "403": ("Forbidden", "The API key lacks the scope this operation needs."),
    "404": ("NotFound", "Unknown account, invoice, transaction or holder id."),
    "409": (
        "Conflict",
        "Refused by the credit rules (`insufficient_credit`, "
        "`invalid_transition`, …) or a keyed request still in progress.",
    ),
    "422": ("IdempotencyKeyReused", "The Idempotency-Key was used for a different request."),
}


def _param(name: str, where: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": where,
        "required": False,
        "schema": schema,
        "description": description,
        **EXT,
    }


def _text(description: str) -> dict:
    return {"type": "string", "description": description, **EXT}


def _number(description: str) -> dict:
    return {"type": "number", "description": description, **EXT}


PAGE = [
    _param("page", "query", {"type": "integer", "minimum": 1}, "Page (without from/to)."),
    _param("perPage", "query", {"type": "integer", "minimum": 1}, "Rows per page."),
    _param(
        "sort",
        "query",
        {"type": "string"},
        "Sort keys, comma-separated, `-` for descending (e.g. `-dueDate`).",
    ),
    _param("q", "query", {"type": "string"}, "Free-text search."),
]
INVOICE_FILTERS = [
    _param(name, "query", {"type": "string"}, description)
    for name, description in (
        ("createdDateFrom", "Created on or after this date or instant."),
        ("createdDateTo", "Created on or before this date or instant."),
        ("dueDateFrom", "Due on or after this day."),
        ("dueDateTo", "Due on or before this day."),
        ("status", "Opened, Paid or Cancelled (comma-separated for several)."),
        ("friendlyId", "The invoice's friendly id."),
        ("observation", "Text contained in the observation."),
        ("transactionId", "The purchase (pre-authorization) id."),
        ("orderId", "The order id."),
    )
] + [
    _param("value", "query", {"type": "number"}, "Exact invoice value."),
    _param(
        "op",
        "query",
        {"type": "string", "enum": ["and", "or"]},
        "Combine the filters with AND (default) or OR.",
    ),
]

# (path, method) -> extra query parameters
EXTRA_PARAMETERS = {
    ("/api/creditcontrol/invoices", "get"): PAGE
    + [p for p in INVOICE_FILTERS if p["name"] in ("transactionId", "orderId", "op")],
    ("/api/creditcontrol/accounts/{creditAccountId}/invoices", "get"): PAGE + INVOICE_FILTERS,
    ("/api/creditcontrol/accounts", "get"): [
        *PAGE,
        _param("document", "query", {"type": "string"}, "The account owner's document."),
        _param("documentType", "query", {"type": "string"}, "CPF, CNPJ or Other."),
    ],
    ("/api/creditcontrol/accounts/{creditAccountId}/statements", "get"): [
        _param("from", "query", {"type": "string"}, "Entries on or after this date or instant."),
        _param("to", "query", {"type": "string"}, "Entries on or before this date or instant."),
        _param(
            "origin",
            "query",
            {"type": "string"},
            "Credit, Invoice, Payment, Cancellation, "
            "Reopen, Refund or Statement (comma-separated).",
        ),
        _param("transactionId", "query", {"type": "string"}, "Entries of one purchase."),
        *PAGE[:2],
    ],
}
REASON = _text("Why (kept in the audit trail); defaults to `API`.")
# (path, method) -> extra request body properties
EXTRA_PROPERTIES = {
    ("/api/creditcontrol/accounts/{creditAccountId}/transactions", "post"): {
        "orderId": _text("The order the purchase belongs to (copied to its invoices)."),
        "holderEmail": _text("The holder (a dependent) who buys; checked against their cap."),
        "paymentTerm": _text("Due days of the installments, e.g. `30/60/90`."),
    },
    ("/api/creditcontrol/accounts/{creditAccountId}/transactions/{transactionId}", "put"): {
        "expirationDate": _text("Expiration date when settle is false (new holds only)."),
        "orderId": _text("The order the purchase belongs to (new holds only)."),
        "paymentTerm": _text("Due days of the installments (new holds only)."),
    },
    ("/api/creditcontrol/accounts/{creditAccountId}", "put"): {
        "description": _text("Free text about the account."),
        "reason": REASON,
    },
    ("/api/creditcontrol/accounts/{creditAccountId}/creditlimit", "put"): {"reason": REASON},
    ("/api/creditcontrol/accounts/{creditAccountId}/tolerance", "put"): {"reason": REASON},
    ("/api/creditcontrol/accounts/{creditAccountId}/statements/{statementId}", "put"): {
        "reason": REASON
    },
    ("/api/creditcontrol/accounts", "post"): {"name": _text("The account owner's name.")},
}
# Dates: the API writes every date as an ISO 8601 date-time in UTC and reads both forms.
DAY_RULE = (
    "Accepts `YYYY-MM-DD` or an ISO 8601 date-time. A date-time with `Z` or an offset stands "
    "for the calendar day it falls on in the store's timezone (store settings, e.g. "
    "America/Sao_Paulo: `2024-04-02T03:00:00Z` is 2024-04-02, `2024-04-02T02:00:00Z` is "
    "2024-04-01); one without a zone for its date part."
)
INSTANT_RULE = (
    "Accepts `YYYY-MM-DD` (that whole day, in UTC) or an ISO 8601 date-time (that instant, "
    "included; UTC when it has no zone)."
)
IN_QUERY = " In a query string, write the `+` of an offset as `%2B`."
DUE_RULE = (
    "An ISO 8601 date-time: the start of that calendar day in the store's timezone, in UTC "
    "(2024-04-02 in America/Sao_Paulo is `2024-04-02T03:00:00Z`)."
)
DAY_OR_TIME = [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
DAY_INPUTS = ("dueDateFrom", "dueDateTo", "expirationDate")
INSTANT_INPUTS = ("createdDateFrom", "createdDateTo")  # and the statements' from/to
DAY_OUTPUTS = ("dueDate", "originalDueDate", "expirationDate")
TIME_OUTPUTS = ("createdAt", "updatedAt", "resolvedAt")
PAYMENTS = ("/api/creditcontrol/accounts/{creditAccountId}/invoices/{invoiceId}/payments", "post")
STATEMENTS = ("/api/creditcontrol/accounts/{creditAccountId}/statements", "get")
ACCOUNT_INVOICES = ("/api/creditcontrol/accounts/{creditAccountId}/invoices", "get")
ORIGINS = ["Credit", "Invoice", "Payment", "Statement", "Cancellation", "Reopen", "Refund"]


def _routes(app: Flask) -> dict[tuple[str, str], object]:
    """(OpenAPI path, method) -> view function, for every route of this blueprint."""
    routes = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(f"{bp.name}."):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method.lower() in METHODS:
                routes[(path, method.lower())] = app.view_functions[rule.endpoint]
    return routes


def _components(doc: dict) -> None:
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = {
        "type": "object",
        "required": ["error"],
        **EXT,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "Stable machine-readable code."},
                    "message": {"type": "string", "description": "For people."},
                    "field": {
                        "type": "string",
                        "nullable": True,
                        "description": "The input the error concerns, when there is one.",
                    },
                },
            }
        },
    }
    components["responses"] = {
        name: {
            "description": text,
            **EXT,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for name, text in ERRORS.values()
    }
    components.setdefault("parameters", {})["Idempotency-Key"] = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        **EXT,
        "description": "Any unique string (≤ 200 characters): a retry with the same key and "
        "request returns the first response instead of running again.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    }
    schemes = components.setdefault("securitySchemes", {})
    if "VtexIdclientAutCookie" in schemes:
        schemes["VtexIdclientAutCookie"]["description"] += " Not accepted by this portal."
    doc["security"] = [{"appKey": [], "appToken": []}]


def _extend_operation(key: tuple[str, str], op: dict, view) -> None:
    method = key[1]
    scope = getattr(view, "required_scope", None)
    idempotent = getattr(view, "idempotent", False)
    if scope:
        op["x-portal-scope"] = scope
        op["description"] = f"**API key scope:** `{scope}`\n\n" + op.get("description", "")
    codes = ["400", "401", "403", "404"] + (["409"] if method != "get" else [])
    if idempotent:
        codes.append("422")
        op.setdefault("parameters", []).append({"$ref": "#/components/parameters/Idempotency-Key"})
    for code in codes:
        op["responses"].setdefault(code, {"$ref": f"#/components/responses/{ERRORS[code][0]}"})
    op.setdefault("parameters", []).extend(copy.deepcopy(EXTRA_PARAMETERS.get(key, [])))
    if key in EXTRA_PROPERTIES:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        schema["properties"].update(copy.deepcopy(EXTRA_PROPERTIES[key]))
    if key == PAYMENTS:
        op["requestBody"] = {
            "required": False,
            **EXT,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "value": _number("Amount paid; omit to pay all that remains.")
                        },
                    }
                }
            },
        }
    if key == STATEMENTS:
        _document_statement(op["responses"]["200"]["content"]["application/json"]["schema"])
    if key == ACCOUNT_INVOICES:
        summary = op["responses"]["200"]["content"]["application/json"]["schema"]["properties"][
            "summary"
        ]["properties"]
        for name in ("totalPaid", "totalCancelled"):  # amounts: the contract's integer is a slip
            summary[name].update({"type": "number", **EXT})
    _dates(key, op)
    for code, response in op["responses"].items():
        if code.startswith("2"):
            body = response.get("content", {}).get("application/json", {})
            _invoice_additions(body.get("schema", {}))


EFFECTIVE_LINK = {
    "type": "string",
    "nullable": True,
    "description": "The link the customer pays this invoice with: `paymentLink` when the "
    "invoice has one, else the store's payment link template filled in for this invoice "
    "(e.g. `https://pay.example.com/{friendlyId}?amount={amountDue}`, the amount due today "
    "with late fee and interest); null for a paid or cancelled invoice, or without either. "
    "`paymentLink` stays the invoice's own link.",
    **EXT,
}


def _invoice_additions(node) -> None:
    """Every invoice in a response schema (at any depth) gets `effectivePaymentLink`."""
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict) and {"friendlyId", "installment"} <= set(properties):
            properties.setdefault("effectivePaymentLink", copy.deepcopy(EFFECTIVE_LINK))
        for value in node.values():
            _invoice_additions(value)
    elif isinstance(node, list):
        for value in node:
            _invoice_additions(value)


STATEMENT_VALUE = (
    "As VTEX reports it: a credit limit change is a `Credit` entry of Δlimit × (1 + "
    "tolerance) (10,000 → 9,000 at 10 % is −1100); a tolerance change is a `Credit` entry of "
    "Δtolerance × limit (10 % → 0 % on 5,000 is −500); an invoice issued is `Invoice`, "
    "−value; a payment `Payment`, +value. The opening limit is not listed."
)
STATEMENT_BALANCES = {
    "currentBalance": "The account's `balance` at the end of the interval (now without `to`).",
    "previousBalance": "The account's `balance` at the start of the interval (0 without `from`).",
    "intervalBalance": "The sum of the listed values.",
}


def _document_statement(schema: dict) -> None:
    """What the statement's values and balances mean (VTEX's integration guide)."""
    entry = schema["properties"]["statements"]["items"]["properties"]
    entry["origin"]["enum"] = ORIGINS
    entry["origin"].update(EXT)
    for node, text in [
        (entry["value"], STATEMENT_VALUE),
        *((schema["properties"][name], text) for name, text in STATEMENT_BALANCES.items()),
    ]:
        node["description"] = f"{node.get('description', '')} {text}".strip()
        node.update(EXT)


def _date_input(node: dict, rule: str) -> None:
    """A date parameter or body field: it takes a day or a date-time; `rule` says which day."""
    node["description"] = f"{node.get('description', '')} {rule}".strip()
    node.update(EXT)
    (node["schema"] if "in" in node else node)["anyOf"] = copy.deepcopy(DAY_OR_TIME)


def _date_outputs(schema: dict) -> None:
    """The response's date fields, at any depth, are date-times (`format: date-time`)."""
    for name, prop in schema.get("properties", {}).items():
        if name in DAY_OUTPUTS + TIME_OUTPUTS and prop.get("type") == "string":
            prop.update({"format": "date-time", **EXT})
            if name in DAY_OUTPUTS:
                prop["description"] = f"{prop.get('description', '')} {DUE_RULE}".strip()
        _date_outputs(prop)
    if isinstance(schema.get("items"), dict):
        _date_outputs(schema["items"])


def _dates(key: tuple[str, str], op: dict) -> None:
    """Say which date forms an operation reads (filters, expirationDate) and writes."""
    instants = INSTANT_INPUTS + (("from", "to") if key == STATEMENTS else ())
    for param in op.get("parameters", []):
        if param.get("name") in DAY_INPUTS:
            _date_input(param, DAY_RULE + IN_QUERY)
        elif param.get("name") in instants:
            _date_input(param, INSTANT_RULE + IN_QUERY)
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    field = body.get("schema", {}).get("properties", {}).get("expirationDate")
    if field is not None:
        _date_input(field, DAY_RULE)
    for code, response in op["responses"].items():
        if code.startswith("2"):
            _date_outputs(response.get("content", {}).get("application/json", {}).get("schema", {}))


def build_document(app: Flask) -> dict:
    """The contract with the portal's additions, checked against the registered routes."""
    doc = json.loads(BASE.read_text(encoding="utf-8"))
    doc["servers"] = [{"url": "/", "description": "This portal.", **EXT}]
    _components(doc)
    routes = _routes(app)
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            if method not in METHODS:
                continue
            view = routes.get((path, method))
            if view is None:
                raise LookupError(f"no route serves {method.upper()} {path}")
            _extend_operation((path, method), op, view)
            add_examples(path, method, op)  # the VTEX guides' examples
    from . import files, scheduled

    doc["paths"].update(files.document_paths())
    doc["paths"].update(scheduled.document_paths())
    doc["components"]["schemas"]["ImportBatch"] = files.IMPORT_BATCH
    _document_webhooks(doc)
    return doc


def served_document() -> dict:
    """The document for the running app (built once)."""
    cache = current_app.extensions.setdefault("api", {})
    if "openapi" not in cache:
        cache["openapi"] = build_document(current_app)
    return cache["openapi"]


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3 document of this API."""
    return reply(served_document())


def _first_paragraph(markdown: str) -> str:
    text = markdown.split("\n## ")[0].strip().split("\r\n\r\n")[0].split("\n\n")[0]
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    return re.sub(r"[>*_]|\u2139\ufe0f|\u26a0\ufe0f", "", text).strip()


def _resolve(doc: dict, item: dict) -> dict:
    while "$ref" in item:
        node = doc
        for part in item["$ref"].lstrip("#/").split("/"):
            node = node[part]
        item = node
    return item


def _operations(doc: dict) -> list[dict]:
    rows = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            if method not in METHODS:
                continue
            params = [_resolve(doc, p) for p in op.get("parameters", [])]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            schema = body.get("schema", {})
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "tag": (op.get("tags") or ["Other"])[0],
                    "scope": op.get("x-portal-scope"),
                    "anchor": op.get("operationId") or f"{method}-{path}",
                    "text": _first_paragraph(op.get("description", "").split("\n\n", 1)[-1]),
                    "parameters": [
                        p for p in params if p["name"] not in ("Content-Type", "Accept")
                    ],
                    "body": [
                        {
                            "name": n,
                            "type": s.get("type", "object"),
                            "required": n in schema.get("required", []),
                            "extension": s.get("x-portal-extension", False),
                            "description": _first_paragraph(s.get("description", "")),
                        }
                        for n, s in schema.get("properties", {}).items()
                    ],
                    "responses": sorted(op.get("responses", {})),
                }
            )
    return rows


@bp.get("/docs")
def docs():
    """A readable page of the operations for integrators."""
    doc = served_document()
    operations = _operations(doc)
    tags = list(dict.fromkeys(op["tag"] for op in operations))
    # Rendered straight from the Jinja environment: a standalone public page needs none of
    # the app's context processors (no logged-in user, no navigation).
    template = current_app.jinja_env.get_template("api/docs.html")
    html = template.render(info=doc["info"], operations=operations, tags=tags)
    return Response(html, mimetype="text/html")


# --- webhooks (portal/webhooks.py) -------------------------------------------------------
# The document is OpenAPI 3.0, which has no `webhooks` section (3.1 has): the events are
# described under `x-webhooks`, in 3.1's shape: one POST operation per event type.

ACCOUNT_GET = ("/api/creditcontrol/accounts/{creditAccountId}", "get")
INVOICE_GET = ("/api/creditcontrol/accounts/{creditAccountId}/invoices/{invoiceId}", "get")
WEBHOOK_EVENTS = {
    "invoice.created": ("Invoice", "An invoice was issued (a purchase was settled)."),
    "invoice.due_soon": (
        "Invoice",
        "An open invoice is due within `WEBHOOKS_DUE_SOON_DAYS` days (told once per due date).",
    ),
    "invoice.overdue": (
        "Invoice",
        "An open invoice is overdue: the day after its due date, in the store's timezone "
        "(told once per due date).",
    ),
    "invoice.paid": ("Invoice", "An invoice was paid in full."),
    "invoice.cancelled": ("Invoice", "An invoice was cancelled."),
    "account.limit_changed": ("Account", "The account's credit limit changed."),
    "account.on_hold": (
        "Account",
        "The account went on hold: an invoice is overdue past the store's threshold "
        "(`overdue_hold_days`).",
    ),
    "account.hold_lifted": ("Account", "An owner lifted the account's hold."),
}
WEBHOOK_HEADERS = {
    "webhook-id": "The event id (`msg_…`): the same on every retry; use it to ignore duplicates.",
    "webhook-timestamp": "Seconds since 1970-01-01 UTC when this try was signed.",
    "webhook-signature": "`v1,` + base64 of HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}."
    "{body}`, keyed with the base64-decoded part of the endpoint's secret after `whsec_` "
    "(Standard Webhooks).",
}
WEBHOOK_RECEIVED = (
    "Any 2xx answer means received. Anything else, or no answer within WEBHOOKS_TIMEOUT "
    "seconds, is tried again later with exponential backoff; redirects are not followed."
)


def _response_schema(doc: dict, key: tuple[str, str]) -> dict:
    path, method = key
    content = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return copy.deepcopy(content["schema"])


def _webhook_operation(name: str, target: str, text: str) -> dict:
    return {
        "summary": name,
        "description": f"{text} `data` is the {target.lower()} as the API returns it.",
        "operationId": f"webhook-{name.replace('.', '-')}",
        "tags": ["Webhooks"],
        "parameters": [
            {
                "name": header,
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": description,
            }
            for header, description in WEBHOOK_HEADERS.items()
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/Webhook.{name}"}}
            },
        },
        "responses": {"200": {"description": WEBHOOK_RECEIVED}},
    }


def _document_webhooks(doc: dict) -> None:
    """Account and Invoice as components (the API's own representations, as its GET
    operations serve them) and one `x-webhooks` entry per event, its payload
    `{type, timestamp, data}` referring to them."""
    schemas = doc["components"]["schemas"]
    schemas["Account"] = {**_response_schema(doc, ACCOUNT_GET), **EXT}
    invoice = {**_response_schema(doc, INVOICE_GET), **EXT}
    invoice["properties"].setdefault("remaining", _number("What is still to be paid."))
    invoice["properties"].setdefault(
        "postponements", {"type": "integer", "description": "Times postponed.", **EXT}
    )
    schemas["Invoice"] = invoice
    hooks = {}
    for name, (target, text) in WEBHOOK_EVENTS.items():
        schemas[f"Webhook.{name}"] = {
            "type": "object",
            "required": ["type", "timestamp", "data"],
            **EXT,
            "properties": {
                "type": {"type": "string", "enum": [name]},
                "timestamp": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When it happened (UTC).",
                },
                "data": {"$ref": f"#/components/schemas/{target}"},
            },
        }
        hooks[name] = {"post": _webhook_operation(name, target, text)}
    doc["x-webhooks"] = hooks
