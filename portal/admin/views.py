"""The back-office dashboard."""

from flask import render_template, url_for
from flask_babel import lazy_gettext as _l

from .. import activity, credit, figures
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
    """The store's credit at a glance: lines granted and used, receivables, activity.

    Every figure that links to a list is computed with that list's filters (figures.py),
    and its link is built here from the same arguments: the number is the list's count.
    """
    settings = credit.get_settings(db.session)
    receivables = figures.receivables(db.session, settings)
    watch = figures.watchlists(db.session)
    return render_template(
        "admin/dashboard.html",
        portfolio=figures.portfolio(db.session),
        receivables=receivables,
        aging_labels=AGING_LABELS,
        aging_links=aging_links(receivables),
        chart=aging_chart(receivables),
        activity=activity.describe(db.session, figures.recent_activity(db.session)),
        watch=watch,
        links=dashboard_links(watch),
    )


def accounts_link(args: dict, **extra) -> str:
    """The accounts list of `args` (a figures.*_ACCOUNTS), optionally sorted."""
    return url_for("admin.accounts_index", **args, **extra)


def invoices_link(args: dict, **extra) -> str:
    """The invoices list of `args` (a figures.*_INVOICES), optionally sorted."""
    return url_for("admin.invoices_index", **args, **extra)


def dashboard_links(watch: dict[str, figures.Watchlist]) -> dict[str, str]:
    """The list behind each figure of the dashboard."""
    return {
        "granted": accounts_link(figures.OPEN_ACCOUNTS),
        "used": accounts_link(figures.OPEN_ACCOUNTS, sort="-used"),
        "pre_authorized": accounts_link(figures.OPEN_ACCOUNTS, sort="-pre_authorized"),
        "available": accounts_link(figures.OPEN_ACCOUNTS, sort="-available"),
        "open_invoices": invoices_link(figures.OPEN_INVOICES),
        "overdue_invoices": invoices_link(figures.OVERDUE_INVOICES, sort="due_date"),
        **{key: accounts_link(w.args) for key, w in watch.items()},
    }


def aging_links(receivables: figures.Receivables) -> dict[str, str]:
    """The invoices list behind each aging row (the list's own filters)."""
    return {b.key: invoices_link(b.args, sort="due_date") for b in receivables.buckets}


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
