"""The back-office views."""

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
    receivables = figures.receivables(db.session, credit.get_settings(db.session))
    return render_template(
        "admin/dashboard.html",
        portfolio=figures.portfolio(db.session),
        receivables=receivables,
        aging_labels=AGING_LABELS,
        chart=aging_chart(receivables),
        activity=figures.recent_activity(db.session),
    )


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
