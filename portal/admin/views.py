"""The back-office dashboard."""

from datetime import timedelta
from urllib.parse import urlencode

from flask import render_template
from flask_babel import lazy_gettext as _l

from .. import credit, figures
from ..access import STAFF, roles_required
from ..extensions import db
from ..i18n import money
from . import bp

AGING_LABELS = {
    "current": _l("Not yet due"),
    "1-30": _l("1–30 days"),
    "31-60": _l("31–60 days"),
    "61-90": _l("61–90 days"),
    "90+": _l("Over 90 days"),
}


@bp.get("/admin")
@roles_required(*STAFF)
def dashboard():
    """The store's credit at a glance: lines granted and used, receivables, activity."""
    settings = credit.get_settings(db.session)
    receivables = figures.receivables(db.session, settings)
    return render_template(
        "admin/dashboard.html",
        portfolio=figures.portfolio(db.session),
        receivables=receivables,
        aging_labels=AGING_LABELS,
        aging_links=aging_links(receivables.today),
        chart=aging_chart(receivables),
        activity=figures.recent_activity(db.session),
        near_limit=figures.near_limit(db.session),
        on_hold=figures.on_hold(db.session, settings),
    )


def aging_links(today) -> dict[str, str]:
    """The invoices list behind each aging row (the list's own filters)."""

    def overdue(first: int, last: int | None) -> str:
        args = {"status": "Overdue", "due_to": (today - timedelta(days=first)).isoformat()}
        if last is not None:
            args["due_from"] = (today - timedelta(days=last)).isoformat()
        return "/admin/invoices?" + urlencode(args)

    return {
        "current": "/admin/invoices?"
        + urlencode({"status": "Opened", "due_from": today.isoformat()}),
        "1-30": overdue(1, 30),
        "31-60": overdue(31, 60),
        "61-90": overdue(61, 90),
        "90+": overdue(91, None),
    }


def aging_chart(receivables: figures.Receivables) -> dict:
    """The data dashboard.js draws: labels, amounts (as numbers) and formatted amounts."""
    buckets = receivables.buckets
    return {
        "labels": [str(AGING_LABELS[b.key]) for b in buckets],
        "amounts": [str(b.amount) for b in buckets],
        "formatted": [money(b.amount) for b in buckets],
        "counts": [b.count for b in buckets],
        "keys": [b.key for b in buckets],
    }
