"""Idempotency-Key: a keyed request runs once per API key; retries get the first answer.

The record is inserted first, in a transaction of its own: the unique constraint
(client, key) picks one winner even when retries arrive at the same moment. The winner
runs the operation and stores its response (4xx refusals too, so a retry is told the
same thing); the others replay it, or get 409 while it is still running, or 422 if they
reuse the key for a different request. A 5xx releases the key for a later retry.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from functools import wraps

from flask import Response, g, make_response, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..credit.ledger import write_transaction
from ..extensions import db
from ..models import IdempotencyRecord
from .errors import ApiError, refusal_response
from .payload import parse_json

HEADER = "Idempotency-Key"
MAX_KEY = 200


def _canonical(value):
    """The JSON value with numbers spelled one way: 100, 100.0 and 1e2 hash alike."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return {"#number": format(Decimal(value).normalize(), "f")}
    return value


def request_hash() -> str:
    """A digest of what the request asks for: method, path, query and JSON body."""
    raw = request.get_data(cache=True)
    try:
        content = json.dumps(_canonical(parse_json(raw)), sort_keys=True) if raw.strip() else ""
    except ApiError:
        content = raw.hex()
    query = sorted(request.args.items(multi=True))
    text = f"{request.method} {request.path} {query}\n{content}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY or not all(33 <= ord(c) < 127 for c in key):
        raise ApiError(
            "invalid_idempotency_key",
            f"{HEADER} must be 1–{MAX_KEY} visible ASCII characters.",
            HEADER,
            status=400,
        )
    return key


def _replay(record: IdempotencyRecord) -> Response:
    return Response(
        record.response_body or "",
        status=record.status_code,
        mimetype="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


def claim(client: str, key: str, digest: str) -> tuple[int | None, Response | None]:
    """Insert the record (we run the request) or return the stored response to replay."""
    session = db.session
    record = IdempotencyRecord(client=client, key=key, request_hash=digest)
    try:
        with write_transaction(session):  # committed on its own, before the operation runs
            session.add(record)
            session.flush()
            record_id = record.id
        return record_id, None
    except IntegrityError:
        pass
    existing = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.client == client, IdempotencyRecord.key == key
        )
    )
    if existing is not None and existing.request_hash != digest:
        raise ApiError(
            "idempotency_key_reused",
            f"This {HEADER} was already used for a different request.",
            HEADER,
            status=422,
        )
    if existing is None or existing.status_code is None:
        raise ApiError(
            "request_in_progress",
            f"A request with this {HEADER} is still being processed; retry later.",
            HEADER,
            status=409,
        )
    return None, _replay(existing)


def store(record_id: int, response: Response) -> None:
    """Keep the response so that retries replay it."""
    with write_transaction(db.session):
        db.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)
            .values(status_code=response.status_code, response_body=response.get_data(as_text=True))
        )


def release(record_id: int) -> None:
    """Forget an unfinished record, so that a retry runs the request again."""
    db.session.rollback()
    with write_transaction(db.session):
        db.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.id == record_id, IdempotencyRecord.status_code.is_(None)
            )
        )


def current_key() -> str | None:
    """The Idempotency-Key of the current request, if it sent one."""
    key = request.headers.get(HEADER)
    return _check_key(key) if key is not None else None


def idempotent(view=None, *, implicit_key=None):
    """Make a view idempotent per (API key, Idempotency-Key).

    `implicit_key(view_args)` names a key for requests sent without the header (a PUT
    whose path carries the client's own id).
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            key = current_key()
            if key is None and implicit_key is not None:
                key = _check_key(implicit_key(kwargs))
            if key is None:
                return view(*args, **kwargs)
            record_id, replay = claim(g.api_key.key, key, request_hash())
            if replay is not None:
                return replay
            try:
                try:
                    response = make_response(view(*args, **kwargs))
                except Exception as exc:
                    response = refusal_response(exc)
                    if response is None:
                        raise
            except BaseException:
                release(record_id)
                raise
            if response.status_code >= 500:
                release(record_id)
            else:
                store(record_id, response)
            return response

        wrapped.idempotent = True
        return wrapped

    return decorator(view) if view is not None else decorator
