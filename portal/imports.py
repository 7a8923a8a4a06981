"""CSV files in and out: the one module that imports pandas.

Reading turns a messy spreadsheet export (any of UTF-8 with or without BOM, Windows-1252,
comma or semicolon, decimal comma, header names in English, Portuguese or Spanish) into
rows of canonical column names with their spreadsheet row numbers. What the rows mean is
decided by portal/credit/bulk.py, with the same rules as everything else.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pandas as pd

from .credit.errors import InvalidInput
from .credit.ledger import write_transaction

ACCOUNT_COLUMNS = {
    "email": ("email", "e-mail", "correo", "correo electronico"),
    "document": ("document", "documento"),
    "document_type": ("document type", "tipo de documento", "tipo documento", "tipo"),
    "credit_limit": ("credit limit", "limite de credito", "limite", "credito"),
    "tolerance": (
        "tolerance rate",
        "tolerance",
        "taxa de tolerancia",
        "tolerancia",
        "tasa de tolerancia",
    ),
    "name": ("name", "nome", "nombre", "razao social", "razon social"),
    "dependents": ("dependents", "dependentes", "dependientes"),
}
ACCOUNT_REQUIRED = ("email", "document", "document_type", "credit_limit", "tolerance")
ACCOUNT_TEMPLATE = [
    "Email",
    "Document",
    "Document Type",
    "Credit limit",
    "Tolerance rate",
    "Name",
    "Dependents",
]

INVOICE_COLUMNS = {
    "invoice_id": (
        "invoice id",
        "invoice",
        "id",
        "id da fatura",
        "fatura",
        "titulo",
        "id del titulo",
        "factura",
        "id de factura",
    ),
    "friendly_id": ("friendly id", "friendlyid", "id amigavel", "codigo"),
    "status": ("status", "situacao", "estado"),
    "payment_link": ("payment link", "link de pagamento", "enlace de pago", "link de pago"),
    "observation": ("observation", "observacao", "observacion", "observaciones"),
    "paid_amount": ("paid amount", "valor pago", "monto pagado", "importe pagado"),
}
INVOICE_TEMPLATE = [
    "Invoice id",
    "Friendly id",
    "Status",
    "Payment link",
    "Observation",
    "Paid amount",
]
NUMERIC = {"credit_limit", "tolerance", "paid_amount"}
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class Table:
    """The rows of an uploaded file: canonical column names → raw text, by row number."""

    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]
    delimiter: str
    encoding: str


def _fold(text: str) -> str:
    """Lower-case, strip accents and spaces: 'Límite de Crédito ' → 'limite de credito'."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[\s_]+", " ", text).strip().lower()


def _decode(content: bytes) -> tuple[str, str]:
    if b"\x00" in content[:4096]:
        raise InvalidInput("not_csv", "The file is not a CSV text file.", "file")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InvalidInput("not_csv", "The file's text encoding is not recognised.", "file")


