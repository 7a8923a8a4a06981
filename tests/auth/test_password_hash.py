"""Passwords are stored with scrypt unless the app says otherwise (the suite does: scrypt
costs ~130 ms to make and again to check, on every login)."""

from werkzeug.security import check_password_hash

from portal import people
from portal.config import Defaults


def test_passwords_are_stored_with_scrypt_by_default(app, session):
    assert Defaults.PASSWORD_HASH_METHOD == "scrypt"
    assert app.config["PASSWORD_HASH_METHOD"].startswith("pbkdf2:")  # the suite's
    app.config["PASSWORD_HASH_METHOD"] = Defaults.PASSWORD_HASH_METHOD
    user = people.create_user(
        session, "scrypt@example.com", "finance", actor="t", password="correct-horse-battery"
    )
    assert user.password_hash.startswith("scrypt:")
    assert check_password_hash(user.password_hash, "correct-horse-battery")
