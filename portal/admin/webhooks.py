"""Back-office webhooks (owner only): endpoints, their secrets, recent deliveries.

A new endpoint's secret, and a rotated one, are shown on that answer only (as API key
tokens are): the row keeps it encrypted and no page shows it again.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import webhooks
from ..access import actor, roles_required
from ..credit.errors import CreditError
from ..extensions import db
from . import bp
from .settings import CsrfForm

PAGE = "admin/webhooks/index.html"


def _event_labels() -> dict[str, str]:
    """What each event means, for the checkboxes and the list."""
    return {
        "invoice.created": _("An invoice is issued (a purchase is settled)"),
        "invoice.due_soon": _("An open invoice is due in a few days"),
        "invoice.overdue": _("An open invoice is overdue (the day after its due date)"),
        "invoice.paid": _("An invoice is paid in full"),
        "invoice.cancelled": _("An invoice is cancelled"),
        "account.limit_changed": _("An account's credit limit changes"),
        "account.on_hold": _("An account goes on hold (an invoice overdue past the threshold)"),
        "account.hold_lifted": _("An owner lifts an account's hold"),
    }


def _refusal(error: CreditError) -> str:
    """The engine's refusal, in the viewer's language where it has a known code."""
    messages = {
        "invalid_events": _("Choose at least one event, or all events."),
        "endpoint_not_found": _("That webhook endpoint does not exist."),
        "event_not_found": _("That event does not exist."),
        "endpoint_inactive": _("The endpoint is not active: reactivate it first."),
        "already_pending": _("This delivery is already waiting to be sent."),
    }
    if error.code == "invalid_url":
        return _("The URL was refused: %(reason)s", reason=error.message)
    return messages.get(error.code, error.message)


def _render(form, *, status: int = 200, shown=None, errors=None, values=None):
    endpoints = webhooks.endpoints(db.session)
    return render_template(
        PAGE,
        form=form,
        endpoints=endpoints,
        urls={e.id: e.url for e in endpoints},
        deliveries=webhooks.recent_deliveries(db.session),
        events=webhooks.EVENTS,
        event_labels=_event_labels(),
        shown=shown,
        errors=errors or {},
        values=values or {},
    ), status


@bp.route("/admin/webhooks", methods=["GET", "POST"])
@roles_required("owner")
def webhooks_index():
    """The endpoints and the recent deliveries; add an endpoint (its secret shown once)."""
    form = CsrfForm()
    if request.method == "POST" and form.validate_on_submit():
        url = request.form.get("url", "")
        events = request.form.getlist("events")
        try:
            endpoint, secret = webhooks.add_endpoint(db.session, url, events, actor=actor())
        except CreditError as error:
            field = "events" if error.field == "events" else "url"
            values = {"url": url, "events": events}
            return _render(form, status=422, errors={field: _refusal(error)}, values=values)
        return _render(form, shown={"endpoint": endpoint, "secret": secret, "new": True})
    return _render(form, status=200 if request.method == "GET" else 400)


@bp.post("/admin/webhooks/<int:endpoint_id>/rotate")
@roles_required("owner")
def webhooks_rotate(endpoint_id: int):
    """A new secret for the endpoint, shown on this answer only; the old one stops working."""
    form = CsrfForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.webhooks_index"))
    try:
        secret = webhooks.rotate_secret(db.session, endpoint_id, actor=actor())
    except CreditError as error:
        flash(_refusal(error), "error")
        return redirect(url_for("admin.webhooks_index"))
    endpoint = webhooks.get_endpoint(db.session, endpoint_id)
    return _render(form, shown={"endpoint": endpoint, "secret": secret, "new": False})


@bp.post("/admin/webhooks/<int:endpoint_id>/active")
@roles_required("owner")
def webhooks_active(endpoint_id: int):
    """Deactivate an endpoint (nothing more is sent to it), or reactivate it."""
    if CsrfForm().validate_on_submit():
        active = request.form.get("active") == "on"
        try:
            endpoint = webhooks.set_active(db.session, endpoint_id, active, actor=actor())
        except CreditError as error:
            flash(_refusal(error), "error")
        else:
            if active:
                flash(_("%(url)s will receive events again.", url=endpoint.url), "success")
            else:
                flash(
                    _("%(url)s is deactivated: nothing more is sent to it.", url=endpoint.url),
                    "success",
                )
    return redirect(url_for("admin.webhooks_index"))


@bp.post("/admin/webhooks/redeliver")
@roles_required("owner")
def webhooks_redeliver():
    """Send one event to one endpoint again (same webhook-id) at the next delivery pass."""
    if CsrfForm().validate_on_submit():
        try:
            webhooks.redeliver(
                db.session,
                request.form.get("event_id", ""),
                request.form.get("endpoint_id", ""),
                actor=actor(),
            )
        except CreditError as error:
            flash(_refusal(error), "error")
        else:
            flash(_("The event will be sent again at the next delivery pass."), "success")
    return redirect(url_for("admin.webhooks_index"))
