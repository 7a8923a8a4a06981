"""Error answers for the browser side of the portal: a page, or a short message for htmx.

A browser loading a page gets an HTML page extending base.html (400, 403, 404).

An htmx request (the `HX-Request` header, not a history restore) gets no page to swap:
it gets the status, the message in the `HX-Error-Message` header, URL-encoded (UTF-8,
percent-escaped, so any language fits in a header), and the same message as the plain
text body. static/js/portal.js reads the header and shows the message in an alert
(`htmx:responseError`); a 5xx or a network failure gets its generic message there. The
message is the translated one below for the status, unless the view wrote its own:
`abort(409, description=_("…"))`. Answers htmx swaps (422: a form with its errors) are
not errors and do not come here; portal/htmx.py `error_response` makes the same answer
for a refusal a view returns itself, and the lost session (401) is answered in
portal/auth/login.py `unauthorized` (an htmx POST without a session fails its CSRF check
first: that 400 is answered as the lost session too).
"""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, default_exceptions

from .extensions import login_manager
from .htmx import error_response, is_htmx

PAGES = {400: "errors/400.html", 403: "errors/403.html", 404: "errors/404.html"}
HTMX_MESSAGES = {
    400: _l("The portal did not accept this request. Reload the page and try again."),
    403: _l("Your login does not allow this action."),
    404: _l("Not found: it may have been removed. Reload the page."),
    409: _l("This changed in the meantime. Reload the page and try again."),
}


def register_errorhandlers(app: Flask) -> None:
    """Answer 400, 403, 404 (and 409) with a page, or a short message for htmx.

    Handlers registered for a status code win over the generic HTTPException handler the
    JSON API installs (api/errors.py), so that handler is asked first: if it answers
    with its own response (a request under /api), that response is kept.
    """
    generic = app.error_handler_spec[None][None].get(HTTPException)

    def answer(exc: HTTPException):
        if generic is not None:
            claimed = generic(exc)
            if claimed is not exc:
                return claimed
        if is_htmx():
            if isinstance(exc, CSRFError) and not current_user.is_authenticated:
                # The session ended, and its CSRF token with it: say that, not "bad request".
                return login_manager.unauthorized()
            return error_response(htmx_message(exc), exc.code)
        if exc.code in PAGES:
            return render_template(PAGES[exc.code], error=exc), exc.code
        return exc

    for code in HTMX_MESSAGES:
        app.register_error_handler(code, answer)


def htmx_message(exc: HTTPException) -> str:
    """The view's own description (abort(code, description=…)), else ours for the status."""
    plain = default_exceptions.get(exc.code)
    if type(exc) is plain and exc.description and exc.description != plain.description:
        return str(exc.description)
    return str(HTMX_MESSAGES.get(exc.code, HTMX_MESSAGES[400]))
