"""CSV imports and exports for integrators (extensions to the contract).

The same flow as the back-office: POST a file to get its dry run (counts and rejected
rows), then apply it; GET an export with the search's filters. Everything goes through
portal/imports.py and portal/exports.py, so the rules and the CSV formats are the same.
"""

from __future__ import annotations

from flask import Response, current_app, g, request
from flask_babel import gettext as _

from .. import exports, listing, uploads
from ..credit.errors import InvalidInput
from ..credit.permissions import Grant
from ..extensions import db
from . import bp
from .auth import actor, require_scope
from .errors import ApiError
from .idempotency import idempotent
from .payload import body, reply

KINDS = {
    "accounts": (listing.ACCOUNTS, "accounts:read", "accounts:write"),
    "invoices": (listing.INVOICES, "invoices:read", "invoices:pay"),
}


def _batch_json(batch, plan) -> dict:
    return {
        "id": batch.id,
        "kind": batch.kind,
        "fileName": batch.filename,
        "status": batch.status,
        "uploadedBy": batch.uploaded_by,
        "createdAt": batch.created_at.isoformat(),
        "counts": plan.counts if batch.status != "applied" else batch.counts,
        "rejected": [
            {"row": r.row, "column": column, "reason": reason}
            for r in plan.rejected
            for column, reason in r.errors
        ],
    }


def _grant() -> Grant:
    """An import may change only what this key could change directly."""
    return Grant.for_scopes(g.api_key.scope_set)


def _upload(kind: str):
    content = request.files["file"].read() if "file" in request.files else request.get_data()
    name = request.files["file"].filename if "file" in request.files else "api.csv"
    batch, plan = uploads.preview_upload(
        db.session,
        kind,
        name or "api.csv",
        content,
        actor(),
        grant=_grant(),
        max_bytes=current_app.config["IMPORT_MAX_BYTES"],
    )
    return reply(_batch_json(batch, plan), status=201)


@bp.post("/portal/imports/accounts")
@require_scope("accounts:write")
@idempotent
def import_accounts():
    """Upload an accounts CSV (raw body or multipart `file`); answers its dry run."""
    return _upload("accounts")


@bp.post("/portal/imports/invoices")
@require_scope("invoices:pay")
@idempotent
def import_invoices():
    """Upload an invoices CSV (raw body or multipart `file`); answers its dry run."""
    return _upload("invoices")


def _check_scope_for(batch_kind: str, write: bool) -> None:
    scope = KINDS[batch_kind][2 if write else 1]
    if scope not in g.api_key.scope_set:
        raise ApiError("forbidden", f"This API key lacks the {scope} scope.", status=403)


@bp.get("/portal/imports/<int(max=2147483647):importId>")
@require_scope("accounts:read")
def get_import(importId):
    """An upload's status and its dry run against the data as it is now."""
    batch, plan, _ = uploads.load_batch(db.session, importId, _grant())
    _check_scope_for(batch.kind, write=False)
    return reply(_batch_json(batch, plan))


@bp.post("/portal/imports/<int(max=2147483647):importId>/apply")
@require_scope("accounts:read")
@idempotent
def apply_import(importId):
    """Apply an upload: all-or-nothing, or only the valid rows with {"onlyValid": true}."""
    _check_scope_for(uploads.get_batch(db.session, importId).kind, write=True)
    only_valid = body(required=False).get("onlyValid", False)
    if not isinstance(only_valid, bool):
        raise InvalidInput(
            "invalid_input", _("%(field)s must be true or false.", field="onlyValid"), "onlyValid"
        )
    batch, plan = uploads.apply_batch(
        db.session, importId, actor(), only_valid=only_valid, grant=_grant()
    )
    return reply(_batch_json(batch, plan))


def _export(kind: str) -> Response:
    query = listing.parse(KINDS[kind][0], request.args)
    excel = request.args.get("format") == "excel"
    return exports.csv_response(db.session, KINDS[kind][0], query, f"{kind}.csv", excel=excel)


@bp.get("/portal/exports/accounts.csv")
@require_scope("accounts:read")
def export_accounts():
    """The accounts matching the search's filters, as CSV (format=excel for Excel)."""
    return _export("accounts")


@bp.get("/portal/exports/invoices.csv")
@require_scope("invoices:read")
def export_invoices():
    """The invoices matching the search's filters, as CSV (format=excel for Excel)."""
    return _export("invoices")


def _op(
    summary: str,
    scope: str,
    *,
    request_body: dict | None = None,
    csv: bool = False,
    params: list | None = None,
) -> dict:
    ok = (
        {"text/csv": {"schema": {"type": "string"}}}
        if csv
        else {"application/json": {"schema": {"$ref": "#/components/schemas/ImportBatch"}}}
    )
    op = {
        "summary": summary,
        "tags": ["Imports and exports"],
        "x-portal-extension": True,
        "x-portal-scope": scope,
        "parameters": params or [],
        "responses": {
            "201" if request_body and not params else "200": {"description": "OK", "content": ok}
        },
    }
    errors = [
        ("400", "BadRequest"),
        ("401", "Unauthorized"),
        ("403", "Forbidden"),
        ("404", "NotFound"),
        ("409", "Conflict"),
    ]
    if request_body:  # POSTs accept an Idempotency-Key
        errors.append(("422", "IdempotencyKeyReused"))
        op["parameters"].append({"$ref": "#/components/parameters/Idempotency-Key"})
    for code, name in errors:
        op["responses"][code] = {"$ref": f"#/components/responses/{name}"}
    if request_body:
        op["requestBody"] = request_body
    return op


CSV_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
    },
}
IMPORT_ID = [
    {
        "name": "importId",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
    }
]
EXPORT_PARAMS = [
    {
        "name": "format",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["comma", "excel"]},
    }
]
IMPORT_BATCH = {
    "type": "object",
    "x-portal-extension": True,
    "required": ["id", "kind", "status", "counts", "rejected"],
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["accounts", "invoices"]},
        "fileName": {"type": "string"},
        "status": {"type": "string"},
        "uploadedBy": {"type": "string"},
        "createdAt": {"type": "string"},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "rejected": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "row": {"type": "integer"},
                    "column": {"type": "string"},
                    "reason": {"type": "string"},
                },
            },
        },
    },
}


def document_paths() -> dict:
    """The OpenAPI paths of this module, for the served document."""
    return {
        "/api/portal/imports/accounts": {
            "post": _op(
                "Upload an accounts CSV and get its dry run",
                "accounts:write",
                request_body=CSV_BODY,
            )
        },
        "/api/portal/imports/invoices": {
            "post": _op(
                "Upload an invoices CSV and get its dry run", "invoices:pay", request_body=CSV_BODY
            )
        },
        "/api/portal/imports/{importId}": {
            "get": _op("An upload and its dry run now", "accounts:read", params=IMPORT_ID)
        },
        "/api/portal/imports/{importId}/apply": {
            "post": _op(
                "Apply an upload",
                "accounts:write",
                params=IMPORT_ID,
                request_body={
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"onlyValid": {"type": "boolean"}},
                            }
                        }
                    },
                },
            )
        },
        "/api/portal/exports/accounts.csv": {
            "get": _op(
                "Export the accounts matching the filters",
                "accounts:read",
                csv=True,
                params=EXPORT_PARAMS,
            )
        },
        "/api/portal/exports/invoices.csv": {
            "get": _op(
                "Export the invoices matching the filters",
                "invoices:read",
                csv=True,
                params=EXPORT_PARAMS,
            )
        },
    }
