"""The peer the back-office lists are compared with: Flask-Admin over the same models.

A minimal Flask app, read-only `ModelView`s of Invoice and Account with the portal's page
size, free-text search over the columns the portal's `q` covers (an invoice's own ids and
observation and its account's name, e-mail and document; an account's id, e-mail, document
and name), the same sorts and filters on status and due date. Served by gunicorn exactly
like the portal (`gunicorn … 'benchmarks.peer:create_app()'`, DATABASE_URL from the
environment), with the same engine settings (WAL and busy timeout on SQLite). No login:
the peer does strictly less work per request than the portal in that respect.
"""

from __future__ import annotations

import os

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_babel import Babel

from portal import listing
from portal.config import Defaults, database_url
from portal.database import configure_engine
from portal.extensions import db
from portal.models import Account, Invoice

INVOICE_COLUMNS = (
    "friendly_id",
    "account_id",
    "order_id",
    "status",
    "value",
    "paid_amount",
    "due_date",
    "created_at",
)
ACCOUNT_COLUMNS = (
    "id",
    "name",
    "email",
    "document",
    "status",
    "credit_limit",
    "balance",
    "pre_authorized",
    "created_at",
)


class _ReadOnly(ModelView):
    can_create = can_edit = can_delete = False
    can_set_page_size = False
    named_filter_urls = True  # ?flt0_status_equals=Opened rather than ?flt0_3=Opened


class InvoiceView(_ReadOnly):
    page_size = listing.INVOICES.per_page
    column_list = INVOICE_COLUMNS
    column_sortable_list = INVOICE_COLUMNS
    column_default_sort = ("due_date", False)  # the back-office's default
    column_searchable_list = (
        "id",
        "friendly_id",
        "order_id",
        "transaction_id",
        "account_id",
        "observation",
        "account.name",  # joined, as the portal's q also finds an account's invoices
        "account.email",
        "account.document",
    )
    column_filters = ("status", "due_date")


class AccountView(_ReadOnly):
    page_size = listing.ACCOUNTS.per_page
    column_list = ACCOUNT_COLUMNS
    column_sortable_list = ACCOUNT_COLUMNS
    column_default_sort = ("created_at", False)  # the back-office's default
    column_searchable_list = ("id", "email", "document", "name")
    column_filters = ("status",)


def sort_index(view: type[_ReadOnly], column: str) -> int:
    """Flask-Admin's `?sort=` value for a column: its position in the list's columns."""
    return list(view.column_list).index(column)


def create_app(url: str | None = None) -> Flask:
    """The peer app on `url` (default: DATABASE_URL, as the portal reads it)."""
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=url or database_url(os.getcwd()),
        SQLALCHEMY_ENGINE_OPTIONS=Defaults.SQLALCHEMY_ENGINE_OPTIONS,
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench"),
    )
    db.init_app(app)
    Babel(app)  # Flask-Admin translates its labels through Flask-Babel when it is installed
    with app.app_context():
        configure_engine(db.engine)
    admin = Admin(app, name="Flask-Admin peer", url="/admin")
    admin.add_view(InvoiceView(Invoice, db.session, endpoint="invoices", url="invoices"))
    admin.add_view(AccountView(Account, db.session, endpoint="accounts", url="accounts"))
    return app
