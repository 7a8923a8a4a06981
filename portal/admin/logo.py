"""Back-office views: the store's logo, uploaded and removed on the settings page (owner)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from .. import credit
from ..access import actor, roles_required
from ..credit.errors import CreditError
from ..credit.logo import MAX_LOGO_BYTES, remove_logo, save_logo
from ..extensions import db
from . import bp
from .settings import CsrfForm, saved_values, settings_page


def _back():
    return redirect(url_for("admin.settings_index") + "#logo")


@bp.post("/admin/settings/logo")
@roles_required("owner")
def settings_logo():
    """Keep the uploaded file as the store's logo; a refused one is named on the page (422).

    Only its bytes count (PNG or JPEG, size and pixels checked), never its name; at most
    one byte past the limit is read, enough to refuse a larger file.
    """
    form = CsrfForm()
    if not form.validate_on_submit():
        return _back()
    upload = request.files.get("logo")
    data = upload.stream.read(MAX_LOGO_BYTES + 1) if upload else b""
    try:
        save_logo(db.session, data, actor())
    except CreditError as error:
        values, rows = saved_values(credit.get_settings(db.session))
        return settings_page(form, values, rows, {}, logo_error=error.message)
    flash(_("Logo saved."), "success")
    return _back()


@bp.post("/admin/settings/logo/delete")
@roles_required("owner")
def settings_remove_logo():
    """Remove the store's logo (the page asks first)."""
    if CsrfForm().validate_on_submit() and remove_logo(db.session, actor()):
        flash(_("Logo removed."), "success")
    return _back()
