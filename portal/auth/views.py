"""Login, logout and the home redirect."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import people
from ..extensions import db
from . import bp
from .forms import LoginForm
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
