"""The auth blueprint: login, logout, the role-based home, and Flask-Login's setup."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import login, views  # noqa: E402,F401

bp.record_once(login.init)
