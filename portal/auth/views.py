"""Login, logout, passwords (invitation, reset, change) and the home redirect.

Sign-in and reset requests are throttled per (e-mail, client address) in the database
(`portal/throttle.py`); a blocked attempt is answered 429 without checking anything.
"""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import invitations, people, reminders, throttle
from ..credit.errors import CreditError
from ..extensions import csrf, db
from ..i18n import LANGUAGE_COOKIE, SUPPORTED
from ..models import User
from . import bp
from .forms import ChangePasswordForm, LoginForm, ResetRequestForm, SetPasswordForm
from .login import end_session, home_url, safe_next, start_session

LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # a year


@bp.get("/")
def home():
    """Send each visitor to their landing page (anonymous visitors to /login)."""
    return redirect(home_url())


def _too_many(template: str, form, gate: throttle.Gate, **context):
    """The 429 answer of a throttled attempt: the form again, with how long to wait."""
    form.form_errors.append(throttle.retry_message(gate.retry_after))
    response = current_app.make_response((render_template(template, form=form, **context), 429))
    response.headers["Retry-After"] = str(gate.retry_after)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; on valid credentials log in and go to `next` or home."""
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    if form.validate_on_submit():
        email, address = form.email.data, request.remote_addr
        gate = throttle.attempt(db.session, "login", email, address)
        if gate.blocked:
            return _too_many("auth/login.html", form, gate)
        throttle.sleep(gate.delay)
        user = people.authenticate(db.session, email, form.password.data)
        if user is not None:
            throttle.succeeded(db.session, "login", email, address)
            start_session(user)
            return redirect(safe_next(request.args.get("next")) or home_url(user))
        form.form_errors.append(_("Wrong e-mail or password."))
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/language")
def set_language():
    """Choose the language of pages and e-mails (the language menus): saved on the login,
    kept a year in the `lang` cookie (the login page reads it), then back to the page."""
    language = request.form.get("language", "")
    if language not in SUPPORTED:
        message = _(
            "Unknown language “%(code)s”. Choose one of: %(choices)s.",
            code=language[:20],
            choices=", ".join(SUPPORTED),
        )
        return render_template("errors/400.html", message=message), 400
    if current_user.is_authenticated:
        people.set_language(db.session, current_user.id, language)
    return _remember_language(redirect(safe_next(request.form.get("next")) or home_url()), language)


def _remember_language(response, language: str):
    """Keep the choice in this browser a year (the login page has no user to read it from);
    `Secure` as the session cookie is (HTTPS, or SESSION_COOKIE_SECURE)."""
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_COOKIE_AGE,
        secure=current_app.session_interface.get_cookie_secure(current_app),
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.post("/logout")
def logout():
    """End the session here and everywhere (POST only, so a link or an image cannot log
    anyone out): every copy of the cookie, and any remember-me cookie, stops working."""
    end_session()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Choose a first password from an invitation link (7 days, single use)."""
    return _choose_password(token, "invitation")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from a reset link (2 hours, single use)."""
    return _choose_password(token, "reset")


def _choose_password(token: str, purpose: str):
    secret = current_app.config["SECRET_KEY"]
    user = people.user_for_token(db.session, secret, token, purpose, now=throttle.now())
    if user is None:
        flash(_("This link is invalid, expired or already used. Ask for a new one."), "error")
        return redirect(url_for("auth.request_reset"))
    form = SetPasswordForm(role=user.role)
    if form.validate_on_submit() and _save_password(user, form):
        address = request.remote_addr
        throttle.succeeded(db.session, "login", user.email, address)
        throttle.succeeded(db.session, "reset", user.email, address)
        start_session(db.session.get(User, user.id))
        flash(_("Your password is set."), "success")
        return redirect(home_url(user))
    return render_template(
        "auth/set_password.html", form=form, email=user.email, min_length=form.min_length
    ), (422 if form.errors else 200)


def _save_password(user: User, form) -> bool:
    """Store the form's password (ending every session of the user); False with the
    field's error when the engine refuses it."""
    try:
        people.set_password(db.session, user, form.password.data, actor=user.email)
    except CreditError as error:
        form.password.errors = [*form.password.errors, _weak(error, user)]
        return False
    return True


def _weak(error: CreditError, user: User) -> str:
    if error.code == "weak_password":
        return _("Use at least %(num)d characters.", num=people.min_password(user.role))
    return error.message


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password: every other session ends, this one stays logged in."""
    user = db.session.get(User, current_user.id)
    form = ChangePasswordForm(role=user.role)
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr
        gate = throttle.attempt(db.session, "login", user.email, address)
        if gate.blocked:
            return _too_many("auth/change_password.html", form, gate, min_length=form.min_length)
        throttle.sleep(gate.delay)
        if not people.check_password(user, form.current.data):
            form.current.errors = [*form.current.errors, _("This is not your password.")]
        elif _save_password(user, form):
            throttle.succeeded(db.session, "login", user.email, address)
            start_session(db.session.get(User, user.id))
            flash(_("Your password is changed. Other sessions are logged out."), "success")
            return redirect(home_url())
    if form.errors:
        status = 422
    return render_template(
        "auth/change_password.html", form=form, min_length=form.min_length
    ), status


@bp.route("/reset", methods=["GET", "POST"])
def request_reset():
    """Ask for a reset link; the answer never tells whether the address has a login."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        gate = throttle.attempt(db.session, "reset", form.email.data, request.remote_addr)
        if gate.blocked:
            return _too_many("auth/reset.html", form, gate)
        invitations.send_reset(db.session, form.email.data)
        flash(_("If the address has a login, a reset link is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), 422 if form.errors else 200


@bp.route("/reminders/off/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the credential; mail clients POST it (RFC 8058)
def reminders_off(token: str):
    """Turn reminder e-mails off from the link in one, without logging in.

    GET asks for a click (mail scanners open links by themselves); POST — that button, or
    the mail client's one-click `List-Unsubscribe-Post` — turns them off for the e-mail on
    every account it holds. A token not made by the portal is refused (404).
    """
    email = reminders.email_for_token(token)
    if email is None:
        return render_template("auth/reminders_off.html", state="invalid"), 404
    if request.method == "POST":
        reminders.set_reminders(db.session, email, False, actor=email)
        return render_template("auth/reminders_off.html", state="done", email=email)
    return render_template("auth/reminders_off.html", state="ask", email=email)
