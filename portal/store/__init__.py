"""The store blueprint: the store's public face (its logo), and `store_identity()` for
every template."""

from flask import Blueprint

from .. import identity

bp = Blueprint("store", __name__, url_prefix="/store")

from . import views  # noqa: E402,F401

bp.record_once(lambda state: identity.init_app(state.app))
