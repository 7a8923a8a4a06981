"""htmx helpers: answer a fragment to htmx, a full page to everyone else, and tell the page
what happened (a toast after a write, a short message with a refusal)."""

from __future__ import annotations

import json
from urllib.parse import quote

from flask import Response, make_response, render_template, request

# The header an htmx error answer carries its message in (URL-encoded UTF-8, so any language
# fits in a header); static/js/portal.js shows it in an alert. See portal/errors.py.
ERROR_HEADER = "HX-Error-Message"


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


def trigger(response: Response, event: str, detail=None) -> Response:
    """Add `event` to the response's HX-Trigger header, keeping the events already there.

    The header becomes one JSON object ({"invoice-changed": null, "toast": "…"}); htmx
    fires each key as an event on the element that made the request, `detail` as its value.
    """
    current = response.headers.get("HX-Trigger", "").strip()
    if current.startswith("{"):
        events = json.loads(current)
    else:
        events = {name.strip(): None for name in current.split(",") if name.strip()}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)  # ASCII: \u escapes for the rest
    return response


def with_toast(response: Response, message: str) -> Response:
    """Make the page show `message` in a success toast (the `toast` event, portal.js)."""
    return trigger(response, "toast", str(message))


def error_response(message: str, status: int) -> Response:
    """A refusal htmx shows in an alert: `message` in the HX-Error-Message header
    (URL-encoded) and, as plain text, in the body."""
    response = Response(str(message), status=status, mimetype="text/plain")
    response.headers[ERROR_HEADER] = quote(str(message), safe="")
    response.headers["Vary"] = "HX-Request"
    return response
