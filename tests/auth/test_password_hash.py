"""Passwords are stored with scrypt unless the app says otherwise (the suite does: scrypt
costs ~130 ms to make and again to check, on every login)."""

import pytest
from werkzeug.security import check_password_hash

from portal import create_app, people
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


@pytest.mark.parametrize("method", ["", "abc", "-1", "1,5", "²", "pbkdf2:sha256:abc", "x" * 10_000])
def test_an_unknown_hash_method_is_refused_at_start_up(tmp_path, method):
    with pytest.raises(RuntimeError, match="PASSWORD_HASH_METHOD"):
        create_app(
            {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", "PASSWORD_HASH_METHOD": method}
        )
