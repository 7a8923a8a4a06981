"""Payment Provider Protocol: the portal as a checkout's credit provider, under /ppp.

A checkout that speaks VTEX's Payment Provider Protocol (specs/payment-provider-protocol.json)
creates, settles, cancels and refunds payments here; each payment is a pre-authorization of
the credit engine whose transaction id is the checkout's paymentId. Handlers (views.py) are
thin: authenticate (auth.py), parse (payload.py), call one adapter function (protocol.py),
reply. Refusals are JSON in the protocol's shapes (errors.py); the served contract is built
by openapi.py.
"""

from flask import Blueprint

bp = Blueprint("ppp", __name__, url_prefix="/ppp")

from . import errors, openapi, views  # noqa: E402,F401
