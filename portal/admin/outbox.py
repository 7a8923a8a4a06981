"""Back-office outbox (owner and finance): the messages waiting, sent and failed, and
"Send again" for a failed one.

No page shows a message's body or payload: an invitation or a reset carries a secret link,
made only when it is sent, and nothing here makes or shows one.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import listing, mail, outbox, webhooks
from ..access import WRITERS, actor, roles_required
from ..credit.errors import CreditError
from ..extensions import db
from ..htmx import error_response, is_htmx, render_page_or_fragment, trigger, with_toast
from ..models import OutboxMessage
from . import bp

PAGE = "admin/outbox/index.html"
TABLE = "admin/outbox/partials/_table.html"
ROW = "admin/outbox/partials/_row.html"
COUNTS = "admin/outbox/partials/_counts.html"
EMAIL_TOPICS = ("invitation", "reset", "reminder")


def _topic_labels() -> dict[str, str]:
    """What each e-mail topic is, in words."""
    return {
        "invitation": _("Invitation"),
        "reset": _("Password reset"),
        "reminder": _("Reminder"),
    }


@dataclass(frozen=True)
class Line:
    """One outbox row as the table shows it (never its payload)."""

    row: OutboxMessage
    kind: str
    topic: str
    recipient: str
    error: str
    may_send_again: bool
    fresh_link: bool  # sending it again voids the links sent before
    signs_out: bool  # … and ends the login's sessions (a reset: the login has a password)


def _line(row: OutboxMessage) -> Line:
    labels = _topic_labels()
    webhook = row.kind == webhooks.KIND
    return Line(
        row=row,
        kind=_("Webhook") if webhook else _("E-mail"),
        topic=labels.get(row.topic, row.topic),
        recipient=_("Endpoint #%(id)s", id=row.recipient) if webhook else row.recipient,
        error=outbox.shown_error(row),
        may_send_again=outbox.may_send_again(row),
        fresh_link=row.topic in outbox.LINK_TOPICS,
        signs_out=row.topic == "reset",
    )


def _counts() -> dict:
    return {
        "counts": outbox.counts(db.session),
        "waiting_for_smtp": not mail.configured() and outbox.pending_emails(db.session) > 0,
    }


@bp.get("/admin/outbox")
@roles_required(*WRITERS)
def outbox_index():
    """The outgoing messages, newest first: filters by status, kind, topic, recipient."""
    query = listing.parse(listing.OUTBOX, request.args, strict=False)
    page = listing.run(db.session, listing.OUTBOX, query, count_cap=10_000)
    labels = _topic_labels()
    return render_page_or_fragment(
        PAGE,
        TABLE,
        page=page,
        lines=[_line(row) for row in page.items],
        topic_choices=[(t, labels[t]) for t in EMAIL_TOPICS],
        event_choices=list(webhooks.EVENTS),
        **_counts(),
    )


@bp.get("/admin/outbox/counts")
@roles_required(*WRITERS)
def outbox_counts():
    """How many messages wait and how many failed (refreshed after a Send again)."""
    return render_template(COUNTS, **_counts())


@bp.post("/admin/outbox/<int:row_id>/send-again")
@roles_required(*WRITERS)
def outbox_send_again(row_id: int):
    """Put a failed message back in line (a fresh link for an invitation or a reset)."""
    try:
        row = outbox.send_again(db.session, row_id, actor=actor())
    except CreditError as refused:
        if refused.code == "message_not_found":
            abort(404)
        if is_htmx():
            return error_response(_refusal(refused), 409)
        flash(_refusal(refused), "error")
        return redirect(url_for("admin.outbox_index"))
    done = _("The message to %(to)s is back in line to be sent.", to=row.recipient)
    if not is_htmx():
        flash(done, "success")
        return redirect(url_for("admin.outbox_index"))
    response = make_response(render_template(ROW, line=_line(row)))
    return with_toast(trigger(response, "outbox-changed"), done)


def _refusal(error: CreditError) -> str:
    """The refusal in the viewer's language."""
    messages = {
        "webhook_delivery": _("Webhook deliveries are sent again from the Webhooks page."),
        "not_stuck": _(
            "Only a failed message, or a waiting one whose last attempt failed, can be sent again."
        ),
        "obsolete": _(
            "This message is no longer needed: its login has chosen a password, was "
            "deactivated or has another e-mail address now."
        ),
    }
    return messages.get(error.code, error.message)
