"""The store's identity: set on the settings page (owner), its logo uploaded and served,
and shown on My Credits, checkout, the login page and in e-mails."""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import zlib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select

from portal import credit, invitations, outbox, people, reminders
from portal.credit.ledger import write_transaction
from portal.identity import email_signature, store_identity
from portal.models import AuditEvent, OutboxMessage, StoreSettings, clock_at, utcnow

from ..conftest import ROLE_PASSWORD
from .test_settings_people import SETTINGS_FORM

IDENTITY = {
    "trade_name": "Papelaria Aurora",
    "legal_name": "Aurora Comércio de Papéis Ltda",
    "tax_id": "11.222.333/0001-81",
    "address": "Rua das Flores, 100\nCentro, Curitiba – PR",
    "support_email": "Ajuda@Aurora.example",
    "support_phone": "+55 (41) 3333-4444",
}


# --- images made here, byte by byte --------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, *, pixels: bool = True) -> bytes:
    """A real RGB PNG (or, pixels=False, only its signature, IHDR and IEND)."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    body = b""
    if pixels:
        rows = (b"\x00" + b"\x19\x87\x54" * width) * height
        body = _chunk(b"IDAT", zlib.compress(rows))
    return b"\x89PNG\r\n\x1a\n" + header + body + _chunk(b"IEND", b"")


# A real 24×16 baseline JPEG (a red tile), as an image program writes it.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRT"
    "c4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAQABgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQF"
    "BgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcY"
    "GRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWm"
    "p6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAA"
    "AAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAV"
    "YnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOU"
    "lZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIR"
    "AxEAPwDLoooriPpgooooA//Z"
)
# A 1×1 GIF: a real image, but not one the portal takes.
GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


# --- helpers ---------------------------------------------------------------------------------


def _settings(session) -> StoreSettings:
    session.rollback()
    session.expire_all()
    return credit.get_settings(session)


def _upload(client, data: bytes, filename: str):
    response = client.post(
        "/admin/settings/logo",
        data={"logo": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    response.request.input_stream.close()  # the test client spools a large body to a file
    return response


def _error_of(page: str, name: str) -> str:
    """The text of a field's error (its id is `<name>-error`)."""
    start = page.index(f'id="{name}-error"')
    return page[page.index(">", start) + 1 : page.index("</div>", start)]


def _tag(page: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    at = page.index(f'id="{element_id}"')
    return page[page.rindex("<", 0, at) : page.index(">", at)]


def _logo_events(session) -> list[dict]:
    session.rollback()
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "settings.update").order_by(AuditEvent.id)
    )
    return [e.details for e in events if "logo" in e.details]


@pytest.fixture
def customer(session, make_account, login):
    """A customer with an account, logged in."""
    account = make_account(email="buyer@aurora.example")
    user = people.create_user(
        session, account.email, "customer", actor="test", password=ROLE_PASSWORD
    )
    login(user=user)
    return user


# --- the settings form -----------------------------------------------------------------------


