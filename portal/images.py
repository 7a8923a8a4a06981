"""What an uploaded image is, told by its bytes: PNG or JPEG, and its size in pixels.

A few lines of our own rather than Pillow: the store's logo is checked and served exactly
as it was sent, never decoded or resized, and its header says all that is checked: the
type (the magic bytes, whatever the file's name says) and the width and height (a PNG's
IHDR chunk, a JPEG's SOFn frame header). Anything else, or a header that does not hold
together, is no image.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8\xff"  # SOI, then the first marker
# The frame headers that carry a JPEG's size: SOF0–SOF15 but DHT, JPG and DAC.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_NO_LENGTH = frozenset([0x01, *range(0xD0, 0xD8)])  # TEM and RSTn: a marker alone
_JPEG_STOP = (0xD9, 0xDA)  # EOI or SOS before any frame header: no size to read


@dataclass(frozen=True)
class ImageInfo:
    """An image's MIME type and size in pixels, read from its header."""

    mime: str  # "image/png" or "image/jpeg"
    width: int
    height: int

    @property
    def kind(self) -> str:
        """The type as people name it: PNG or JPEG."""
        return "PNG" if self.mime == "image/png" else "JPEG"


def image_info(data: bytes) -> ImageInfo | None:
    """The type and size of a PNG or JPEG image, from its header; None for anything else."""
    if data.startswith(PNG_SIGNATURE):
        return _png(data)
    if data.startswith(JPEG_START):
        return _jpeg(data)
    return None


def _png(data: bytes) -> ImageInfo | None:
    # The first chunk is IHDR: length 13, "IHDR", width, height, 5 more bytes, then its CRC.
    if len(data) < 33:
        return None
    length, kind, width, height = struct.unpack(">I4sII", data[8:24])
    (crc,) = struct.unpack(">I", data[29:33])
    if length != 13 or kind != b"IHDR" or zlib.crc32(data[12:29]) != crc:
        return None
    return ImageInfo("image/png", width, height)


def _jpeg(data: bytes) -> ImageInfo | None:
    # Segments after SOI: FF, a marker, a two-byte length that counts itself, its content.
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # a fill byte before the marker
            position += 1
            continue
        if marker in _NO_LENGTH:
            position += 2
            continue
        if marker in _JPEG_STOP:
            return None
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if length < 2:
            return None
        if marker in _SOF:
            # precision (1 byte), height, width (2 bytes each)
            if length < 8 or position + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return ImageInfo("image/jpeg", width, height)
        position += 2 + length
    return None


def make_png(width: int, height: int, color: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    """A PNG of `width`×`height` RGB pixels, `color(x, y)` each (the demo store's logo)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(color(x, y)) for x in range(width)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
