"""Users, roles and API keys: who may log in or call the API, with hashed secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .credit.errors import Conflict, InvalidInput, NotFound
from .credit.ledger import audit, write_transaction
from .credit.validation import normalize_email
from .models import ApiKey, Holder, User, utcnow

ROLES = ("owner", "finance", "support", "customer")
SCOPES = (
    "accounts:read",
    "accounts:write",
    "invoices:read",
    "invoices:create",
    "invoices:pay",
    "statements:read",
    "transactions:write",
    "storeconfig:read",
    "storeconfig:write",
)
STAFF_ROLES = ("owner", "finance", "support")
MIN_STAFF_PASSWORD = 12
MIN_CUSTOMER_PASSWORD = 10


def min_password(role: str) -> int:
    """The shortest password a login of this role may choose."""
    return MIN_STAFF_PASSWORD if role in STAFF_ROLES else MIN_CUSTOMER_PASSWORD


def _check_password(password: str, role: str) -> str:
    minimum = min_password(role)
    if len(password or "") < minimum:
        if role in STAFF_ROLES:
            message = _("Use at least %(num)s characters for a staff password.", num=minimum)
        else:
            message = _("Use at least %(num)s characters for a customer password.", num=minimum)
        raise InvalidInput("weak_password", message, "password")
    return password


def create_user(
    session: Session,
    email: str,
    role: str,
    *,
    actor: str,
    password: str | None = None,
    name: str = "",
) -> User:
    """Create a login. A customer must be a holder of at least one account."""
    email = normalize_email(email)
    if role not in ROLES:
        raise InvalidInput(
            "invalid_role", _("Role must be one of %(roles)s.", roles=", ".join(ROLES)), "role"
        )
    if password is not None:
        _check_password(password, role)
    with write_transaction(session):
        if session.scalar(select(User.id).where(User.email == email)):
            raise Conflict(
                "duplicate_email", _("%(email)s already has a login.", email=email), "email"
            )
        if role == "customer" and not session.scalar(
            select(Holder.id).where(Holder.email == email)
        ):
            raise Conflict(
                "not_a_holder", _("%(email)s is not a holder of any account.", email=email), "email"
            )
        user = User(
            email=email,
            role=role,
            name=name.strip()[:200],
            password_hash=_password_hash(password) if password else None,
        )
        session.add(user)
        session.flush()
        audit(session, actor, "user.create", user, email=email, role=role)
    return user


def set_password(session: Session, user: User, password: str, *, actor: str) -> None:
    """Store a new password hash and end every session of the user (log in again after)."""
    with write_transaction(session):
        user = session.get(User, user.id, populate_existing=True)
        _check_password(password, user.role)
        user.password_hash = _password_hash(password)
        user.session_version = User.session_version + 1
        audit(session, actor, "user.password", user)


def end_sessions(session: Session, user_id: int) -> None:
    """End every session (and remember-me cookie) of a user: logout, everywhere."""
    with write_transaction(session):
        session.execute(
            update(User)
            .where(User.id == user_id)
            .values(session_version=User.session_version + 1)
            .execution_options(synchronize_session=False)
        )


def set_language(session: Session, user_id: int, language: str) -> None:
    """Save the language a user chose for pages and e-mails (a preference: not audited)."""
    from .i18n import SUPPORTED  # (i18n → numbers → credit → … → people)

    if language not in SUPPORTED:
        raise InvalidInput(
            "invalid_language",
            _("Unknown language %(language)s.", language=repr(language)),
            "language",
        )
    with write_transaction(session):
        session.execute(
            update(User)
            .where(User.id == user_id)
            .values(language=language)
            .execution_options(synchronize_session=False)
        )


def check_password(user: User, password: str) -> bool:
    """Whether `password` is this (active) user's password."""
    ok = check_password_hash(user.password_hash or _DUMMY_HASH, password or "")
    return bool(ok and user.password_hash and user.active)


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same time either way)."""
    try:
        email = normalize_email(email)
    except InvalidInput:
        return None
    user = session.scalar(select(User).where(User.email == email))
    hashed = user.password_hash if user and user.password_hash else _DUMMY_HASH
    ok = check_password_hash(hashed, password or "")
    if not (user and user.active and user.password_hash and ok):
        return None
    with write_transaction(session):  # a write of its own (BEGIN IMMEDIATE on SQLite)
        session.execute(update(User).where(User.id == user.id).values(last_login_at=utcnow()))
    return session.get(User, user.id)


_DUMMY_HASH = generate_password_hash(secrets.token_hex(8))


def check_password_hash_method(method: object) -> None:
    """Refuse at start-up a PASSWORD_HASH_METHOD werkzeug cannot hash with ("scrypt",
    "pbkdf2:sha256:600000", ...), rather than fail the first password saved."""
    try:
        generate_password_hash("probe", method=str(method))
    except (ValueError, TypeError) as error:
        raise RuntimeError(
            f"PASSWORD_HASH_METHOD {method!r} is not a werkzeug hash method "
            f"(such as 'scrypt' or 'pbkdf2:sha256:600000'): {error}"
        ) from None


def _password_hash(password: str) -> str:
    """A password as stored: werkzeug's scrypt, or the app's PASSWORD_HASH_METHOD (the
    test suite's is cheap: scrypt costs ~130 ms to make and again to check)."""
    method = current_app.config["PASSWORD_HASH_METHOD"] if has_app_context() else "scrypt"
    return generate_password_hash(password, method=method)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(text: str) -> list[str]:
    """`all` or a comma-separated list of known scopes."""
    wanted = [s.strip() for s in str(text or "").split(",") if s.strip()]
    if wanted == ["all"]:
        return list(SCOPES)
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        raise InvalidInput(
            "invalid_scopes",
            _("Scopes must be 'all' or some of: %(scopes)s.", scopes=", ".join(SCOPES)),
            "scopes",
        )
    return wanted


def create_api_key(
    session: Session, label: str, scopes: list[str], *, actor: str
) -> tuple[ApiKey, str]:
    """Create a key; returns it with its token, which is shown once and stored hashed."""
    label = str(label or "").strip()[:120]
    if not label:
        raise InvalidInput("label_required", _("A label is required."), "label")
    token = secrets.token_urlsafe(32)
    with write_transaction(session):
        key = ApiKey(
            key=f"vtexappkey-{secrets.token_hex(8)}",
            token_hash=_hash_token(token),
            label=label,
            scopes=",".join(parse_scopes(",".join(scopes))),
            created_by=actor,
        )
        session.add(key)
        session.flush()
        audit(session, actor, "api_key.create", key, label=label, scopes=key.scopes)
    return key, token


def find_api_key(session: Session, app_key: str | None, app_token: str | None) -> ApiKey | None:
    """The active key matching this key/token pair, or None."""
    if not app_key or not app_token:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key == app_key, ApiKey.active))
    if key is None or not hmac.compare_digest(key.token_hash, _hash_token(app_token)):
        return None
    return key