def _delimiter(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_table(content: bytes, kind: str, max_bytes: int = MAX_BYTES) -> Table:
    """Parse an accounts or invoices CSV; refuse with a clear message what is not one."""
    if len(content) > max_bytes:
        raise InvalidInput(
            "file_too_large", f"The file is larger than the limit of {_size(max_bytes)}.", "file"
        )
    text, encoding = _decode(content)
    if not text.strip():
        raise InvalidInput("empty_file", "The file is empty.", "file")
    delimiter = _delimiter(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            engine="c",
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise InvalidInput("not_csv", f"The file is not a readable CSV: {error}", "file") from None
    known = ACCOUNT_COLUMNS if kind == "accounts" else INVOICE_COLUMNS
    mapping = _map_columns(frame.columns, known)
    _check_required(kind, mapping)
    frame = frame[list(mapping)].rename(columns=mapping)
    frame = frame.apply(lambda column: column.str.strip())
    blank = (frame == "").all(axis=1)
    frame = frame[~blank]
    decimal_comma = delimiter == ";"
    for column in NUMERIC & set(frame.columns):
        frame[column] = frame[column].map(lambda v: normalize_number(v, decimal_comma))
    rows = [
        (int(index) + 2, record)
        for index, record in zip(frame.index, frame.to_dict("records"), strict=True)
    ]
    return Table(columns=list(frame.columns), rows=rows, delimiter=delimiter, encoding=encoding)


def _size(count: int) -> str:
    return f"{count / 1024**2:g} MB" if count >= 1024**2 else f"{count / 1024:g} KB"


def _map_columns(headers: Iterable[str], known: dict[str, tuple[str, ...]]) -> dict[str, str]:
    aliases = {alias: name for name, names in known.items() for alias in names}
    mapping = {}
    for header in headers:
        name = aliases.get(_fold(header))
        if name and name not in mapping.values():
            mapping[header] = name
    return mapping


def _check_required(kind: str, mapping: dict[str, str]) -> None:
    found = set(mapping.values())
    if kind == "accounts":
        missing = [
            ACCOUNT_TEMPLATE[i] for i, name in enumerate(ACCOUNT_REQUIRED) if name not in found
        ]
    else:
        missing = [] if found & {"invoice_id", "friendly_id"} else ["Invoice id or Friendly id"]
    if missing:
        raise InvalidInput(
            "missing_columns", f"Missing required columns: {', '.join(missing)}.", "file"
        )


_CURRENCY = re.compile(r"[^\d,.\-%]")


def normalize_number(text: str, decimal_comma: bool) -> str:
    """'R$ 1.234,56' → '1234.56'; '1,234.56' → '1234.56'; '20%' → '0.2'; else unchanged.

    With both separators the last one is the decimal point; a lone comma is decimal in
    semicolon files (Brazil, Spain) and when not followed by exactly three digits.
    """
    raw = str(text or "").strip()
    if not raw:
        return raw
    cleaned = _CURRENCY.sub("", raw)
    percent = cleaned.endswith("%")
    cleaned = cleaned.rstrip("%")
    if "," in cleaned and "." in cleaned:
        decimal = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
    elif "," in cleaned:
        lone_thousands = re.fullmatch(r"-?\d{1,3}(,\d{3})+", cleaned) and not decimal_comma
        decimal = "." if lone_thousands else ","
    else:
        decimal = "."
    thousands = "." if decimal == "," else ","
    number = cleaned.replace(thousands, "").replace(decimal, ".")
    if not re.fullmatch(r"-?\d+(\.\d+)?", number):
        return raw  # leave it for the domain to refuse with its own message
    if percent:
        from decimal import Decimal

        return str((Decimal(number) / 100).normalize())
    return number


# --- writing ---------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value) -> str:
    """Text a spreadsheet will not run as a formula (a leading quote defuses it)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not re.fullmatch(r"-\d+(\.\d+)?", text):
        return "'" + text
    return text


def csv_lines(
    header: list[str],
    rows: Iterable[Iterable],
    dialect: str = "comma",
    *,
    neutralized: bool = False,
) -> Iterator[str]:
    """Stream CSV text: 'comma' (UTF-8) or 'excel' (semicolon, UTF-8 with BOM).

    Cells are neutralised against formulas unless the caller already did it.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if dialect == "excel" else ",", lineterminator="\r\n")
    if dialect == "excel":
        buffer.write("\ufeff")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row if neutralized else [neutralize(v) for v in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def template_csv(kind: str) -> str:
    """The downloadable template of an import, with one example row."""
    if kind == "accounts":
        example = [
            "buyer@example.com",
            "52998224725",
            "CPF",
            "5000.00",
            "0.1",
            "ACME Ltda",
            "dependent@example.com",
        ]
        header = ACCOUNT_TEMPLATE
    else:
        example = ["", "12345678", "Paid", "https://pay.example/123", "Paid by PIX", ""]
        header = INVOICE_TEMPLATE
    return "".join(csv_lines(header, [example]))


def rows_csv(header: list[str], rows: list[list[str]]) -> str:
    """A small CSV (e.g. the rejected rows with their error column)."""
    return "".join(csv_lines(header, rows))


# --- the import flow: upload → preview → apply -------------------------------------------


_CLEANED: OrderedDict = OrderedDict()  # (sha256, kind) -> (table, cleaned rows)


def _cleaned(content: bytes, kind: str, max_bytes: int):
    """Read and clean a file once per process: preview and apply share the work."""
    from .credit import bulk

    key = (hashlib.sha256(content).hexdigest(), kind)
    if key not in _CLEANED:
        table = read_table(content, kind, max_bytes)
        _CLEANED[key] = (table, bulk.clean(kind, table.rows))
        while len(_CLEANED) > 2:
            _CLEANED.popitem(last=False)
    return key[0], *_CLEANED[key]


def preview_upload(
    session, kind: str, filename: str, content: bytes, actor: str, max_bytes: int = MAX_BYTES
):
    """Dry-run an uploaded file and keep it for apply; returns (batch, plan)."""
    from .credit import bulk
    from .models import ImportBatch

    sha, _, cleaned = _cleaned(content, kind, max_bytes)
    plan = bulk.classify(session, kind, cleaned)
    batch = ImportBatch(
        kind=kind,
        filename=filename[:255] or "upload.csv",
        sha256=sha,
        content=content,
        uploaded_by=actor,
        counts=plan.counts,
        status="previewed",
    )
    with write_transaction(session):
        session.add(batch)
    return batch, plan


def load_batch(session, batch_id: int):
    """An uploaded file with its plan as of now: (batch, plan, table rows)."""
    from .credit import bulk
    from .credit.errors import NotFound
    from .models import ImportBatch

    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound("import_not_found", f"Import {batch_id} does not exist.")
    _, table, cleaned = _cleaned(batch.content, batch.kind, len(batch.content) + 1)
    return batch, bulk.classify(session, batch.kind, cleaned), table.rows


def import_history(session, limit: int = 50):
    """The latest uploads, newest first."""
    from sqlalchemy import select

    from .models import ImportBatch

    return list(session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)))


