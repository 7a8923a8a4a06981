"""SMTP over TLS: MAIL_SSL (implicit TLS, SMTP_SSL) and MAIL_STARTTLS, certificates verified,
and both at once refused with a clear error kept on the outbox row."""

from __future__ import annotations

import datetime as dt
import ipaddress
import smtplib
import ssl

import pytest
from sqlalchemy import select

from portal import mail, outbox
from portal.credit.ledger import write_transaction
from portal.models import OutboxMessage

from ..mail import free_port


class TlsMailbox:
    """What an in-process SMTP server received, and whether each session spoke TLS."""

    def __init__(self, port: int):
        self.port = port
        self.received: list[tuple[bool, bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        # STARTTLS records the upgrade on the session; implicit TLS is the transport's own
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.received.append((tls, envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def trusted(certificate, monkeypatch):
    """Make ssl.create_default_context trust the test certificate (and verify as ever)."""
    original = ssl.create_default_context

    def trusting(*args, **kwargs):
        context = original(*args, **kwargs)
        context.load_verify_locations(cafile=certificate[0])
        return context

    monkeypatch.setattr(ssl, "create_default_context", trusting)


@pytest.fixture
def tls_server(app, certificate):
    """tls_server(implicit=True): an SMTP server speaking TLS from the first byte, or
    offering (and requiring) STARTTLS; the app's MAIL_SERVER points at it."""
    from aiosmtpd.controller import Controller

    controllers = []

    def start(implicit: bool) -> TlsMailbox:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        box = TlsMailbox(free_port())
        options = {"ssl_context": context} if implicit else {"tls_context": context}
        if not implicit:
            options["require_starttls"] = True
        controller = Controller(box, hostname="127.0.0.1", port=box.port, **options)
        controller.start()
        controllers.append(controller)
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=box.port)
        return box

    yield start
    for controller in controllers:
        controller.stop()


def message():
    return mail.compose("buyer@example.com", "Hello", "A test message.")


def test_mail_ssl_speaks_tls_from_the_first_byte(app, tls_server, trusted):
    box = tls_server(implicit=True)
    app.config["MAIL_SSL"] = True
    assert mail.send_mail("buyer@example.com", "Hello", "Over TLS.") is True
    [(over_tls, content)] = box.received
    assert over_tls and b"Over TLS." in content


def test_mail_starttls_upgrades_the_connection(app, tls_server, trusted):
    box = tls_server(implicit=False)
    app.config["MAIL_STARTTLS"] = True
    mail.deliver(message())
    [(over_tls, _content)] = box.received
    assert over_tls


def test_an_untrusted_certificate_is_refused(app, tls_server, session):
    box = tls_server(implicit=True)
    app.config["MAIL_SSL"] = True
    with pytest.raises(ssl.SSLCertVerificationError):
        mail.deliver(message())
    assert box.received == []


def test_mail_ssl_uses_smtp_ssl_with_a_verifying_context(app, monkeypatch):
    made = []

    class FakeSMTP:
        def __init__(self, host, port, **kwargs):
            made.append((type(self).__name__, host, port, kwargs))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self, **kwargs):
            made.append(("starttls", kwargs))

        def send_message(self, msg):
            made.append(("sent", msg["Subject"]))

    class FakeSSL(FakeSMTP):
        pass

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", FakeSSL)
    app.config.update(MAIL_SERVER="smtp.example.com", MAIL_PORT=465, MAIL_SSL=True)
    mail.deliver(message())
    [(kind, host, port, kwargs), sent] = made
    assert (kind, host, port, sent) == ("FakeSSL", "smtp.example.com", 465, ("sent", "Hello"))
    context = kwargs["context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    made.clear()
    app.config.update(MAIL_SSL=False, MAIL_STARTTLS=True, MAIL_PORT=587)
    mail.deliver(message())
    assert [entry[0] for entry in made] == ["FakeSMTP", "starttls", "sent"]
    assert made[1][1]["context"].verify_mode == ssl.CERT_REQUIRED


def test_both_flags_at_once_are_refused_clearly(app, session, monkeypatch):
    def no_connection(*args, **kwargs):
        raise AssertionError("nothing may connect")

    monkeypatch.setattr(smtplib, "SMTP", no_connection)
    monkeypatch.setattr(smtplib, "SMTP_SSL", no_connection)
    app.config.update(MAIL_SERVER="smtp.example.com", MAIL_SSL=True, MAIL_STARTTLS=True)
    with pytest.raises(mail.MailSettingsError, match="MAIL_SSL and MAIL_STARTTLS"):
        mail.deliver(message())
    # through the outbox: never a crash, the reason kept on the row for the outbox page
    monkeypatch.setitem(outbox._RENDERERS, "tls-test", lambda *_: ("Hello", "A test."))
    with write_transaction(session):
        outbox.enqueue(session, topic="tls-test", recipient="buyer@example.com", payload={})
    assert outbox.send_pending(session) == (0, 1)
    session.rollback()
    row = session.scalars(select(OutboxMessage)).one()
    assert row.status == "pending" and "MAIL_SSL and MAIL_STARTTLS are both set" in row.last_error
