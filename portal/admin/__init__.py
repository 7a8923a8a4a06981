"""The admin blueprint: the store's back-office."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import accounts, imports, invoice_page, invoices, outbox, people, settings, views, webhooks  # noqa: E402,F401