def revoke_api_key(session: Session, key_id: int, *, actor: str) -> None:
    """Deactivate a key for good."""
    with write_transaction(session):
        key = session.get(ApiKey, key_id)
        if key is not None and key.active:
            key.active = False
            audit(session, actor, "api_key.revoke", key, label=key.label)


def customer_account_ids(session: Session, email: str) -> list[str]:
    """The accounts where this e-mail is a holder (main or dependent)."""
    return list(
        session.scalars(
            select(Holder.account_id)
            .where(Holder.email == email)
            .order_by(Holder.level, Holder.account_id)
        )
    )


# --- invitations and password resets ----------------------------------------------------

INVITE_MAX_AGE = 7 * 24 * 3600
RESET_MAX_AGE = 2 * 3600
# Each purpose signs with its own salt: a reset token is never an invitation, nor back.
TOKEN_PURPOSES = {
    "invitation": ("portal-invitation", INVITE_MAX_AGE),
    "reset": ("portal-password-reset", RESET_MAX_AGE),
}


def _serializer(secret_key: str, purpose: str, now: datetime | None):
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int((now or utcnow()).timestamp())

    salt, _max_age = TOKEN_PURPOSES[purpose]
    return URLSafeTimedSerializer(secret_key, salt=salt, signer=Signer)