def test_identity_saved_with_the_other_settings(client, login, session):
    login("owner")
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'id="store-identity"' in page and 'name="tax_id"' in page and 'id="logo-form"' in page
    response = client.post("/admin/settings", data={**SETTINGS_FORM, **IDENTITY})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    settings = _settings(session)
    assert settings.trade_name == "Papelaria Aurora"
    assert settings.legal_name == "Aurora Comércio de Papéis Ltda"
    assert settings.tax_id == "11222333000181"  # digits only
    assert settings.address == "Rua das Flores, 100\nCentro, Curitiba – PR"
    assert settings.support_email == "ajuda@aurora.example"
    assert settings.support_phone == "+55 (41) 3333-4444"
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'value="11.222.333/0001-81"' in page  # shown as people write it
    # the CNPJ is taken without its punctuation too
    client.post("/admin/settings", data={**SETTINGS_FORM, **IDENTITY, "tax_id": "11222333000181"})
    assert _settings(session).tax_id == "11222333000181"
    # and every field may be empty again
    empty = dict.fromkeys(IDENTITY, "")
    assert client.post("/admin/settings", data={**SETTINGS_FORM, **empty}).status_code == 302
    settings = _settings(session)
    assert (settings.trade_name, settings.tax_id, settings.support_email) == ("", "", "")
    assert store_identity(session).name == "Customer Credit"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tax_id", "11.222.333/0001-82", "CNPJ: 11.222.333/0001-82 is not a valid CNPJ"),
        ("tax_id", "1234", "CNPJ: 1234 is not a valid CNPJ"),
        ("tax_id", "52998224725", "is not a valid CNPJ"),  # a CPF
        ("support_email", "help@", "Support e-mail: help@ is not a valid e-mail address"),
        ("trade_name", "x" * 121, "Trade name: at most 120 characters (this one has 121)"),
        ("legal_name", "x" * 201, "Legal name: at most 200 characters (this one has 201)"),
        ("address", "x" * 501, "Address: at most 500 characters (this one has 501)"),
        ("support_phone", "1" * 41, "Support phone: at most 40 characters"),
        ("support_phone", "call 3333-4444", "Support phone: use digits, spaces, +, -"),
    ],
)
def test_each_bad_field_is_refused_on_its_field(client, login, session, field, value, message):
    login("owner")
    client.post("/admin/settings", data={**SETTINGS_FORM, **IDENTITY})
    response = client.post(
        "/admin/settings", data={**SETTINGS_FORM, **IDENTITY, "trade_name": "New", field: value}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in _error_of(page, field)
    assert "is-invalid" in _tag(page, field) and f"{field}-error" in _tag(page, field)
    assert _settings(session).trade_name == "Papelaria Aurora"  # nothing saved


def test_every_refused_field_at_once(client, login, session):
    login("owner")
    bad = {"tax_id": "123", "support_email": "nope", "support_phone": "ring ring"}
    response = client.post("/admin/settings", data={**SETTINGS_FORM, **IDENTITY, **bad})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "CNPJ:" in _error_of(page, "tax_id")
    assert "Support e-mail:" in _error_of(page, "support_email")
    assert "Support phone:" in _error_of(page, "support_phone")
    assert 'value="nope"' in page  # typed values stay
    assert _settings(session).trade_name == ""


@pytest.mark.parametrize("role", ["finance", "support"])
def test_only_the_owner_changes_the_identity(client, login, session, role):
    login(role)
    assert client.post("/admin/settings", data={**SETTINGS_FORM, **IDENTITY}).status_code == 403
    assert _upload(client, png(32, 32), "logo.png").status_code == 403
    assert client.post("/admin/settings/logo/delete").status_code == 403
    settings = _settings(session)
    assert settings.trade_name == "" and settings.logo_type == ""


# --- the logo ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "mime"),
    [
        (png(120, 40), "logo.png", "image/png"),
        (JPEG, "logo.jpeg", "image/jpeg"),
        (png(16, 16), "logo.jpg", "image/png"),  # the content counts, not the name
        (png(2000, 16, pixels=False), "wide.png", "image/png"),
    ],
    ids=["png", "jpeg", "png-named-jpg", "2000-wide"],
)
def test_logo_uploaded_and_served(app, client, login, session, data, filename, mime):
    login("owner")
    assert client.get("/store/logo").status_code == 404
    response = _upload(client, data, filename)
    assert response.status_code == 302 and response.location.endswith("/admin/settings#logo")
    client.post("/logout")  # public: the login page shows it
    served = client.get("/store/logo")
    assert served.status_code == 200 and served.data == data
    assert served.mimetype == mime
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert set(served.headers["Cache-Control"].split(", ")) == {"public", "max-age=3600"}
    etag = served.headers["ETag"]
    assert etag == f'"{hashlib.sha256(data).hexdigest()}"'
    again = client.get("/store/logo", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get("/store/logo", headers={"If-None-Match": '"other"'}).status_code == 200
    [event] = _logo_events(session)
    assert event["logo"].startswith("PNG " if mime == "image/png" else "JPEG 24×16")


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (GIF, "logo.gif", "must be a PNG or JPEG image"),
        (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 8, "logo.jpg", "must be a PNG or JPEG"),
        (b"<!doctype html><script>alert(1)</script>", "logo.png", "must be a PNG or JPEG"),
        (png(32, 32) + b"\0" * (3 * 1024 * 1024), "big.png", "larger than 512 KB"),
        (png(1, 1), "dot.png", "The logo is 1×1 pixels: it must be at least 16×16."),
        (
            png(5000, 5000, pixels=False),
            "huge.png",
            "The logo is 5000×5000 pixels: it may be at most 2000×2000.",
        ),
        (b"", "empty.png", "Choose a PNG or JPEG file"),
    ],
    ids=["gif", "broken-png", "html", "3-mb", "1x1", "5000x5000", "empty"],
)
def test_logo_refused_with_its_message(client, login, session, data, filename, message):
    login("owner")
    response = _upload(client, data, filename)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in _error_of(page, "logo")
    assert 'id="logo-file"' in page and 'aria-invalid="true"' in page
    assert _settings(session).logo_type == "" and _logo_events(session) == []
    assert client.get("/store/logo").status_code == 404


