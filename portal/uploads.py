"""The import flow: upload → preview (dry run) → apply, and the history of uploads.

Reading a file is `portal/imports.py`; what its rows mean is `portal/credit/bulk.py`. This
module keeps the uploads: each file is stored once (by its SHA-256) however many times it
is uploaded, each upload is a batch, and a batch is applied once: the apply claims it with
one conditional UPDATE (previewed → applying) inside the transaction that writes its rows,
so of two requests (a double click, two API calls) exactly one applies and the other is
told it already was. Whoever applies a file may only make the changes they could make
directly (`grant`). Each person may keep a limited number of uploads waiting.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from . import imports
from .credit import bulk
from .credit.errors import Conflict, InvalidInput, NotFound
from .credit.ledger import write_transaction
from .credit.permissions import EVERYTHING, Grant
from .models import ImportBatch, ImportFile, utcnow

MAX_FILENAME = 255
_CLEANED: OrderedDict = OrderedDict()  # (sha256, kind) -> (table, cleaned rows)


def _cleaned(sha: str, content: bytes, kind: str, max_bytes: int):
    """Read and clean a file once per process: the preview and the apply share the work."""
    key = (sha, kind)
    if key not in _CLEANED:
        table = imports.read_table(content, kind, max_bytes)
        _CLEANED[key] = (table, bulk.clean(kind, table.rows))
        while len(_CLEANED) > 2:
            _CLEANED.popitem(last=False)
    return _CLEANED[key]


def _file_name(name: str) -> str:
    name = str(name or "").strip() or "upload.csv"
    if len(name) > MAX_FILENAME:
        raise InvalidInput(
            "invalid_file_name",
            _("The file name is longer than %(n)s characters.", n=MAX_FILENAME),
            "file",
        )
    return name


def _check_room(session: Session, actor: str, size: int, limits: tuple[int, int] | None) -> None:
    """Refuse an upload when its author already keeps too many waiting."""
    config = current_app.config
    max_count, max_bytes = limits or (
        config["IMPORT_MAX_PENDING"],
        config["IMPORT_MAX_PENDING_BYTES"],
    )
    count, stored = session.execute(
        select(func.count(), func.coalesce(func.sum(ImportBatch.size), 0)).where(
            ImportBatch.uploaded_by == actor, ImportBatch.status == "previewed"
        )
    ).one()
    if count >= max_count or int(stored) + size > max_bytes:
        raise Conflict(
            "too_many_uploads",
            _(
                "You have %(count)s uploads waiting to be applied (%(mb)s MB): apply or "
                "discard some before uploading more.",
                count=count,
                mb=round(int(stored) / 1024**2, 1),
            ),
            "file",
        )


def preview_upload(
    session: Session,
    kind: str,
    filename: str,
    content: bytes,
    actor: str,
    *,
    grant: Grant = EVERYTHING,
    max_bytes: int = imports.MAX_BYTES,
    limits: tuple[int, int] | None = None,
):
    """Keep an uploaded file for applying later and dry-run it; returns (batch, plan).

    A file that cannot be read is refused before anything is stored. `limits` are how many
    uploads (and bytes) one person may keep waiting; by default the app's configuration.
    """
    name = _file_name(filename)
    sha = hashlib.sha256(content).hexdigest()
    _table, cleaned = _cleaned(sha, content, kind, max_bytes)
    with write_transaction(session):
        _check_room(session, actor, len(content), limits)
        if session.get(ImportFile, sha) is None:
            session.add(ImportFile(sha256=sha, size=len(content), content=content))
        batch = ImportBatch(
            kind=kind, filename=name, sha256=sha, size=len(content), uploaded_by=actor
        )
        session.add(batch)
        plan = bulk.classify(session, kind, cleaned, grant)
        batch.counts = plan.counts
    return batch, plan


def _content(session: Session, sha: str) -> bytes:
    return session.scalar(select(ImportFile.content).where(ImportFile.sha256 == sha))


def get_batch(session: Session, batch_id: int) -> ImportBatch:
    """An upload, or NotFound."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound("import_not_found", _("Import %(id)s does not exist.", id=batch_id))
    return batch