def _fingerprint(user: User) -> str:
    # A token stops working once the password it was issued for changes (single use), and
    # once the user's sessions are ended (logout, deactivation, another password change).
    state = f"{user.password_hash or 'unset'}:{user.session_version or 0}"
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def password_token(
    secret_key: str, user: User, purpose: str, *, now: datetime | None = None
) -> str:
    """A signed, single-use token to set this user's password ("invitation" or "reset")."""
    return _serializer(secret_key, purpose, now).dumps({"u": user.id, "f": _fingerprint(user)})


def user_for_token(
    session: Session,
    secret_key: str,
    token: str,
    purpose: str,
    *,
    now: datetime | None = None,
    max_age: int | None = None,
) -> User | None:
    """The active user a valid, unexpired, unused token of this purpose was issued for."""
    from itsdangerous import BadData

    salt_and_age = TOKEN_PURPOSES.get(purpose)
    if salt_and_age is None:
        return None
    try:
        data = _serializer(secret_key, purpose, now).loads(
            token, max_age=salt_and_age[1] if max_age is None else max_age
        )
    except (BadData, TypeError, ValueError):
        return None
    user_id = data.get("u") if isinstance(data, dict) else None
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id, populate_existing=True)
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(str(data.get("f")), _fingerprint(user)):
        return None  # already used, or issued before the sessions were ended
    return user


def invite_customer(session: Session, email: str, *, actor: str) -> User:
    """The customer login of a holder's e-mail, created without a password if missing."""
    email = normalize_email(email)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        return create_user(session, email, "customer", actor=actor)
    if user.role != "customer":
        raise Conflict("not_a_customer", _("%(email)s is a staff login.", email=email), "email")
    return user


LAST_USED_EVERY = 3600  # seconds: how often a key's last use is written


def touch_api_key(session: Session, key: ApiKey) -> None:
    """Record a key's last use, at most once an hour, in a short write of its own."""
    from datetime import timedelta

    from sqlalchemy import or_, update

    now = utcnow()
    cutoff = now - timedelta(seconds=LAST_USED_EVERY)
    if key.last_used_at is not None and key.last_used_at > cutoff:
        return
    with write_transaction(session):
        session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key.id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < cutoff),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )


def change_user(
    session: Session,
    user_id: int,
    *,
    actor: str,
    acting_user_id: int | None,
    role: str | None = None,
    active: bool | None = None,
) -> User:
    """Change a login's role or switch it on/off; the store always keeps an active owner.

    `acting_user_id` is the login making the change (None for the operator's CLI): nobody
    deactivates their own login or changes their own role, so an owner cannot lock the
    store out by mistake; another owner has to do it.
    """
    if role is not None and role not in ROLES:
        raise InvalidInput(
            "invalid_role", _("Role must be one of %(roles)s.", roles=", ".join(ROLES)), "role"
        )
    with write_transaction(session):
        # The login and every active owner, locked in id order: two owners demoting each
        # other at once cannot both see the other one still in charge (PostgreSQL; SQLite
        # writes one at a time anyway).
        locked = session.scalars(
            select(User)
            .where(or_(User.id == user_id, and_(User.role == "owner", User.active)))
            .order_by(User.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        user = next((u for u in locked if u.id == user_id), None)
        if user is None:
            raise NotFound("user_not_found", _("User %(user)s does not exist.", user=user_id))
        new_role = role if role is not None else user.role
        new_active = active if active is not None else user.active
        if acting_user_id is not None and user.id == acting_user_id:
            if user.active and not new_active:
                raise Conflict(
                    "own_login", _("You cannot deactivate your own login; ask another owner.")
                )
            if new_role != user.role:
                raise Conflict("own_role", _("You cannot change your own role; ask another owner."))
        was_owner = user.role == "owner" and user.active
        steps_down = was_owner and (new_role != "owner" or not new_active)
        others = [u for u in locked if u.role == "owner" and u.active and u.id != user.id]
        if steps_down and not others:
            raise Conflict("last_owner", _("The store must keep at least one active owner."))
        if new_role == "customer" and not session.scalar(
            select(Holder.id).where(Holder.email == user.email)
        ):
            raise Conflict(
                "not_a_holder", _("%(email)s is not a holder of any account.", email=user.email)
            )
        if user.active and not new_active:
            user.session_version = User.session_version + 1  # its sessions end now
        user.role, user.active = new_role, new_active
        audit(session, actor, "user.change", user, role=new_role, active=new_active)
    return user
