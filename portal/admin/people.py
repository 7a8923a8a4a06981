"""Back-office views: users and roles, API keys (owner), and the audit log (all staff)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl, urlencode

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func

from .. import invitations, listing, mail, people
from ..access import STAFF, actor, roles_required
from ..auth.login import ROLE_LABELS
from ..credit.errors import CreditError
from ..credit.ledger import write_transaction
from ..extensions import db
from ..htmx import render_page_or_fragment
from ..models import ApiKey, Holder, User
from . import bp
from .settings import CsrfForm

USERS_PAGE, USERS_TABLE = "admin/people/users.html", "admin/people/partials/_users_table.html"


@bp.route("/admin/users", methods=["GET", "POST"])
@roles_required("owner")
def users_index():
    """Logins in two tabs (staff, customers), searched and paged; create one (with a
    password, or without one: an invitation is e-mailed, its link is never shown here)."""
    form, status, errors = CsrfForm(), 200, {}
    if request.method == "POST" and form.validate_on_submit():
        email = request.form.get("email", "")
        role = request.form.get("role", "")
        password = request.form.get("password") or None
        if role not in people.ROLES:
            errors["role"] = _("Choose a role for the new login.")
        else:
            try:
                with write_transaction(db.session):  # the login and its invitation, or nothing
                    user = people.create_user(
                        db.session,
                        email,
                        role,
                        actor=actor(),
                        password=password,
                        name=request.form.get("name", ""),
                    )
                    if password is None:
                        invitations.invite_login(db.session, user.email, actor=actor(), role=role)
            except CreditError as error:
                field = error.field if error.field in ("email", "role", "password") else "form"
                errors[field] = _creation_refusal(error, email, role)
            else:
                flash(_created_message(user.email, invited=password is None), "success")
                tab = "staff" if user.is_staff else "customers"
                return redirect(url_for("admin.users_index", tab=tab, q=user.email))
        status = 422
    query = _users_query(request.args)
    return render_page_or_fragment(
        USERS_PAGE, USERS_TABLE, status, **_users_context(query), form=form, errors=errors
    )


def _users_query(args) -> listing.ListingQuery:
    """The table's state from a query string: a known tab (staff by default), a role filter
    on the staff tab only, and a page that exists (anything else is page 1)."""
    query = listing.parse(listing.USERS, args, strict=False)
    try:
        tab = listing.user_tab(query.filters.get("tab"))
    except CreditError:
        tab = "staff"
    filters = {"tab": tab}
    if tab == "staff" and "role" in query.filters:
        filters["role"] = query.filters["role"]
    return replace(query, filters=filters, op="and")


def _users_context(query: listing.ListingQuery) -> dict:
    """What the page and its table fragment show."""
    page = listing.run(db.session, listing.USERS, query)
    if not page.items and query.page > page.pages:  # a page past the end: the last one
        page = listing.run(db.session, listing.USERS, replace(query, page=page.pages))
    tab = page.query.filters["tab"]
    accounts: dict[str, list[str]] = {}  # a customer's e-mail: the accounts it holds
    if tab == "customers" and page.items:
        for email, account_id in db.session.execute(
            db.select(Holder.email, Holder.account_id)
            .where(Holder.email.in_([user.email for user in page.items]))
            .order_by(Holder.email, Holder.level, Holder.account_id)
        ):
            accounts.setdefault(email, []).append(account_id)
    counts = {
        name: db.session.scalar(
            db.select(func.count()).select_from(User).where(User.role.in_(roles))
        )
        for name, roles in listing.USER_TABS.items()
    }
    return {
        "page": page,
        "tab": tab,
        "counts": counts,
        "accounts": accounts,
        "back": urlencode(page.query.to_args()),
        "roles": people.ROLES,
        "staff_roles": people.STAFF_ROLES,
        "role_labels": ROLE_LABELS,
        "role_consequences": _role_consequences(),
        "min_staff": people.MIN_STAFF_PASSWORD,
        "min_customer": people.MIN_CUSTOMER_PASSWORD,
    }


def _role_consequences() -> dict[str, str]:
    """What a staff role may do, said when asking to give it to someone."""
    return {
        "owner": _("They will manage users, settings and API keys, and everything else."),
        "finance": _("They will change limits, invoices and payments, but not users or settings."),
        "support": _("They will only read accounts, invoices and the audit log."),
    }


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


def _creation_refusal(error: CreditError, email: str, role: str) -> str:
    """The engine's refusal of a new login, in the viewer's language."""
    if error.code == "weak_password":
        return _(
            "The password is too short: use at least %(num)d characters for this role.",
            num=people.min_password(role),
        )
    if error.code == "duplicate_email":
        return _("%(email)s already has a login.", email=email.strip())
    if error.code == "not_a_holder":
        return _(
            "%(email)s is not a holder of any account: a customer login needs one.",
            email=email.strip(),
        )
    return error.message


def _change_refusal(error: CreditError) -> str:
    """The engine's refusal of a change to a login, in the viewer's language."""
    messages = {
        "own_login": _("You cannot deactivate your own login; ask another owner."),
        "own_role": _("You cannot change your own role; ask another owner."),
        "last_owner": _("The store must keep at least one active owner."),
        "user_not_found": _("That login does not exist."),
    }
    return messages.get(error.code, error.message)


def _back_to_users(raw: str | None) -> str:
    """The users page in the state a change was made from (rebuilt, never taken as is)."""
    args = dict(parse_qsl(str(raw or "")[:1000]))
    return url_for("admin.users_index", **_users_query(args).to_args())


@bp.post("/admin/users/<int:user_id>")
@roles_required("owner")
def users_change(user_id: int):
    """Change a role, or deactivate / reactivate a login (deactivating ends its sessions).

    Nobody changes their own role or deactivates their own login (the engine refuses it).
    """
    if CsrfForm().validate_on_submit():
        active = {"on": True, "off": False}.get(request.form.get("active", ""))
        try:
            user = people.change_user(
                db.session,
                user_id,
                actor=actor(),
                acting_user_id=current_user.id,
                role=request.form.get("role") or None,
                active=active,
            )
        except CreditError as error:
            flash(_change_refusal(error), "error")
        else:
            flash(_changed_message(user, active), "success")
    return redirect(_back_to_users(request.form.get("back")))


def _changed_message(user: User, active: bool | None) -> str:
    if active is False:
        return _("%(email)s is deactivated; their sessions have ended.", email=user.email)
    if active is True:
        return _("%(email)s can log in again.", email=user.email)
    return _(
        "%(email)s is now %(role)s.",
        email=user.email,
        role=ROLE_LABELS.get(user.role, user.role),
    )


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
    """Who did what, told as sentences; filterable by actor, named action, account, dates."""
    from .. import activity  # the shared read layer that tells events as sentences

    query = listing.parse(listing.AUDIT, request.args, strict=False)
    page = listing.run(db.session, listing.AUDIT, query, count_cap=10_000)
    return render_page_or_fragment(
        "admin/people/audit.html",
        "admin/people/partials/_audit_table.html",
        page=page,
        entries=activity.describe(db.session, page.items),
        action_choices=activity.action_choices(),
        known_actions=activity.ACTIONS,
    )