def apply_batch(session, batch_id: int, actor: str, only_valid: bool = False):
    """Apply a previewed file, classified again now so it is checked against today's data.

    The changes and the batch's "applied" mark are one transaction: a file is applied
    once, whole, or not at all.
    """
    from .credit import bulk
    from .credit.errors import Conflict, NotFound
    from .models import ImportBatch, utcnow

    with write_transaction(session):
        batch = session.get(ImportBatch, batch_id, populate_existing=True)
        if batch is None:
            raise NotFound("import_not_found", f"Import {batch_id} does not exist.")
        if batch.status == "applied":
            raise Conflict("already_applied", "This file was already applied.")
        _, _, cleaned = _cleaned(batch.content, batch.kind, len(batch.content) + 1)
        if batch.kind == "accounts":
            plan = bulk.apply_accounts(
                session,
                cleaned,
                actor=actor,
                only_valid=only_valid,
                reason=f"CSV import {batch.filename}",
            )
        else:
            plan = bulk.apply_invoices(session, cleaned, actor=actor, only_valid=only_valid)
        counts = plan.counts
        batch.status, batch.counts, batch.only_valid = "applied", counts, only_valid
        batch.applied_at = utcnow()
    return batch, plan


def rejected_rows_csv(plan, table_rows: list[tuple[int, dict]], kind: str) -> str:
    """The rejected rows as a CSV with an Error column, ready to fix and re-upload."""
    header = ACCOUNT_TEMPLATE if kind == "accounts" else INVOICE_TEMPLATE
    names = (
        ["email", "document", "document_type", "credit_limit", "tolerance", "name", "dependents"]
        if kind == "accounts"
        else list(INVOICE_COLUMNS)
    )
    raw = dict(table_rows)
    lines = []
    for result in plan.rejected:
        values = raw.get(result.row, {})
        reason = "; ".join(f"{column}: {message}" for column, message in result.errors)
        lines.append([values.get(name, "") for name in names] + [f"Row {result.row}: {reason}"])
    return rows_csv([*header, "Error"], lines)
