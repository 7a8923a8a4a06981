"""The store's logo: a PNG or JPEG kept in the database, so every host serves the same one.

What the file is comes from its bytes (`portal/images.py`), never from its name: a PNG or
a JPEG of at most MAX_LOGO_BYTES, between MIN_LOGO_SIDE and MAX_LOGO_SIDE pixels a side,
is kept exactly as sent (with its MIME type); anything else is refused with what was wrong.
Changing or removing it is audited as a settings change (`settings.update`, detail `logo`).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ..images import ImageInfo, image_info
from .errors import InvalidInput
from .ledger import audit
from .settings import settings_row

MAX_LOGO_BYTES = 512 * 1024
MIN_LOGO_SIDE = 16
MAX_LOGO_SIDE = 2000
FIELD = "logo"


def _refuse(message: str) -> InvalidInput:
    return InvalidInput("invalid_logo", message, FIELD)


def clean_logo(data: bytes | None) -> ImageInfo:
    """What the logo file is (type and size), or InvalidInput saying why it cannot be one."""
    if not data:
        raise _refuse(_("Choose a PNG or JPEG file for the logo."))
    if len(data) > MAX_LOGO_BYTES:
        raise _refuse(
            _(
                "The logo file is larger than %(max)d KB: save it smaller (fewer pixels, "
                "or as a JPEG) and upload it again.",
                max=MAX_LOGO_BYTES // 1024,
            )
        )
    info = image_info(data)
    if info is None:
        raise _refuse(
            _("The logo must be a PNG or JPEG image; this file is neither, whatever its name says.")
        )
    size = {"width": info.width, "height": info.height}
    if min(info.width, info.height) < MIN_LOGO_SIDE:
        raise _refuse(
            _(
                "The logo is %(width)d×%(height)d pixels: it must be at least %(min)d×%(min)d.",
                min=MIN_LOGO_SIDE,
                **size,
            )
        )
    if max(info.width, info.height) > MAX_LOGO_SIDE:
        raise _refuse(
            _(
                "The logo is %(width)d×%(height)d pixels: it may be at most %(max)d×%(max)d.",
                max=MAX_LOGO_SIDE,
                **size,
            )
        )
    return info


def save_logo(session: Session, data: bytes | None, actor: str) -> ImageInfo:
    """Check the file and keep it as the store's logo, replacing any other; InvalidInput
    (nothing saved) when it is not a PNG or JPEG of the allowed size."""
    info = clean_logo(data)
    with settings_row(session) as settings:
        settings.logo, settings.logo_type = data, info.mime
        audit(
            session,
            actor,
            "settings.update",
            settings,
            logo=f"{info.kind} {info.width}×{info.height}, {len(data)} bytes",
        )
    return info


def remove_logo(session: Session, actor: str) -> bool:
    """Remove the store's logo; whether there was one."""
    with settings_row(session) as settings:
        had = bool(settings.logo_type)
        if had:
            settings.logo, settings.logo_type = None, ""
            audit(session, actor, "settings.update", settings, logo="")
    return had
