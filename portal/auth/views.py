"""Login, logout and the home redirect."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import invitations, people
from ..extensions import db
from . import bp
from .forms import LoginForm, ResetRequestForm, SetPasswordForm
from .login import home_url, safe_next


@bp.get("/")
def home():
    """Send each visitor to their landing page (anonymous visitors to /login)."""
    return redirect(home_url())


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; on valid credentials log in and go to `next` or home."""
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    if form.validate_on_submit():
        user = people.authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or home_url(user))
        form.form_errors.append(_("Wrong e-mail or password."))
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    """End the session (POST only, so a link or an image cannot log anyone out)."""
    logout_user()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Choose a password from an invitation link (7 days, single use)."""
    return _choose_password(token, people.INVITE_MAX_AGE)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from a reset link (2 hours, single use)."""
    return _choose_password(token, people.RESET_MAX_AGE)


def _choose_password(token: str, max_age: int):
    user = people.user_for_token(db.session, current_app.config["SECRET_KEY"], token, max_age)
    if user is None:
        flash(_("This link is invalid, expired or already used. Ask for a new one."), "error")
        return redirect(url_for("auth.request_reset"))
    form = SetPasswordForm()
    if form.validate_on_submit():
        people.set_password(db.session, user, form.password.data, actor=user.email)
        login_user(db.session.get(type(user), user.id))
        flash(_("Your password is set."), "success")
        return redirect(home_url(user))
    return render_template("auth/set_password.html", form=form, email=user.email), (
        422 if form.errors else 200
    )


@bp.route("/reset", methods=["GET", "POST"])
def request_reset():
    """Ask for a reset link; the answer never tells whether the address has a login."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        invitations.send_reset(db.session, form.email.data)
        flash(_("If the address has a login, a reset link is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), 422 if form.errors else 200
