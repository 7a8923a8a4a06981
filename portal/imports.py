"""CSV files in and out: the one module that imports pandas.

Reading turns a messy spreadsheet export (any of UTF-8 with or without BOM, Windows-1252,
comma or semicolon, decimal comma, header names in English, Portuguese or Spanish) into
rows of canonical column names with their spreadsheet row numbers. What the rows mean is
decided by portal/credit/bulk.py, with the same rules as everything else.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .credit.errors import InvalidInput
from .numbers import parse_number

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
        "id de la factura",
    ),
    "friendly_id": ("friendly id", "friendlyid", "id amigavel", "id amigable", "codigo"),
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
# The title of each column of the files a person downloads (the import templates, the
# back-office exports, the rejected rows), by its canonical English title, which the JSON
# API's files keep. The reader knows every import column by its title in each language
# (ACCOUNT_COLUMNS, INVOICE_COLUMNS); the other columns of an export are ignored on import.
COLUMN_TITLES = {
    "Email": _l("Email"),
    "Document": _l("Document"),
    "Document Type": _l("Document Type"),
    "Credit limit": _l("Credit limit"),
    "Tolerance rate": _l("Tolerance rate"),
    "Name": _l("Name"),
    "Dependents": _l("Dependents"),
    "Invoice id": _l("Invoice id"),
    "Friendly id": _l("Friendly id"),
    "Status": _l("Status"),
    "Payment link": _l("Payment link"),
    "Observation": _l("Observation"),
    "Paid amount": _l("Paid amount"),
    "Value": _l("Value"),
    "Due date": _l("Due date"),
    "Original due date": _l("Original due date"),
    "Installment": _l("Installment"),
    "Installments": _l("Installments"),
    "Order id": _l("Order id"),
    "Transaction id": _l("Transaction id"),
    "Account": _l("Account"),
    "Balance": _l("Balance"),
    "Pre-authorized": _l("Pre-authorized"),
    "Account id": _l("Account id"),
    "Created at": _l("Created at"),
    "Error": _l("Error"),
}
NUMERIC = {"credit_limit", "tolerance", "paid_amount"}
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class Table:
    """The rows of an uploaded file: canonical column names → raw text, by row number."""

    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]
    delimiter: str
    encoding: str


def title(name: str) -> str:
    """A canonical column title in the reader's language: 'Credit limit' → 'Limite de
    crédito' (pt_BR); a title without a translation stays as it is."""
    return str(COLUMN_TITLES.get(name, name))


def titles(header: Iterable[str]) -> list[str]:
    """A header of canonical column titles in the reader's language."""
    return [title(name) for name in header]


