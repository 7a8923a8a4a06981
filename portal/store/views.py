"""GET /store/logo: public (the login page shows it before anyone logs in)."""

from __future__ import annotations

import hashlib

from flask import Response, abort, request

from ..extensions import db
from ..identity import logo_file
from . import bp

MAX_AGE = 3600  # a new logo gets a new URL (?v=…) on pages; an old one is kept an hour


@bp.get("/logo")
def logo():
    """The store's logo as uploaded, with its MIME type and an ETag; 404 without one."""
    stored = logo_file(db.session)
    if stored is None:
        abort(404)
    data, mime = stored
    response = Response(data, mimetype=mime)
    response.set_etag(hashlib.sha256(data).hexdigest())
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    # X-Content-Type-Options: nosniff comes with every response (portal/security.py)
    return response.make_conditional(request)
