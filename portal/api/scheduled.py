"""Scheduled limit changes (an extension to the contract): a new credit limit, and
optionally a tolerance, applied by the jobs worker at the start of a later day in the
store's timezone, through the same rule as `PUT …/creditlimit`.

Handlers are thin: the input is checked strictly here (types, unknown fields) with the
API's field names, and the rules (the day after today, one pending change a day, closed
accounts, who may) live in portal/credit/scheduled.py.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

from flask import g

from .. import credit
from ..credit.errors import CreditError
from ..credit.money import MAX_AMOUNT, parse_non_negative, parse_rate
from ..credit.permissions import Grant
from ..credit.scheduled import MAX_DAYS_AHEAD
from ..credit.validation import require_text
from ..extensions import db
from ..models import ScheduledLimitChange, utcnow
from . import bp
from .auth import actor, require_scope
from .errors import ApiError
from .idempotency import idempotent
from .payload import body, parse_date, reply
from .serializers import due_moment, money, rate, store_zone, timestamp

PATH = "/portal/accounts/<creditAccountId>/scheduled-limits"
FIELDS = ("value", "tolerance", "effectiveDate", "reason")
# The domain's names of the inputs -> this operation's names, for a refusal's `field`.
API_FIELDS = {"credit_limit": "value", "effective_on": "effectiveDate"}


def _change_json(change: ScheduledLimitChange, zone) -> dict:
    return {
        "id": change.id,
        "accountId": change.account_id,
        "value": money(change.credit_limit),
        "tolerance": rate(change.tolerance) if change.tolerance is not None else None,
        "effectiveDate": due_moment(change.effective_on, zone),
        "reason": change.reason,
        "status": change.status,
        "scheduledBy": change.scheduled_by,
        "createdAt": timestamp(change.created_at),
        "resolvedAt": timestamp(change.resolved_at),
        "error": change.error or None,
    }


def _zone():
    return store_zone(credit.get_settings(db.session))


def _number(data: dict, name: str, *, required: bool) -> Decimal | int | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ApiError("invalid_amount", f"{name} must be a number.", name, status=400)
    return value


def _text(data: dict, name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ApiError("invalid_input", f"{name} must be a string.", name, status=400)
    return value


def _api_fields(error: CreditError) -> CreditError:
    error.field = API_FIELDS.get(error.field, error.field)
    return error


@bp.post(PATH)
@require_scope("accounts:write")
@idempotent
def schedule_limit(creditAccountId):
    """Schedule a credit limit (and tolerance) for a later day; answers the change (201)."""
    data = body()
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ApiError(
            "invalid_input",
            f"Unknown field {unknown[0]}; expected {', '.join(FIELDS)}.",
            unknown[0],
            status=400,
        )
    value = parse_non_negative(_number(data, "value", required=True), "value")
    tolerance = _number(data, "tolerance", required=False)
    if tolerance is not None:
        tolerance = parse_rate(tolerance, "tolerance")
    if data.get("effectiveDate") is None:
        raise ApiError("invalid_date", "effectiveDate is required.", "effectiveDate", status=400)
    zone = _zone()
    day = parse_date(_text(data, "effectiveDate"), "effectiveDate", zone)
    reason = require_text(_text(data, "reason"), "reason")
    try:
        change = credit.schedule_limit(
            db.session,
            creditAccountId,
            value,
            effective_on=day,
            reason=reason,
            actor=actor(),
            tolerance=tolerance,
            grant=Grant.for_scopes(g.api_key.scope_set),
        )
    except CreditError as error:
        raise _api_fields(error) from None
    return reply(_change_json(change, zone), status=201)


@bp.get(PATH)
@require_scope("accounts:read")
def list_scheduled_limits(creditAccountId):
    """The account's scheduled changes, pending and past, newest first."""
    changes = credit.scheduled_changes(db.session, creditAccountId)
    zone = _zone()
    return reply(
        {"data": [_change_json(c, zone) for c in changes], "summary": {"count": len(changes)}}
    )


@bp.delete(f"{PATH}/<int(max=2147483647):changeId>")
@require_scope("accounts:write")
def cancel_scheduled_limit(creditAccountId, changeId):
    """Cancel a pending change (409 once it is applied, cancelled or failed)."""
    change = credit.cancel_scheduled(
        db.session,
        creditAccountId,
        changeId,
        actor=actor(),
        grant=Grant.for_scopes(g.api_key.scope_set),
    )
    return reply(_change_json(change, _zone()))


# --- the OpenAPI document -------------------------------------------------------------------