def _fold(text: str) -> str:
    """Lower-case, strip accents and spaces: 'Límite de Crédito ' → 'limite de credito'."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[\s_]+", " ", text).strip().lower()


def _decode(content: bytes) -> tuple[str, str]:
    if b"\x00" in content[:4096]:
        raise InvalidInput("not_csv", _("The file is not a CSV text file."), "file")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InvalidInput("not_csv", _("The file's text encoding is not recognised."), "file")


def _delimiter(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_table(content: bytes, kind: str, max_bytes: int = MAX_BYTES) -> Table:
    """Parse an accounts or invoices CSV; refuse with a clear message what is not one."""
    if len(content) > max_bytes:
        raise InvalidInput(
            "file_too_large",
            _("The file is larger than the limit of %(size)s.", size=_size(max_bytes)),
            "file",
        )
    text, encoding = _decode(content)
    if not text.strip():
        raise InvalidInput("empty_file", _("The file is empty."), "file")
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
        raise InvalidInput(
            "not_csv", _("The file is not a readable CSV: %(error)s", error=error), "file"
        ) from None
    known = ACCOUNT_COLUMNS if kind == "accounts" else INVOICE_COLUMNS
    mapping = _map_columns(frame.columns, known)
    _check_required(kind, mapping)
    frame = frame[list(mapping)].rename(columns=mapping)
    frame = frame.apply(lambda column: column.str.strip())
    blank = (frame == "").all(axis=1)
    frame = frame[~blank]
    decimal_comma = delimiter == ";"
    for column in NUMERIC & set(frame.columns):  # object dtype: keeps bulk.Unreadable cells
        cells = frame[column].astype(object)
        frame[column] = cells.map(lambda v, c=column: normalize_number(v, decimal_comma, c))
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
        missing = titles(
            ACCOUNT_TEMPLATE[i] for i, name in enumerate(ACCOUNT_REQUIRED) if name not in found
        )
    else:
        either = _(
            "%(invoice)s or %(friendly)s",
            invoice=title("Invoice id"),
            friendly=title("Friendly id"),
        )
        missing = [] if found & {"invoice_id", "friendly_id"} else [either]
    if missing:
        raise InvalidInput(
            "missing_columns",
            _("Missing required columns: %(columns)s.", columns=", ".join(missing)),
            "file",
        )


# The number columns as the rejected rows name them, and the file's two conventions.
NUMBER_LABELS = {
    "credit_limit": "Credit limit",
    "tolerance": "Tolerance rate",
    "paid_amount": "Paid amount",
}
DECIMAL_COMMA, DECIMAL_POINT = "pt_BR", "en_US"


def normalize_number(text: str, decimal_comma: bool, column: str = "credit_limit") -> str:
    """A number cell as canonical text: 'R$ 1.234,56' → '1234.56'; '20%' → '0.20' (tolerance).

    Read strictly (portal.numbers: groups of three, no letters but a currency symbol) in
    the file's convention: a decimal comma in semicolon files, a decimal point otherwise;
    in a cell with both '.' and ',', the last one is the decimal separator. A cell that
    cannot be read exactly is returned as `bulk.Unreadable`: its text, and the reason its
    row is rejected with. The tolerance may be a ratio (0.1, up to 6 decimals as exported)
    or a percentage (10%); the sign is left for the domain to judge.
    """
    raw = str(text or "").strip()
    if not raw:
        return raw
    comma = raw.rfind(",") > raw.rfind(".") if "," in raw and "." in raw else decimal_comma
    rate = column == "tolerance"
    percent = rate and raw.endswith("%")
    try:
        value = parse_number(
            raw,
            locale=DECIMAL_COMMA if comma else DECIMAL_POINT,
            field=column,
            label=NUMBER_LABELS.get(column, column),
            places=6 if rate and not percent else 2,
            negative=True,
            percent=rate,
        )
    except InvalidInput as error:
        from .credit.bulk import Unreadable

        return Unreadable(raw, error)
    return format(value.scaleb(-2) if percent else value, "f")


# --- writing ---------------------------------------------------------------------------

# What a spreadsheet may take for the start of a formula: = + - @ and their full-width
# forms (U+FF1D U+FF0B U+FF0D U+FF20), which some spreadsheets read as the ASCII ones.
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A formula character after any leading whitespace (Unicode: spaces, tabs, line breaks,
# no-break spaces...) or zero-width characters, which spreadsheets may skip.
_FORMULA = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]*[" + re.escape("".join(FORMULA_START)) + "]")


_NEGATIVE_NUMBER = re.compile(r"-\d+(\.\d+)?")


def neutralize(value) -> str:
    """Text a spreadsheet will not run as a formula (a leading quote defuses it).

    Defused: a cell starting with a formula character (FORMULA_START), also after leading
    whitespace, and any cell starting with a tab or a carriage return. A plain negative
    number (-12.50) stays as it is.
    """
    text = "" if value is None else str(value)
    if text[:1].isalnum():  # most cells (ids, names, statuses): nothing to look at
        return text
    if _NEGATIVE_NUMBER.fullmatch(text):
        return text
    if text.startswith(("\t", "\r")) or _FORMULA.match(text):
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
    """The downloadable template of an import, with one example row; its header in the
    reader's language (the reader takes the titles of all three)."""
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
    return "".join(csv_lines(titles(header), [example]))


def rows_csv(header: list[str], rows: list[list[str]]) -> str:
    """A small CSV (e.g. the rejected rows with their error column)."""
    return "".join(csv_lines(header, rows))
