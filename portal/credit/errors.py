"""The one exception the credit engine raises, with a stable machine-readable code."""


class CreditError(Exception):
    """A refused credit operation; nothing was written.

    `code` is stable (adapters map it to HTTP statuses, flash messages, CSV row errors),
    `message` is for people, `field` names the input it concerns when there is one.
    The message is worded where it is raised, with Flask-Babel's gettext and named
    placeholders (`_("Account %(account)s does not exist.", account=account_id)`): in the
    language of the request (English under /api and /ppp, and outside a request: the CLI,
    the jobs), never its code.
    """

    status = 409  # refused transition or insufficient credit

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class InvalidInput(CreditError):
    """Malformed input: an amount, a document, an e-mail, a date."""

    status = 400


class NotFound(CreditError):
    """An id that names nothing."""

    status = 404


class Conflict(CreditError):
    """A refused transition, a duplicate, or not enough credit."""

    status = 409
