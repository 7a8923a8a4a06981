"""The back-office dashboard."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from flask import render_template, url_for
from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from .. import activity, credit, figures, jobs, webhooks
from ..access import STAFF, WRITERS, roles_required
from ..extensions import db
from ..i18n import money
from ..models import OutboxMessage, WebhookEndpoint, utcnow
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
        background=background_work(current_user.role),
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


# --- background work: the jobs worker, disabled webhooks, the outbox ----------------------

# The worker runs a pass every minute (JOBS_EVERY): none finished for this long means it is
# not running (or stuck), and nothing that happens later happens.
WORKER_LATE_AFTER = timedelta(minutes=10)
OUTBOX_ROLES = WRITERS  # who may open admin.outbox_index (its roles_required)
WEBHOOKS_ROLES = ("owner",)  # who may open admin.webhooks_index

# What a pass's count means, per "job" or "job.key" (jobs.flat_counts); literal ngettext
# calls so that the phrases can be extracted for translation.
JOB_PHRASES: dict[str, Callable[[int], str]] = {
    "expire": lambda n: ngettext("%(num)d hold expired", "%(num)d holds expired", n),
    "settle": lambda n: ngettext("%(num)d hold settled", "%(num)d holds settled", n),
    "reminders.reminders": lambda n: ngettext("%(num)d reminder", "%(num)d reminders", n),
    "reminders.emails": lambda n: ngettext(
        "%(num)d reminder e-mail queued", "%(num)d reminder e-mails queued", n
    ),
    "reminders.busy": lambda n: ngettext(
        "%(num)d account left for the next pass", "%(num)d accounts left for the next pass", n
    ),
    "scheduled_limits.applied": lambda n: ngettext(
        "%(num)d scheduled limit applied", "%(num)d scheduled limits applied", n
    ),
    "scheduled_limits.failed": lambda n: ngettext(
        "%(num)d scheduled limit not applied", "%(num)d scheduled limits not applied", n
    ),
    "scheduled_limits.skipped": lambda n: ngettext(
        "%(num)d scheduled limit postponed", "%(num)d scheduled limits postponed", n
    ),
    "webhook_calendar": lambda n: ngettext("%(num)d calendar event", "%(num)d calendar events", n),
    "webhooks.sent": lambda n: ngettext(
        "%(num)d webhook delivered", "%(num)d webhooks delivered", n
    ),
    "webhooks.failed": lambda n: ngettext(
        "%(num)d webhook call failed", "%(num)d webhook calls failed", n
    ),
    "outbox_purge": lambda n: ngettext(
        "%(num)d old sent message deleted", "%(num)d old sent messages deleted", n
    ),
    "outbox.sent": lambda n: ngettext("%(num)d e-mail sent", "%(num)d e-mails sent", n),
    "outbox.failed": lambda n: ngettext("%(num)d e-mail failed", "%(num)d e-mails failed", n),
}


def counts_in_words(counts: Mapping[str, jobs.Count]) -> list[str]:
    """What a pass did, in words ("2 holds settled", "1 e-mail sent"); zeros left out."""
    words = []
    for key, count in jobs.flat_counts(counts):
        if count:
            phrase = JOB_PHRASES.get(key)
            words.append(phrase(count) if phrase else _("%(name)s: %(num)d", name=key, num=count))
    return words


@dataclass(frozen=True)
class BackgroundWork:
    """The dashboard's card about what runs later: the last pass and what needs a person."""

    last: jobs.LastRun | None
    done: list[str]  # the last pass's counts in words
    late: bool  # no pass finished within WORKER_LATE_AFTER (or none ever did)
    late_for: str  # how long since the last pass finished, in words ("11 minutes")
    disabled_webhooks: list[WebhookEndpoint] = field(default_factory=list)
    outbox: dict[str, int] | None = None  # pending / failed, for who may open the outbox


def background_work(role: str) -> BackgroundWork:
    """The card for `role`: one query per figure (last pass, disabled endpoints, outbox)."""
    last = jobs.last_run(db.session)
    idle = utcnow() - last.finished_at if last is not None else None
    late = idle is None or idle > WORKER_LATE_AFTER
    return BackgroundWork(
        last=last,
        done=counts_in_words(last.counts) if last is not None else [],
        late=late,
        late_for=format_timedelta(idle, threshold=2) if late and idle is not None else "",
        disabled_webhooks=webhooks.disabled_endpoints(db.session) if role in WEBHOOKS_ROLES else [],
        outbox=outbox_backlog() if role in OUTBOX_ROLES else None,
    )


def outbox_backlog() -> dict[str, int]:
    """How many messages wait and how many failed: the counts of the outbox list filtered by
    that status. Sent rows (kept OUTBOX_KEEP_DAYS) are not read: the (status,
    next_attempt_at) index answers this from the two statuses alone."""
    waiting = ("pending", "failed")
    rows = db.session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.status.in_(waiting))
        .group_by(OutboxMessage.status)
    ).all()
    return {"pending": 0, "failed": 0, **dict(rows)}
