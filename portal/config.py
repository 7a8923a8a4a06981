"""Configuration defaults; instance/config.py and the environment override them."""

import os
import secrets
from pathlib import Path


class Defaults:
    """Settings every deployment starts from."""

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    IMPORT_MAX_BYTES = 20 * 1024 * 1024  # larger CSV files are refused with a clear message
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024  # any request body (the import check comes first)
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_SENDER = "credit@localhost"
    # Where people reach the portal: used for links made outside a request (CLI e-mails).
    PUBLIC_URL = "http://127.0.0.1:5000"


def load_secret_key(instance_path: str) -> str:
    """Return SECRET_KEY from the environment, or one generated once into instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def database_url(instance_path: str) -> str:
    """Return DATABASE_URL, normalised for psycopg 3, or the SQLite file in instance/."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{Path(instance_path) / 'portal.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
