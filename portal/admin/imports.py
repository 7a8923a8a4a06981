"""Back-office views: CSV import (upload → preview → apply → result) and its history."""

from decimal import Decimal

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from .. import imports, uploads
from ..access import STAFF, WRITERS, actor, roles_required
from ..credit.errors import CreditError
from ..credit.permissions import EVERYTHING, Grant
from ..extensions import db
from . import bp
from .forms import ApplyImportForm, UploadForm

PREVIEW_ROWS = 500  # rows of each kind the preview lists; the rejected ones download whole


def _grant() -> Grant:
    """What the viewer may change; a reader sees what the file asks for, unrestricted."""
    return Grant.for_role(current_user.role) if current_user.role in WRITERS else EVERYTHING


@bp.route("/admin/imports", methods=["GET", "POST"])
@roles_required(*STAFF)
def imports_index():
    """The upload form and who imported what, when."""
    form = UploadForm(kind=request.args.get("kind", "accounts"))
    status = 200
    if request.method == "POST":
        if current_user.role not in WRITERS:
            abort(403)
        if form.validate_on_submit():
            try:
                batch, _plan = uploads.preview_upload(
                    db.session,
                    form.kind.data,
                    form.file.data.filename,
                    form.file.data.read(),
                    actor(),
                    grant=_grant(),
                    max_bytes=current_app.config["IMPORT_MAX_BYTES"],
                )
            except CreditError as error:
                form.file.errors.append(error.message)
            else:
                return redirect(url_for("admin.imports_show", batch_id=batch.id))
        status = 422
    history = uploads.import_history(db.session)
    return render_template("admin/imports/index.html", form=form, history=history), status


@bp.get("/admin/imports/<int:batch_id>")
@roles_required(*STAFF)
def imports_show(batch_id: int):
    """The dry run of an upload: what each row would do (old → new), every reason of each
    rejected row, and an Apply button that says what it will do.

    `?only_valid=1` is the "only the valid rows" box ticked: the page is rendered again
    with the button for that choice (htmx swaps the panel; without JS, a plain GET).
    """
    batch, plan, _rows = _load(batch_id)
    only_valid = request.args.get("only_valid") == "1"
    label, enabled = apply_label(plan.counts, only_valid)
    return render_template(
        "admin/imports/show.html",
        batch=batch,
        plan=plan,
        rejected_rows=plan.of("rejected"),
        update_rows=plan.of("update"),
        create_rows=plan.of("create"),
        shown=PREVIEW_ROWS,
        form=ApplyImportForm(),
        only_valid=only_valid,
        apply_label=label,
        apply_enabled=enabled,
        rate_places=rate_places,
        can_write=current_user.role in WRITERS,
    )


def apply_label(counts: dict[str, int], only_valid: bool) -> tuple[str, bool]:
    """What the Apply button says, and whether it can be pressed.

    No rejected row: "Apply 3 changes". Rejected rows, only the valid ones: "Apply 2 valid
    rows, skip 1 rejected". Rejected rows, all-or-nothing: "Fix 1 rejected row to apply
    all-or-nothing", which cannot be pressed.
    """
    changes, rejected = counts["create"] + counts["update"], counts["rejected"]
    if not rejected:
        return ngettext("Apply %(num)d change", "Apply %(num)d changes", changes), True
    if only_valid:
        return _(
            "%(apply)s, %(skip)s",
            apply=ngettext("Apply %(num)d valid row", "Apply %(num)d valid rows", changes),
            skip=ngettext("skip %(num)d rejected", "skip %(num)d rejected", rejected),
        ), True
    return ngettext(
        "Fix %(num)d rejected row to apply all-or-nothing",
        "Fix %(num)d rejected rows to apply all-or-nothing",
        rejected,
    ), False


def rate_places(value) -> int:
    """The decimals a tolerance needs as a percentage: 0.1 → 0 (10%), 0.125 → 1 (12.5%)."""
    exponent = (Decimal(value) * 100).normalize().as_tuple().exponent
    return max(0, min(2, -int(exponent)))


@bp.post("/admin/imports/<int:batch_id>/apply")
@roles_required(*WRITERS)
def imports_apply(batch_id: int):
    """Apply a previewed file, all-or-nothing unless only the valid rows are asked for."""
    form = ApplyImportForm()
    if form.validate_on_submit():
        try:
            batch, _plan = uploads.apply_batch(
                db.session, batch_id, actor(), only_valid=form.only_valid.data, grant=_grant()
            )
        except CreditError as error:
            flash(error.message, "error")
            only_valid = 1 if form.only_valid.data else None  # back to the same choice
            return redirect(url_for("admin.imports_show", batch_id=batch_id, only_valid=only_valid))
        flash(
            _(
                "Applied: %(create)s created, %(update)s updated, %(unchanged)s unchanged, "
                "%(rejected)s rejected.",
                **batch.counts,
            ),
            "success",
        )
    return redirect(url_for("admin.imports_show", batch_id=batch_id))


@bp.post("/admin/imports/<int:batch_id>/discard")
@roles_required(*WRITERS)
def imports_discard(batch_id: int):
    """Drop an upload that will not be applied, freeing room for new ones."""
    if ApplyImportForm().validate_on_submit():
        try:
            batch = uploads.discard_batch(db.session, batch_id, actor())
        except CreditError as error:
            flash(error.message, "error")
            return redirect(url_for("admin.imports_show", batch_id=batch_id))
        flash(_("Upload %(name)s discarded.", name=batch.filename), "success")
    return redirect(url_for("admin.imports_index"))


@bp.get("/admin/imports/<int:batch_id>/rejected.csv")
@roles_required(*STAFF)
def imports_rejected(batch_id: int):
    """The rejected rows with an Error column, to fix and upload again."""
    batch, plan, rows = _load(batch_id)
    body = uploads.rejected_rows_csv(plan, rows, batch.kind)
    return _csv_download(body, f"rejected-{batch.id}-{batch.filename}")


@bp.get("/admin/imports/template/<any(accounts, invoices):kind>.csv")
@roles_required(*STAFF)
def imports_template(kind: str):
    """The import template with its header and an example row."""
    return _csv_download(imports.template_csv(kind), f"{kind}-template.csv")


def _load(batch_id: int):
    try:
        return uploads.load_batch(db.session, batch_id, _grant())
    except CreditError:
        abort(404)


def _csv_download(body, filename: str) -> Response:
    safe = "".join(c for c in filename if c.isascii() and (c.isalnum() or c in "-_.")) or "file"
    if not safe.endswith(".csv"):
        safe += ".csv"
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{safe}"'}
    )