EXT = {"x-portal-extension": True}
TAG = "Scheduled limit changes"
DAY = (
    "The day the change takes effect: at the start of that day in the store's timezone "
    "(store settings, e.g. America/Sao_Paulo), when the jobs worker applies it."
)
SCHEDULED_CHANGE = {
    "type": "object",
    **EXT,
    "required": [
        "id",
        "accountId",
        "value",
        "tolerance",
        "effectiveDate",
        "reason",
        "status",
        "scheduledBy",
        "createdAt",
        "resolvedAt",
        "error",
    ],
    "properties": {
        "id": {"type": "integer"},
        "accountId": {"type": "string"},
        "value": {"type": "number", "description": "The new credit limit."},
        "tolerance": {
            "type": "number",
            "nullable": True,
            "description": "The new tolerance rate (0.1 = 10 %); null keeps the tolerance.",
        },
        "effectiveDate": {
            "type": "string",
            "format": "date-time",
            "description": f"{DAY} Written as that instant in UTC (2024-04-02 in "
            "America/Sao_Paulo is `2024-04-02T03:00:00Z`).",
        },
        "reason": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "applied", "cancelled", "failed"]},
        "scheduledBy": {
            "type": "string",
            "description": "Who scheduled it; the change is applied in their name.",
        },
        "createdAt": {"type": "string", "format": "date-time"},
        "resolvedAt": {
            "type": "string",
            "format": "date-time",
            "nullable": True,
            "description": "When it was applied, cancelled or marked failed.",
        },
        "error": {
            "type": "string",
            "nullable": True,
            "description": "Why a failed change was not applied (e.g. `account_closed: …`).",
        },
    },
}
CHANGE_LIST = {
    "type": "object",
    **EXT,
    "required": ["data", "summary"],
    "properties": {
        "data": {"type": "array", "items": SCHEDULED_CHANGE},
        "summary": {
            "type": "object",
            "required": ["count"],
            "properties": {"count": {"type": "integer"}},
        },
    },
}
SCHEDULE_BODY = {
    "required": True,
    **EXT,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["value", "effectiveDate", "reason"],
                "additionalProperties": False,
                "properties": {
                    "value": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": float(MAX_AMOUNT),
                        "description": "The new credit limit (at most two decimals).",
                        **EXT,
                    },
                    "tolerance": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 10,
                        "nullable": True,
                        "description": "The new tolerance rate (0.1 = 10 %, at most four "
                        "decimals); omit or null to keep the tolerance.",
                        **EXT,
                    },
                    "effectiveDate": {
                        "type": "string",
                        "anyOf": [
                            {"type": "string", "format": "date"},
                            {"type": "string", "format": "date-time"},
                        ],
                        "description": f"{DAY} After today and at most "
                        f"{MAX_DAYS_AHEAD} days ahead; for today, use "
                        "`PUT …/creditlimit`. Accepts `YYYY-MM-DD` or an ISO 8601 "
                        "date-time, which stands for the day it falls on in the store's "
                        "timezone.",
                        **EXT,
                    },
                    "reason": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 500,
                        "description": "Why (kept in the audit trail and the statement).",
                        **EXT,
                    },
                },
            }
        }
    },
}
ACCOUNT_ID = {
    "name": "creditAccountId",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
}
CHANGE_ID = {
    "name": "changeId",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
}


def _op(summary: str, description: str, scope: str, ok: str, schema: dict, *, params, codes):
    op = {
        "summary": summary,
        "description": f"**API key scope:** `{scope}`\n\n{description}",
        "tags": [TAG],
        **EXT,
        "x-portal-scope": scope,
        "parameters": list(params),
        "responses": {
            ok: {
                "description": "OK" if ok == "200" else "Created",
                "content": {"application/json": {"schema": schema}},
            }
        },
    }
    names = {"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound"}
    names |= {"409": "Conflict", "422": "IdempotencyKeyReused"}
    for code in codes:
        op["responses"][code] = {"$ref": f"#/components/responses/{names[code]}"}
    return op


def document_paths() -> dict:
    """The OpenAPI paths of this module, for the served document."""
    base = "/api/portal/accounts/{creditAccountId}/scheduled-limits"
    listed = _op(
        "List the scheduled limit changes of an account",
        "Pending and past (applied, cancelled, failed) changes, newest first.",
        "accounts:read",
        "200",
        CHANGE_LIST,
        params=[ACCOUNT_ID],
        codes=("400", "401", "403", "404"),
    )
    scheduled = _op(
        "Schedule a credit limit change",
        "The worker applies it at the start of `effectiveDate` in the store's timezone, "
        "through the same rule as `PUT …/creditlimit` (and `…/tolerance` when `tolerance` "
        "is sent), in the name of whoever scheduled it. One pending change per day; refused "
        "(409 `account_closed`) on a closed account. A change the rules refuse on the day "
        "(the account was closed meanwhile) ends `failed` with its `error`.",
        "accounts:write",
        "201",
        SCHEDULED_CHANGE,
        params=[ACCOUNT_ID, {"$ref": "#/components/parameters/Idempotency-Key"}],
        codes=("400", "401", "403", "404", "409", "422"),
    )
    scheduled["requestBody"] = copy.deepcopy(SCHEDULE_BODY)
    scheduled["requestBody"]["content"]["application/json"]["example"] = {
        "value": 15000,
        "tolerance": 0.1,
        # a day that is valid when the document is built, so the example can be sent as is
        "effectiveDate": (utcnow().date() + timedelta(days=30)).isoformat(),
        "reason": "Seasonal increase",
    }
    cancelled = _op(
        "Cancel a scheduled credit limit change",
        "Only a pending change can be cancelled (409 `invalid_transition` otherwise).",
        "accounts:write",
        "200",
        SCHEDULED_CHANGE,
        params=[ACCOUNT_ID, CHANGE_ID],
        codes=("400", "401", "403", "404", "409"),
    )
    return {base: {"get": listed, "post": scheduled}, f"{base}/{{changeId}}": {"delete": cancelled}}
