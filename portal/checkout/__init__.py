"""The checkout blueprint: a demo storefront page that pays with the customer's credit.

The JSON side of checkouts (the Payment Provider Protocol) lives in portal/ppp; this page
shows what a buyer sees: a cart, their credit, the payment terms and the hold an order
places on their credit line.
"""

from flask import Blueprint

bp = Blueprint("checkout", __name__, url_prefix="/checkout")

from . import views  # noqa: E402,F401
