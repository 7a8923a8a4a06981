"""Back-office views: users and roles, API keys (owner), and the audit log (all staff)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import invitations, listing, mail, people
from ..access import STAFF, actor, roles_required
from ..credit.errors import CreditError
from ..credit.ledger import write_transaction
from ..extensions import db
from ..htmx import render_page_or_fragment
from ..models import ApiKey, User
from . import bp
from .settings import CsrfForm


@bp.route("/admin/users", methods=["GET", "POST"])
@roles_required("owner")
def users_index():
    """Logins and their roles; create one (with a password or to be invited)."""
    form, status = CsrfForm(), 200
    if request.method == "POST" and form.validate_on_submit():
        role, password = request.form.get("role", ""), request.form.get("password") or None
        try:
            with write_transaction(db.session):  # the login and its invitation, or nothing
                user = people.create_user(
                    db.session,
                    request.form.get("email", ""),
                    role,
                    actor=actor(),
                    password=password,
                )
                if password is None:
                    invitations.invite_login(db.session, user.email, actor=actor(), role=role)
        except CreditError as error:
            flash(_password_reason(error, role), "error")
            status = 422
        else:
            flash(_created_message(user.email, invited=password is None), "success")
            return redirect(url_for("admin.users_index"))
    users = db.session.scalars(db.select(User).order_by(User.role, User.email)).all()
    return render_template(
        "admin/people/users.html",
        users=users,
        form=form,
        roles=people.ROLES,
        min_staff=people.MIN_STAFF_PASSWORD,
        min_customer=people.MIN_CUSTOMER_PASSWORD,
    ), status


def _created_message(email: str, *, invited: bool) -> str:
    """What the owner learns after creating a login (never the invitation link itself)."""
    if not invited:
        return _("User created.")
    if mail.configured():
        return _("User created. An invitation is being e-mailed to %(email)s.", email=email)
    return _(
        "User created. No e-mail server is set up, so the invitation to %(email)s waits in "
        "the outbox; it is sent once MAIL_SERVER is configured.",
        email=email,
    )


def _password_reason(error: CreditError, role: str) -> str:
    """The engine's refusal, with the password rule spelled out in the viewer's language."""
    if error.code != "weak_password":
        return error.message
    return _(
        "The password is too short: use at least %(num)d characters for this role.",
        num=people.min_password(role),
    )


@bp.post("/admin/users/<int:user_id>")
@roles_required("owner")
def users_change(user_id: int):
    """Change a role, or deactivate / reactivate a login (deactivating ends its sessions)."""
    if CsrfForm().validate_on_submit():
        active = {"on": True, "off": False}.get(request.form.get("active", ""))
        try:
            people.change_user(
                db.session,
                user_id,
                actor=actor(),
                role=request.form.get("role") or None,
                active=active,
            )
        except CreditError as error:
            flash(error.message, "error")
        else:
            flash(_("User changed."), "success")
    return redirect(url_for("admin.users_index"))


@bp.route("/admin/api-keys", methods=["GET", "POST"])
@roles_required("owner")
def api_keys_index():
    """API keys and their scopes; a new key's token is shown once, on this answer only."""
    form, created, status = CsrfForm(), None, 200
    if request.method == "POST" and form.validate_on_submit():
        scopes = request.form.getlist("scopes")
        try:
            created = people.create_api_key(
                db.session, request.form.get("label", ""), scopes or ["none"], actor=actor()
            )
        except CreditError as error:
            flash(error.message, "error")
            status = 422
    keys = db.session.scalars(db.select(ApiKey).order_by(ApiKey.id.desc())).all()
    return render_template(
        "admin/people/api_keys.html", keys=keys, form=form, created=created, scopes=people.SCOPES
    ), status


@bp.post("/admin/api-keys/<int:key_id>/revoke")
@roles_required("owner")
def api_keys_revoke(key_id: int):
    """Revoke a key for good."""
    if CsrfForm().validate_on_submit():
        people.revoke_api_key(db.session, key_id, actor=actor())
        flash(_("API key revoked."), "success")
    return redirect(url_for("admin.api_keys_index"))


@bp.get("/admin/audit")
@roles_required(*STAFF)
def audit_index():
    """Who did what, filterable by actor, action, account and dates."""
    query = listing.parse(listing.AUDIT, request.args, strict=False)
    page = listing.run(db.session, listing.AUDIT, query, count_cap=10_000)
    return render_page_or_fragment(
        "admin/people/audit.html", "admin/people/partials/_audit_table.html", page=page
    )
