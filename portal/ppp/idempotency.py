"""Run an operation once per external request id; retries get the first answer back.

The record (unique on client + key) is written in the same transaction as the credit
operation, so either both are committed or neither is: a twin arriving at the same
moment waits on the unique key (or on SQLite's write lock), then finds the record and
replays it. Refusals are not kept; a retry of a refused request is evaluated again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..credit.ledger import write_transaction
from ..models import IdempotencyRecord
from .payload import PppError, dumps, loads


def fingerprint(*parts) -> str:
    """A digest of what a request asks for, to tell a retry from a reused id."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def kept(session: Session, client: str, key: str) -> IdempotencyRecord | None:
    """The record kept for (client, key), if any."""
    return session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.client == client, IdempotencyRecord.key == key
        )
    )


def _replay(record: IdempotencyRecord, digest: str) -> dict:
    if record.request_hash != digest:
        raise PppError(
            "request_id_reused", "This requestId was already used for a different request.", 409
        )
    return loads(record.response_body)


def once(
    session: Session, client: str, key: str, digest: str, operation: Callable[[], dict]
) -> dict:
    """The result of `operation()`, run at most once for (client, key)."""
    record = kept(session, client, key)
    if record is not None:
        return _replay(record, digest)
    try:
        with write_transaction(session):
            record = IdempotencyRecord(client=client, key=key, request_hash=digest)
            session.add(record)
            session.flush()
            result = operation()
            record.status_code = 200
            record.response_body = dumps(result)
    except IntegrityError:
        record = kept(session, client, key)
        if record is None:
            raise
        return _replay(record, digest)
    return result
