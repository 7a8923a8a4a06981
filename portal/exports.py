"""CSV exports of the accounts and invoices lists: the page's own query, streamed.

The rows come from the same listing query as the page (so the filters mean the same),
read in batches as plain columns (no ORM objects), and written as CSV chunks, so memory
stays flat whatever the number of rows. The invoices file can be edited and imported
back as it is (its first columns are the import columns).

The header row is canonical English (the JSON API's files) or, for a person downloading
from the back office, in their language (`translated`): worded once per file, before the
rows stream; the values are the same either way. The import reads the translated titles.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from sqlalchemy.orm import Session

from . import listing
from .imports import csv_lines, neutralize, titles
from .models import Account, Invoice

INVOICE_COLUMNS = [
    ("Invoice id", Invoice.id),
    ("Friendly id", Invoice.friendly_id),
    ("Status", Invoice.status),
    ("Payment link", Invoice.payment_link),
    ("Observation", Invoice.observation),
    ("Paid amount", Invoice.paid_amount),
    ("Value", Invoice.value),
    ("Due date", Invoice.due_date),
    ("Original due date", Invoice.original_due_date),
    ("Installment", Invoice.installment),
    ("Installments", Invoice.number_of_installments),
    ("Order id", Invoice.order_id),
    ("Transaction id", Invoice.transaction_id),
    ("Account", Invoice.account_id),
    ("Created at", Invoice.created_at),
]
ACCOUNT_COLUMNS = [
    ("Email", Account.email),
    ("Document", Account.document),
    ("Document Type", Account.document_type),
    ("Credit limit", Account.credit_limit),
    ("Tolerance rate", Account.tolerance),
    ("Name", Account.name),
    ("Status", Account.status),
    ("Balance", (Account.balance - Account.credit_limit).label("balance")),  # as the API says
    ("Pre-authorized", Account.pre_authorized),
    ("Account id", Account.id),
    ("Created at", Account.created_at),
]
COLUMNS = {"invoices": INVOICE_COLUMNS, "accounts": ACCOUNT_COLUMNS}
BATCH = 5000


def export_rows(
    session: Session,
    spec: listing.ListingSpec,
    query: listing.ListingQuery,
    *extra,
    decimal_comma: bool = False,
) -> Iterator[list]:
    """The rows of the whole filtered list, in the page's order, as the CSV writer takes
    them: free text neutralised against formulas, dates and times in ISO 8601, numbers
    canonical (1234.56) or with a decimal comma (1234,56, the Excel flavour, which the
    import reads back), None as an empty cell. Each cell is looked at in place (a call
    per cell made a third of the export's time)."""
    columns = [column for _, column in COLUMNS[spec.name]]
    types = [column.type.python_type for column in columns]
    texts = [i for i, kind in enumerate(types) if kind is str]
    dates = [i for i, kind in enumerate(types) if kind in (datetime, date)]
    numbers = [i for i, kind in enumerate(types) if kind not in (str, datetime, date)]
    commas = numbers if decimal_comma else []
    stmt = listing.where(spec, query, *extra).with_only_columns(*columns)
    stmt = stmt.order_by(*listing.order_by(spec, query.sort))
    # Core rows, read in batches: no ORM objects, flat memory.
    result = session.connection().execution_options(yield_per=BATCH).execute(stmt)
    for row in result:
        cells = list(row)
        for i in texts:
            value = cells[i]
            if value and not value[:1].isalnum():  # most cells start with a letter or digit
                cells[i] = neutralize(value)
        for i in dates:
            if cells[i] is not None:
                cells[i] = cells[i].isoformat()
        for i in commas:
            if cells[i] is not None:
                cells[i] = str(cells[i]).replace(".", ",")
        yield cells


def export_csv(
    session: Session,
    spec: listing.ListingSpec,
    query: listing.ListingQuery,
    *extra,
    dialect: str = "comma",
    translated: bool = False,
) -> Iterator[str]:
    """CSV text chunks of the filtered list ('comma' UTF-8, or 'excel': semicolon + BOM and
    decimal commas); the header in the reader's language when `translated`."""
    header = [name for name, _ in COLUMNS[spec.name]]
    if translated:
        header = titles(header)
    rows = export_rows(session, spec, query, *extra, decimal_comma=dialect == "excel")
    return csv_lines(header, rows, dialect, neutralized=True)


def csv_response(
    session: Session,
    spec: listing.ListingSpec,
    query: listing.ListingQuery,
    filename: str,
    *,
    excel: bool = False,
    translated: bool = False,
):
    """A streamed CSV download of the filtered list (for views; Excel: ';' and a BOM); the
    header in the viewer's language when `translated` (the back office), else canonical."""
    from flask import Response, stream_with_context

    dialect = "excel" if excel else "comma"
    chunks = export_csv(session, spec, query, dialect=dialect, translated=translated)
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
