"""htmx helpers: answer a fragment to htmx, a full page to everyone else."""

from __future__ import annotations

from flask import make_response, render_template, request


def is_htmx() -> bool:
    """Whether htmx sent this request (and it is not a history restore, which needs a page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_fragment(
    page_template: str, fragment_template: str, status: int = 200, **context
):
    """Render the fragment for htmx requests and the full page otherwise; vary on it."""
    template = fragment_template if is_htmx() else page_template
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response
