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
    # Uploads one person may keep waiting (previewed, neither applied nor discarded).
    IMPORT_MAX_PENDING = 20
    IMPORT_MAX_PENDING_BYTES = 200 * 1024 * 1024
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024  # any request body (the import check comes first)
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_SENDER = "credit@localhost"
    # Where people reach the portal: used for links made outside a request (CLI e-mails).
    PUBLIC_URL = "http://127.0.0.1:5000"
    # Number of trusted reverse proxies in front of the portal: their X-Forwarded-For and
    # X-Forwarded-Proto give request.remote_addr and HTTPS. 0 trusts no X-Forwarded-* header.
    PROXY_HOPS = 0
    PASSWORD_HASH_METHOD = "scrypt"  # werkzeug's; any method werkzeug knows
    # E-mail (optional): MAIL_SERVER, MAIL_PORT and MAIL_SENDER above; TLS and a login.
    # MAIL_STARTTLS upgrades a plain connection (usually port 587); MAIL_SSL speaks TLS from
    # the first byte (SMTP_SSL, usually port 465). One or the other: both at once is refused
    # when a message is sent (the error is kept on the outbox row).
    MAIL_STARTTLS = False
    MAIL_SSL = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_TIMEOUT = 10  # seconds per SMTP connection
    # The outbox (portal/outbox.py): a sender leases rows for OUTBOX_LEASE seconds, retries
    # after OUTBOX_RETRY_DELAY × 2^(attempt-1) seconds and gives up after OUTBOX_MAX_ATTEMPTS.
    OUTBOX_LEASE = 300
    OUTBOX_RETRY_DELAY = 60
    OUTBOX_MAX_ATTEMPTS = 5
    # Sent messages are deleted OUTBOX_KEEP_DAYS days after they were sent (the job
    # "outbox_purge"); pending and failed ones stay until they are sent or dealt with.
    OUTBOX_KEEP_DAYS = 30
    # The jobs worker (portal/jobs.py, `flask --app portal jobs worker`): a pass every
    # JOBS_EVERY seconds (from the start of one pass to the start of the next); the record
    # of each pass (job_runs) is kept JOBS_KEEP_DAYS days.
    JOBS_EVERY = 60
    JOBS_KEEP_DAYS = 30
    # Webhooks (portal/webhooks.py). Endpoints must be https to a public address: an URL
    # whose host resolves to a private, loopback, link-local or reserved address is refused
    # at registration and at every delivery (DNS rebinding) unless WEBHOOKS_ALLOW_PRIVATE
    # (local development and tests only; it also allows plain http to such an address).
    WEBHOOKS_ALLOW_PRIVATE = False
    WEBHOOKS_TIMEOUT = 10  # seconds to connect, and to wait for each answer
    # A failed delivery is tried again after WEBHOOKS_RETRY_DELAY × 2^(attempt-1) seconds
    # (at most 6 h), "failed" after WEBHOOKS_MAX_ATTEMPTS tries.
    WEBHOOKS_RETRY_DELAY = 60
    WEBHOOKS_MAX_ATTEMPTS = 8
    # An endpoint whose deliveries keep failing for this long (seconds) is disabled.
    WEBHOOKS_DISABLE_AFTER = 3 * 24 * 3600
    WEBHOOKS_DUE_SOON_DAYS = 3  # invoice.due_soon: this many days before the due date
    # Sign-in and reset throttling (portal/throttle.py), per (e-mail, client address): after
    # THROTTLE_FREE_ATTEMPTS failures in a row, wait THROTTLE_BASE_DELAY seconds, doubling up
    # to THROTTLE_MAX_DELAY. Per account (all addresses): a pause of THROTTLE_ACCOUNT_STEP
    # seconds per failure beyond the free ones, at most THROTTLE_ACCOUNT_MAX_DELAY; never a
    # block. Counters are forgotten after THROTTLE_FORGET_AFTER seconds without a failure.
    THROTTLE_FREE_ATTEMPTS = 5
    THROTTLE_BASE_DELAY = 30
    THROTTLE_MAX_DELAY = 15 * 60
    THROTTLE_ACCOUNT_STEP = 0.25
    THROTTLE_ACCOUNT_MAX_DELAY = 2.0
    THROTTLE_FORGET_AFTER = 24 * 3600
    # Tests may set CLOCK (a callable returning an aware UTC datetime) and SLEEP (a callable
    # taking seconds) to control time in throttling, tokens and the outbox.


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
