"""The store's identity as every surface shows it: pages, e-mails and printed documents.

`store_identity()` reads the settings row without its logo (a deferred column: the bytes
are loaded only by `logo_file`, for GET /store/logo). Templates call it through the
`store_identity` context function (templates/_store_identity.html draws the brand and the
"Need help?" line); e-mails end with `email_signature`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from .credit.store_identity import format_cnpj
from .models import StoreSettings


@dataclass(frozen=True)
class StoreIdentity:
    """Who the store is, as set on the settings page ("" for what is not set)."""

    trade_name: str
    legal_name: str
    tax_id: str  # the CNPJ's 14 digits
    address: str
    support_email: str
    support_phone: str
    has_logo: bool
    logo_version: str  # changes when the logo may have: makes the logo's URL a new one

    @property
    def name(self) -> str:
        """The name to show: the trade name, else the product's."""
        return self.trade_name or _("Customer Credit")

    @property
    def shows_brand(self) -> bool:
        """Whether pages show the store's own brand (a trade name or a logo)."""
        return bool(self.trade_name or self.has_logo)

    @property
    def tax_id_shown(self) -> str:
        """The CNPJ as people write it: 11.222.333/0001-81."""
        return format_cnpj(self.tax_id)

    @property
    def phone_link(self) -> str:
        """The support phone as a tel: link (digits and a leading +), "" without one."""
        digits = re.sub(r"[^0-9+]", "", self.support_phone)
        return f"tel:{digits}" if digits.strip("+") else ""

    @property
    def has_contacts(self) -> bool:
        """Whether customers have a support e-mail or phone to turn to."""
        return bool(self.support_email or self.support_phone)


def identity_of(settings: StoreSettings) -> StoreIdentity:
    """The identity in a settings row (its logo bytes are not read)."""
    updated = settings.updated_at
    return StoreIdentity(
        trade_name=settings.trade_name or "",
        legal_name=settings.legal_name or "",
        tax_id=settings.tax_id or "",
        address=settings.address or "",
        support_email=settings.support_email or "",
        support_phone=settings.support_phone or "",
        has_logo=bool(settings.logo_type),
        logo_version=str(int(updated.timestamp())) if updated else "0",
    )


def store_identity(session: Session | None = None) -> StoreIdentity:
    """The store's identity now (defaults, all empty, until the owner sets it)."""
    from .credit.settings import get_settings
    from .extensions import db

    return identity_of(get_settings(session or db.session))


def logo_file(session: Session) -> tuple[bytes, str] | None:
    """The logo's bytes and MIME type, or None when the store has none."""
    row = session.execute(
        select(StoreSettings.logo, StoreSettings.logo_type).where(StoreSettings.id == 1)
    ).first()
    if row is None or not row.logo or not row.logo_type:
        return None
    return bytes(row.logo), row.logo_type


def email_signature(identity: StoreIdentity) -> str:
    """The lines an e-mail ends with: the trade name, support e-mail and phone (those
    set), after the signature separator "-- "; "" when none is set."""
    lines = [identity.trade_name] if identity.trade_name else []
    if identity.support_email:
        lines.append(_("Support: %(email)s", email=identity.support_email))
    if identity.support_phone:
        lines.append(_("Phone: %(phone)s", phone=identity.support_phone))
    return "-- \n" + "\n".join(lines) if lines else ""


def signed(body: str, session: Session) -> str:
    """An e-mail body followed by the store's signature (when it has one)."""
    signature = email_signature(store_identity(session))
    return body.rstrip("\n") + "\n\n" + signature + "\n" if signature else body


def init_app(app) -> None:
    """Let every template call `store_identity()` (read only when a template asks)."""
    app.context_processor(lambda: {"store_identity": store_identity})