def load_batch(session: Session, batch_id: int, grant: Grant = EVERYTHING):
    """An upload with its dry run against the data as it is now: (batch, plan, table rows)."""
    batch = get_batch(session, batch_id)
    if batch.status == "discarded":
        raise Conflict("discarded", _("This upload was discarded."))
    table, cleaned = _cleaned(
        batch.sha256, _content(session, batch.sha256), batch.kind, batch.size + 1
    )
    return batch, bulk.classify(session, batch.kind, cleaned, grant), table.rows


def import_history(session: Session, limit: int = 50) -> list[ImportBatch]:
    """The latest uploads, newest first (the files themselves are not loaded)."""
    return list(session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)))


def apply_batch(
    session: Session,
    batch_id: int,
    actor: str,
    *,
    only_valid: bool = False,
    grant: Grant = EVERYTHING,
):
    """Apply an upload, checked again against the data as it is now; (batch, plan).

    The claim of the batch, its changes and its "applied" mark are one transaction: the
    file is applied once, whole (or only its valid rows), or not at all.
    """
    with write_transaction(session):
        batch = get_batch(session, batch_id)
        claimed = session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch.id, ImportBatch.status == "previewed")
            .values(status="applying")
            .execution_options(synchronize_session=False)
        ).rowcount
        session.refresh(batch)
        if batch.status == "applied" and not claimed:
            raise Conflict("already_applied", _("This file was already applied."))
        if not claimed:
            raise Conflict("discarded", _("This upload was discarded: upload the file again."))
        _table, cleaned = _cleaned(
            batch.sha256, _content(session, batch.sha256), batch.kind, batch.size + 1
        )
        if batch.kind == "accounts":
            plan = bulk.apply_accounts(
                session,
                cleaned,
                actor=actor,
                only_valid=only_valid,
                reason=f"CSV import {batch.filename}",
                grant=grant,
            )
        else:
            plan = bulk.apply_invoices(
                session, cleaned, actor=actor, only_valid=only_valid, grant=grant
            )
        batch.status, batch.counts, batch.only_valid = "applied", plan.counts, only_valid
        batch.applied_at = utcnow()
    return batch, plan


def discard_batch(session: Session, batch_id: int, actor: str) -> ImportBatch:
    """Drop an upload that will not be applied (its file goes when no upload uses it)."""
    with write_transaction(session):
        batch = get_batch(session, batch_id)
        claimed = session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch.id, ImportBatch.status == "previewed")
            .values(status="discarded")
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            raise Conflict("not_discardable", _("Only an upload not yet applied can be discarded."))
        session.refresh(batch)
        in_use = session.scalar(
            select(func.count())
            .select_from(ImportBatch)
            .where(ImportBatch.sha256 == batch.sha256, ImportBatch.status != "discarded")
        )
        if not in_use:
            session.execute(ImportFile.__table__.delete().where(ImportFile.sha256 == batch.sha256))
    return batch


def rejected_rows_csv(plan, table_rows: list[tuple[int, dict]], kind: str) -> Iterator[str]:
    """The rejected rows as a streamed CSV with an Error column, to fix and upload again;
    its header and errors in the reader's language (worded now: the response streams
    after the request)."""
    header = imports.ACCOUNT_TEMPLATE if kind == "accounts" else imports.INVOICE_TEMPLATE
    names = (
        ["email", "document", "document_type", "credit_limit", "tolerance", "name", "dependents"]
        if kind == "accounts"
        else list(imports.INVOICE_COLUMNS)
    )
    raw = dict(table_rows)
    lines = []
    for result in plan.rejected:
        values = raw.get(result.row, {})
        reason = "; ".join(
            f"{imports.title(column)}: {message}" for column, message in result.errors
        )
        error = _("Row %(row)s: %(reasons)s", row=result.row, reasons=reason)
        lines.append([values.get(name, "") for name in names] + [error])
    return imports.csv_lines(imports.titles([*header, "Error"]), lines)