def test_logo_replaced_then_removed_after_asking(client, login, session):
    login("owner")
    _upload(client, png(64, 32), "first.png")
    _upload(client, JPEG, "second.jpg")
    assert client.get("/store/logo").data == JPEG
    page = client.get("/admin/settings").get_data(as_text=True)
    form = page[page.index('action="/admin/settings/logo/delete"') :].split(">", 1)[0]
    for attribute in (
        "data-confirm=",
        'data-confirm-title="Remove the logo?"',
        'data-confirm-button="Remove logo"',
        'data-confirm-cancel="Keep it"',
        "data-confirm-danger",
    ):
        assert attribute in form, attribute
    response = client.post("/admin/settings/logo/delete")
    assert response.status_code == 302
    assert client.get("/store/logo").status_code == 404
    settings = _settings(session)
    assert settings.logo is None and settings.logo_type == ""
    assert [e["logo"][:4] for e in _logo_events(session)] == ["PNG ", "JPEG", ""]
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "logo/delete" not in page and 'id="no-logo"' in page


def test_identity_never_loads_the_logo_bytes(client, login, session):
    login("owner")
    _upload(client, png(64, 32), "logo.png")
    settings = _settings(session)
    identity = store_identity(session)
    assert identity.has_logo and "logo" in inspect(settings).unloaded


# --- where the identity shows -----------------------------------------------------------------


def _set_identity(client, login, session):
    client.post("/logout")  # whoever was logged in
    login("owner")
    client.post("/admin/settings", data={**SETTINGS_FORM, **IDENTITY})
    _upload(client, png(120, 40), "logo.png")
    client.post("/logout")
    assert _settings(session).trade_name == "Papelaria Aurora"


def _brand(page: str) -> str:
    start = page.index('id="store-brand"')
    return page[start : page.index("</div>", start)]


def test_without_identity_pages_look_as_before(client, customer):
    page = client.get("/my-credits").get_data(as_text=True)
    assert 'id="store-brand"' not in page and 'id="store-help"' not in page
    assert "/store/logo" not in client.get("/checkout").get_data(as_text=True)


def test_identity_on_my_credits(client, login, session, customer):
    _set_identity(client, login, session)
    login(user=customer)
    page = client.get("/my-credits").get_data(as_text=True)
    brand = _brand(page)
    assert "Papelaria Aurora" in brand and 'src="/store/logo?v=' in brand
    help_line = page[page.index('id="store-help"') :].split("</p>", 1)[0]
    assert "Need help?" in help_line
    assert 'href="mailto:ajuda@aurora.example"' in help_line
    assert 'href="tel:+554133334444"' in help_line and "+55 (41) 3333-4444" in help_line


def test_identity_on_checkout_and_login(client, login, session, customer):
    _set_identity(client, login, session)
    page = client.get("/login").get_data(as_text=True)
    brand = _brand(page)
    assert "Papelaria Aurora" in brand and 'src="/store/logo?v=' in brand
    assert page.index('id="store-brand"') < page.index('name="password"')  # above the form
    login(user=customer)
    brand = _brand(client.get("/checkout").get_data(as_text=True))
    assert "Papelaria Aurora" in brand and 'src="/store/logo?v=' in brand


def test_invitation_ends_with_the_store_signature(app, client, login, session, make_account):
    _set_identity(client, login, session)
    account = make_account(email="new.buyer@aurora.example")
    with write_transaction(session):
        invitations.invite_holder(session, account.email, actor="test")
    row = session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == account.email)
    ).one()
    _subject, body, _headers = outbox.render(session, row, utcnow())
    assert "/invite/" in body
    assert body.endswith(
        "\n\n-- \nPapelaria Aurora\nSuporte: ajuda@aurora.example\nTelefone: +55 (41) 3333-4444\n"
    )


def test_reminder_ends_with_the_store_signature(app, session, settings, make_account, purchase):
    app.config["PUBLIC_URL"] = "https://credit.store.example"
    sao_paulo = ZoneInfo("America/Sao_Paulo")
    settings(
        timezone="America/Sao_Paulo",
        reminder_rules=[{"when": "after", "days": 3, "time": "09:00"}],
        **IDENTITY,
    )
    account = make_account(email="main@aurora.example")
    with clock_at(datetime(2030, 1, 1, 10, tzinfo=sao_paulo)):
        purchase(account, "100.00", term="9")  # due January 10
    now = datetime(2030, 1, 13, 9, 0, tzinfo=sao_paulo)
    with clock_at(now):
        reminders.send_reminders(session, now)
    row = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "reminder")).one()
    _subject, body, headers = outbox.render(session, row, now)
    # in the store's language (pt_BR): "Stop these reminder e-mails:"
    assert "Para não receber mais estes e-mails de lembrete:" in body
    assert "List-Unsubscribe" in headers
    assert body.endswith(
        "\n\n-- \nPapelaria Aurora\nSuporte: ajuda@aurora.example\nTelefone: +55 (41) 3333-4444\n"
    )


def test_signature_holds_only_what_is_set(session):
    assert email_signature(store_identity(session)) == ""
    credit.update_settings(session, {"support_phone": "0800 123 4567"}, "test")
    assert email_signature(store_identity(session)) == "-- \nPhone: 0800 123 4567"
