"""QR codes: render text as PNG or SVG (optionally with a logo), decode uploaded images,
and tell what a decoded payload is (a link, a WeChat/WeCom/QQ invitation, or text).

Pure: no web layer, no database.
"""

from qunyun.qr.classify import KNOWN_VALIDITY, PayloadKind, classify_payload
from qunyun.qr.decode import FoundCode, decode_image
from qunyun.qr.render import render_png, render_svg
from qunyun.qr.style import QrStyle

__all__ = [
    "KNOWN_VALIDITY",
    "FoundCode",
    "PayloadKind",
    "QrStyle",
    "classify_payload",
    "decode_image",
    "render_png",
    "render_svg",
]
