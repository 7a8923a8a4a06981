"""The totals line of the accounts and invoices lists, loaded after the table."""

from __future__ import annotations

from flask import render_template, request, url_for

from .. import listing
from ..extensions import db

COUNT_CAP = 10_000  # lists count this far on each keystroke; totals decide from it too


def totals_fragment(spec: listing.ListingSpec, query: listing.ListingQuery, template: str):
    """The totals of the whole filtered set, rendered with `template`.

    A free-text search that matches more than COUNT_CAP rows gets "more than …" and a
    button instead: adding up every match is what would make it slow, so it is done
    when asked for (`exact=1`). Filters on status and dates are answered from indexes.
    """
    if request.args.get("exact") != "1" and listing.broad_search(
        db.session, spec, query, COUNT_CAP
    ):
        url = url_for(request.endpoint, exact="1", **query.to_args())
        return render_template("admin/_totals_on_request.html", url=url, cap=COUNT_CAP)
    return render_template(template, totals=listing.summarize(db.session, spec, query))
