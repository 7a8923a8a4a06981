"""The mycredits blueprint."""

from flask import Blueprint

bp = Blueprint("mycredits", __name__)

from . import views  # noqa: E402,F401
