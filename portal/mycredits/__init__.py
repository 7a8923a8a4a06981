"""The mycredits blueprint."""

from flask import Blueprint

bp = Blueprint("mycredits", __name__)

from . import documents, views  # noqa: E402,F401
