"""Invitations and password resets: queued in the outbox, with links made when sent.

A queued message stores only `{"user_id": …}`; `render_invitation` / `render_reset` make a
fresh single-use token and its link at send time. Links are built from PUBLIC_URL, never
from the Host header of whichever request caused them, and never appear on a page or in
a log (the CLI may print one for the operator who asked for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import outbox, people, throttle
from .credit.accounts import update_account
from .credit.errors import Conflict, InvalidInput
from .credit.ledger import audit, lock_account, write_transaction
from .credit.validation import normalize_email
from .identity import signed
from .models import Account, Holder, OutboxMessage, User

RESET_RESEND_SECONDS = 60  # at most one reset e-mail a minute per login, whoever asks


def public_url(endpoint: str, **values) -> str:
    """PUBLIC_URL + the path of `endpoint`: the same whatever host a request came to."""
    base = str(current_app.config["PUBLIC_URL"]).rstrip("/")
    path = current_app.url_map.bind("localhost", script_name="/").build(endpoint, values)
    return base + path


def invitation_link(user: User, *, now: datetime | None = None) -> str:
    """A fresh link that lets `user` choose a first password (7 days, single use)."""
    token = people.password_token(current_app.config["SECRET_KEY"], user, "invitation", now=now)
    return public_url("auth.set_password", token=token)


def reset_link(user: User, *, now: datetime | None = None) -> str:
    """A fresh link that lets `user` choose a new password (2 hours, single use)."""
    token = people.password_token(current_app.config["SECRET_KEY"], user, "reset", now=now)
    return public_url("auth.reset_password", token=token)


def _request_locale() -> str | None:
    if not has_request_context():
        return None
    locale = get_locale()
    return str(locale) if locale else None


def _queue(session: Session, topic: str, user: User, locale: str | None) -> None:
    payload = {"user_id": user.id}
    if locale:
        payload["locale"] = locale
    outbox.enqueue(session, topic=topic, recipient=user.email, payload=payload)


def _waiting(session: Session, topic: str, user: User, since: datetime | None = None) -> bool:
    """Whether a message of `topic` for `user` is still pending (or was made after `since`)."""
    recent = OutboxMessage.status == "pending"
    if since is not None:
        recent = or_(recent, OutboxMessage.created_at >= since)
    return bool(
        session.scalar(
            select(OutboxMessage.id)
            .where(OutboxMessage.topic == topic, OutboxMessage.recipient == user.email, recent)
            .limit(1)
        )
    )


def invite_login(
    session: Session, email: str, *, actor: str, role: str = "customer", staff: bool = True
) -> tuple[User, bool]:
    """Queue an invitation for the login of `email` (creating it with `role` if missing).

    Joins the caller's write transaction. A login that already has a password, or is
    inactive, gets no invitation. Returns (user, whether an invitation is on its way).
    With staff=False an existing staff login is refused (`not_a_customer`).
    """
    email = normalize_email(email)
    with write_transaction(session):
        # locked: two invitations at once cannot both find nothing waiting
        user = session.scalar(select(User).where(User.email == email).with_for_update())
        if user is None:
            user = people.create_user(session, email, role, actor=actor)
        elif user.role != "customer" and not staff:
            raise Conflict("not_a_customer", _("%(email)s is a staff login.", email=email), "email")
        if user.password_hash or not user.active:
            return user, False
        if not _waiting(session, "invitation", user):
            _queue(session, "invitation", user, None)
            audit(session, actor, "user.invite", user, email=user.email)
    return user, True


def invite_holder(session: Session, email: str, *, actor: str) -> tuple[User, bool]:
    """Give a holder's e-mail a customer login and queue its invitation, in the caller's
    transaction (so a refusal writes nothing when the caller wraps it with add_holder).

    Raises Conflict("not_a_customer", …, "email") for a staff login, and `not_a_holder`
    when the e-mail holds no account. Returns (user, whether an invitation was queued or
    is still waiting); False when the login already has a password (or is inactive).
    """
    return invite_login(session, email, actor=actor, role="customer", staff=False)


@dataclass(frozen=True)
class EmailChange:
    """What moving an account's e-mail (its main holder) from `old` to `new` does to the
    people involved: what the confirmation says beforehand and the page reports after."""

    old: str
    new: str
    invites: bool  # the new address gets an invitation (it has no password yet)
    logs_out: bool  # the old address's login holds no other account: its sessions end
    keeps_other_accounts: bool  # the old address still holds other accounts


def email_change(session: Session, account: Account, email: str) -> EmailChange | None:
    """What changing the account's e-mail to `email` would do (None: it would not change).

    Read only, for the confirmation; `change_account` decides again under the lock.
    """
    new = normalize_email(email)
    if new == account.email:
        return None
    return _email_change(session, account.id, account.email, new)


def _email_change(session: Session, account_id: str, old: str, new: str) -> EmailChange:
    newcomer = session.scalar(select(User).where(User.email == new))
    leaving = session.scalar(select(User).where(User.email == old))
    elsewhere = session.scalar(
        select(Holder.id).where(Holder.email == old, Holder.account_id != account_id).limit(1)
    )
    return EmailChange(
        old=old,
        new=new,
        invites=newcomer is None or (not newcomer.password_hash and newcomer.active),
        logs_out=bool(
            leaving is not None and leaving.role == "customer" and leaving.active and not elsewhere
        ),
        keeps_other_accounts=elsewhere is not None,
    )


def change_account(
    session: Session,
    account_id: str,
    *,
    actor: str,
    email: str | None = None,
    name: str | None = None,
    description: str | None = None,
) -> EmailChange | None:
    """Change an account's name, description and e-mail, with what a new e-mail entails,
    as one transaction: all of it, or nothing.

    A new e-mail moves the main holder (`update_account`); the new address gets a customer
    login and an invitation (`invite_holder`: a staff login is refused, `not_a_customer`);
    the old address's login, when it holds no other account, is logged out everywhere
    (its session version is bumped). Returns what the e-mail change did, or None when the
    e-mail stayed the same.
    """
    with write_transaction(session):
        old = lock_account(session, account_id).email
        account = update_account(
            session, account_id, actor=actor, email=email, name=name, description=description
        )
        if account.email == old:
            return None
        _user, invited = invite_holder(session, account.email, actor=actor)
        change = _email_change(session, account.id, old, account.email)
        if change.logs_out:
            leaving = session.scalar(select(User.id).where(User.email == old))
            people.end_sessions(session, leaving)
    return EmailChange(
        old=change.old,
        new=change.new,
        invites=invited,
        logs_out=change.logs_out,
        keeps_other_accounts=change.keeps_other_accounts,
    )


def send_reset(session: Session, email: str) -> None:
    """Queue a reset e-mail for an active login with this address; do nothing otherwise.

    The caller answers the same words either way; sending happens after the answer.
    """
    try:
        email = normalize_email(email)
    except InvalidInput:
        email = None
    with write_transaction(session):  # the same work whether or not the login exists
        user = session.scalar(
            select(User).where(User.email == email, User.active).with_for_update()
        )
        if user is None:
            return
        since = throttle.now() - timedelta(seconds=RESET_RESEND_SECONDS)
        if not _waiting(session, "reset", user, since):
            _queue(session, "reset", user, _request_locale())


# --- rendering at send time (called by outbox.send_pending, in the reader's language) ----


def _user_of(session: Session, message: OutboxMessage) -> User | None:
    user_id = (message.payload or {}).get("user_id")
    user = session.get(User, user_id, populate_existing=True) if isinstance(user_id, int) else None
    if user is None or not user.active or user.email != message.recipient:
        return None
    return user


def render_invitation(session: Session, message: OutboxMessage, now: datetime):
    """(subject, body) of an invitation with a fresh link, or None if no longer wanted."""
    user = _user_of(session, message)
    if user is None or user.password_hash:
        return None
    link = invitation_link(user, now=now)
    if user.is_staff:
        return _("Your login to the credit portal: choose a password"), signed(
            _(
                "You have a login to the store's credit portal.\n\n"
                "Choose your password here (valid for 7 days, once):\n%(link)s\n",
                link=link,
            ),
            session,
        )
    return _("Your credit account: choose a password"), signed(
        _(
            "You can now see your credit and invoices online.\n\n"
            "Choose your password here (valid for 7 days, once):\n%(link)s\n",
            link=link,
        ),
        session,
    )


def render_reset(session: Session, message: OutboxMessage, now: datetime):
    """(subject, body) of a reset e-mail with a fresh link, or None if no longer wanted."""
    user = _user_of(session, message)
    if user is None:
        return None
    link = reset_link(user, now=now)
    return _("Reset your password"), signed(
        _(
            "Someone asked to reset your password. If it was you, open this link "
            "within 2 hours:\n%(link)s\n\nOtherwise ignore this message.",
            link=link,
        ),
        session,
    )


outbox.register("invitation", render_invitation)
outbox.register("reset", render_reset)
