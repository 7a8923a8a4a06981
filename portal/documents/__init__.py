"""Printable documents: an invoice and an account's statement for a period, as an A4 page
to print and as a PDF (a shared read: My Credits and the back-office both use it).

Read-only. The data is built here (`invoice.py`, `statement.py`) from the same rules the
pages use (the amount due today, the effective Pay link, the statement's running balance);
the templates are `templates/documents/`; `pdf.py` turns the same HTML into a PDF with
WeasyPrint, fetching only the portal's own static files and the store's logo from disk and
the database, never over the network.
"""

from __future__ import annotations

import re

from flask import Response, abort, make_response, render_template
from flask_babel import gettext as _

from ..credit.errors import InvalidInput
from .invoice import InvoiceFacts, PrintableInvoice, invoice_facts, printable_invoice, qr_svg
from .statement import (
    MAX_ENTRIES,
    MAX_PDF_ENTRIES,
    MAX_PERIOD_DAYS,
    Period,
    PeriodStatement,
    StatementLine,
    period_statement,
    read_period,
)

__all__ = [
    "MAX_ENTRIES",
    "MAX_PDF_ENTRIES",
    "MAX_PERIOD_DAYS",
    "InvoiceFacts",
    "Period",
    "PeriodStatement",
    "PrintableInvoice",
    "StatementLine",
    "invoice_facts",
    "page",
    "pdf_response",
    "period_statement",
    "printable_invoice",
    "qr_svg",
    "read_period",
    "refusal",
]


def page(template: str, **context) -> Response:
    """The printable page (HTML), never cached: it shows a customer's amounts."""
    response = make_response(render_template(template, pdf=False, **context))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def pdf_response(template: str, filename: str, **context) -> Response:
    """The same page rendered to PDF, sent as a download named `filename`.

    WeasyPrint loads Pango when it is imported, so it is imported on the first PDF: the
    portal (and the print view) still run on a machine without Pango, where a PDF is a 503.
    """
    try:
        from . import pdf
    except (ImportError, OSError):
        abort(503, description=_("PDFs are not available on this server: use Print instead."))
    body = pdf.render(render_template(template, pdf=True, **context))
    response = Response(body, mimetype="application/pdf")
    safe = re.sub(r"[^A-Za-z0-9_.-]", "-", filename)
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def refusal(error: InvalidInput) -> tuple[str, int]:
    """A refused period: the 400 page with the message (it names the field)."""
    return render_template("errors/400.html", message=error.message), 400
