"""The admin blueprint: the store's back-office."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import (  # noqa: E402,F401
    accounts,
    documents,
    imports,
    invoice_page,
    invoices,
    logo,
    outbox,
    people,
    settings,
    views,
    webhooks,
)
