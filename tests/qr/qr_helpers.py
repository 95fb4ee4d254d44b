"""Plain helpers shared by the QR tests (fixtures live in conftest.py)."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from qunyun.errors import DomainError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ZXING_DIR = FIXTURES / "qr_zxing"
PYZBAR_DIR = FIXTURES / "qr_pyzbar"

# The ``refused`` fixture: refused(code, fn, *args, **kwargs) -> the DomainError raised.
Refusal = Callable[..., DomainError]


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def colourful_logo() -> bytes:
    """A 300x200 PNG logo: red card, blue ellipse, a transparent corner."""
    logo = Image.new("RGBA", (300, 200), (200, 30, 30, 255))
    draw = ImageDraw.Draw(logo)
    draw.ellipse((20, 20, 280, 180), fill=(20, 20, 140, 255))
    draw.rectangle((0, 0, 40, 40), fill=(0, 0, 0, 0))
    return encode(logo, "PNG")


def _chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_header_only(width: int, height: int, *, with_data: bool = True) -> bytes:
    """A tiny PNG that declares ``width`` x ``height`` greyscale pixels.

    Its IDAT holds a few compressed rows at most, so decoding it would fail as
    truncated: a refusal for size proves the size was checked before the pixels.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1) * 2) if with_data else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + (_chunk(b"IDAT", idat) if with_data else b"")
        + _chunk(b"IEND", b"")
    )
