"""HTML error pages for the browser side of the portal."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

PAGES = {400: "errors/400.html", 403: "errors/403.html", 404: "errors/404.html"}


def register_errorhandlers(app: Flask) -> None:
    """Render 400, 403 and 404 as pages extending base.html.

    Handlers registered for a status code win over the generic HTTPException handler the
    JSON API installs (api/errors.py), so that handler is asked first: if it answers
    with its own response (a request under /api), that response is kept.
    """
    generic = app.error_handler_spec[None][None].get(HTTPException)

    def render_page(exc: HTTPException):
        if generic is not None:
            claimed = generic(exc)
            if claimed is not exc:
                return claimed
        return render_template(PAGES[exc.code], error=exc), exc.code

    for code in PAGES:
        app.register_error_handler(code, render_page)
