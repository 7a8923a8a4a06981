"""Invitation and reset links for logins, sent by e-mail (or printed when there is none)."""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import people
from .mail import send_mail
from .models import User


def invitation_link(user: User) -> str:
    """The absolute link that lets `user` choose a password (valid 7 days, single use)."""
    token = people.password_token(current_app.config["SECRET_KEY"], user)
    return url_for("auth.set_password", token=token, _external=True)


def invite_holder(session: Session, email: str, *, actor: str) -> tuple[User, str, bool]:
    """Make sure a holder's e-mail has a customer login and send it an invitation.

    Returns (user, link, sent). A login that already has a password gets no invitation.
    """
    user = people.invite_customer(session, email, actor=actor)
    if user.password_hash:
        return user, "", False
    link = invitation_link(user)
    sent = send_mail(
        user.email,
        _("Your credit account: choose a password"),
        _(
            "You can now see your credit and invoices online.\n\n"
            "Choose your password here (valid for 7 days):\n%(link)s\n",
            link=link,
        ),
    )
    return user, link, sent


def send_reset(session: Session, email: str) -> bool:
    """E-mail a reset link if the address has an active login; say nothing either way."""
    user = session.scalar(select(User).where(User.email == email.strip().lower(), User.active))
    if user is None:
        return False
    token = people.password_token(current_app.config["SECRET_KEY"], user)
    link = url_for("auth.reset_password", token=token, _external=True)
    return send_mail(
        user.email,
        _("Reset your password"),
        _(
            "Someone asked to reset your password. If it was you, open this link "
            "within 2 hours:\n%(link)s\n\nOtherwise ignore this message.",
            link=link,
        ),
    )
