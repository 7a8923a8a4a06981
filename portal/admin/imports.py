"""Back-office views: CSV import (upload → preview → apply → result) and its history."""

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import imports
from ..access import STAFF, WRITERS, actor, roles_required
from ..credit.errors import CreditError
from ..extensions import db
from . import bp
from .forms import ApplyImportForm, UploadForm


@bp.route("/admin/imports", methods=["GET", "POST"])
@roles_required(*STAFF)
def imports_index():
    """The upload form and who imported what, when."""
    form = UploadForm(kind=request.args.get("kind", "accounts"))
    status = 200
    if request.method == "POST":
        if not _can_write():
            return render_template("errors/403.html"), 403
        if form.validate_on_submit():
            upload = form.file.data
            try:
                batch, _plan = imports.preview_upload(
                    db.session,
                    form.kind.data,
                    upload.filename or "upload.csv",
                    upload.read(),
                    actor(),
                    max_bytes=_max_bytes(),
                )
            except CreditError as error:
                form.file.errors.append(error.message)
            else:
                return redirect(url_for("admin.imports_show", batch_id=batch.id))
        status = 422
    return render_template(
        "admin/imports/index.html", form=form, history=imports.import_history(db.session)
    ), status


@bp.get("/admin/imports/<int:batch_id>")
@roles_required(*STAFF)
def imports_show(batch_id: int):
    """The dry run of an upload: what each row would do, and the rejected rows."""
    batch, plan, _rows = _load(batch_id)
    return render_template(
        "admin/imports/show.html",
        batch=batch,
        plan=plan,
        form=ApplyImportForm(),
        can_write=_can_write(),
    )


@bp.post("/admin/imports/<int:batch_id>/apply")
@roles_required(*WRITERS)
def imports_apply(batch_id: int):
    """Apply a previewed file, all-or-nothing unless only the valid rows are asked for."""
    form = ApplyImportForm()
    if form.validate_on_submit():
        try:
            batch, _plan = imports.apply_batch(
                db.session, batch_id, actor(), only_valid=form.only_valid.data
            )
        except CreditError as error:
            flash(error.message, "error")
        else:
            counts = batch.counts
            flash(
                _(
                    "Applied: %(create)s created, %(update)s updated, %(unchanged)s unchanged, "
                    "%(rejected)s rejected.",
                    **counts,
                ),
                "success",
            )
    return redirect(url_for("admin.imports_show", batch_id=batch_id))


@bp.get("/admin/imports/<int:batch_id>/rejected.csv")
@roles_required(*STAFF)
def imports_rejected(batch_id: int):
    """The rejected rows with an Error column, to fix and upload again."""
    batch, plan, rows = _load(batch_id)
    body = imports.rejected_rows_csv(plan, rows, batch.kind)
    return _csv_download(body, f"rejected-{batch.id}-{batch.filename}")


@bp.get("/admin/imports/template/<any(accounts, invoices):kind>.csv")
@roles_required(*STAFF)
def imports_template(kind: str):
    """The import template with its header and an example row."""
    return _csv_download(imports.template_csv(kind), f"{kind}-template.csv")


def _load(batch_id: int):
    from flask import abort

    try:
        return imports.load_batch(db.session, batch_id)
    except CreditError:
        abort(404)


def _csv_download(body: str, filename: str) -> Response:
    safe = "".join(c for c in filename if c.isalnum() or c in "-_.") or "file.csv"
    if not safe.endswith(".csv"):
        safe += ".csv"
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{safe}"'}
    )


def _can_write() -> bool:
    from flask_login import current_user

    return current_user.role in WRITERS


def _max_bytes() -> int:
    from flask import current_app

    return int(current_app.config.get("IMPORT_MAX_BYTES", imports.MAX_BYTES))
