"""htmx helpers: answer a fragment to htmx, a full page to everyone else."""

from __future__ import annotations

from flask import make_response, render_template, request


def is_htmx() -> bool:
    """Whether htmx sent this request (and it is not a history restore, which needs a page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_fragment(page: str, fragment: str, status: int = 200, **context):
    """Render `fragment` for htmx requests and `page` otherwise; vary the cache on it."""
    response = make_response(render_template(fragment if is_htmx() else page, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response
