"""Text to a standard QR code as PNG bytes or SVG text, optionally with a centre logo.

Always a full QR code (``segno.make_qr``), never a Micro QR that phone cameras ignore.
With a logo, error correction is forced to ``H`` and the finished image is decoded again;
if it no longer reads back to exactly the text, it is refused (``qr.logo_unreadable``).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import segno
from PIL import Image, ImageDraw

from qunyun.errors import DomainError
from qunyun.qr.decode import read_codes
from qunyun.qr.images import open_image
from qunyun.qr.style import MAX_WIDTH, QrStyle

# The most any QR code holds: 7,089 digits (version 40, level L).
MAX_TEXT_LENGTH = 7089
LOGO_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP")
MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_LOGO_PIXELS = 16_000_000
# The logo is stored in the SVG at this many pixels across at most: sharp, not bloated.
_SVG_LOGO_MAX_PIXELS = 512
# Readback of an SVG's logo layout happens on a PNG drawn at this scale.
_CHECK_SCALE = 6


def _make_code(text: str, error: str) -> segno.QRCode:
    if not isinstance(text, str) or not text:
        raise DomainError("qr.text_empty")
    if len(text) > MAX_TEXT_LENGTH:  # refuse a huge paste before the encoder chews on it
        raise DomainError("qr.text_too_long", length=len(text))
    try:
        if text.isascii():
            return segno.make_qr(text, error=error)
        # Non-ASCII text goes in as UTF-8 bytes, which is what phone scanners assume. Left
        # alone, segno would pick ISO-8859-1 or Shift_JIS, or even put UTF-8 bytes in
        # Kanji mode, and readers would show other characters.
        return segno.make_qr(text, error=error, encoding="utf-8", mode="byte")
    except segno.DataOverflowError as exc:
        raise DomainError("qr.text_too_long", length=len(text)) from exc


@dataclass(frozen=True)
class _Geometry:
    """Where things go, in modules: the symbol plus its quiet zone spans ``total``."""

    total: int
    pad_start: int  # the logo pad is a square of whole modules centred on the symbol
    pad_size: int
    logo_inset: float

    @classmethod
    def for_code(cls, code: segno.QRCode, style: QrStyle) -> _Geometry:
        symbol = int(code.symbol_size(scale=1, border=0)[0])
        total = symbol + 2 * style.border
        # An odd number of modules keeps the pad centred on the (odd-sized) symbol grid.
        pad = max(3, 2 * round((style.logo_ratio * symbol - 1) / 2) + 1)
        inset = 1.0 if pad >= 7 else 0.5
        return cls(total=total, pad_start=(total - pad) // 2, pad_size=pad, logo_inset=inset)


def _pixel_layout(geometry: _Geometry, style: QrStyle) -> tuple[int, int, int]:
    """Pixels per module, left/top offset and full width for the PNG output."""
    if style.width is None:
        scale = style.scale
        width = geometry.total * scale
        if width > MAX_WIDTH:
            raise DomainError("qr.size_too_large", width=width, maximum=MAX_WIDTH)
        return scale, 0, width
    scale = style.width // geometry.total
    if scale < 1:
        raise DomainError("qr.size_too_small", width=style.width, minimum=geometry.total)
    return scale, (style.width - geometry.total * scale) // 2, style.width


def _load_logo(logo: bytes) -> Image.Image:
    image = open_image(
        logo,
        formats=LOGO_FORMATS,
        max_bytes=MAX_LOGO_BYTES,
        max_pixels=MAX_LOGO_PIXELS,
        prefix="qr.logo",
    )
    return image.convert("RGBA")


def _fit(logo: Image.Image, side: int) -> Image.Image:
    fitted = logo.copy()
    fitted.thumbnail((max(1, side), max(1, side)), Image.Resampling.LANCZOS)
    return fitted


def _draw_code(
    code: segno.QRCode, style: QrStyle, scale: int, offset: int, width: int
) -> Image.Image:
    raw = io.BytesIO()
    code.save(raw, kind="png", scale=scale, border=style.border, dark=style.dark, light=style.light)
    symbol = Image.open(raw)
    symbol.load()
    if offset == 0 and symbol.width == width:
        return symbol
    canvas = Image.new("RGB", (width, width), style.light_rgb)
    canvas.paste(symbol.convert("RGB"), (offset, offset))
    return canvas


def _paste_logo(
    canvas: Image.Image,
    logo: Image.Image,
    geometry: _Geometry,
    style: QrStyle,
    scale: int,
    offset: int,
) -> Image.Image:
    composed = canvas.convert("RGB")
    start = offset + geometry.pad_start * scale
    end = start + geometry.pad_size * scale
    ImageDraw.Draw(composed).rounded_rectangle(
        (start, start, end - 1, end - 1), radius=max(1, scale // 2), fill=style.light_rgb
    )
    inset = round(geometry.logo_inset * scale)
    fitted = _fit(logo, geometry.pad_size * scale - 2 * inset)
    left = start + (geometry.pad_size * scale - fitted.width) // 2
    top = start + (geometry.pad_size * scale - fitted.height) // 2
    composed.paste(fitted, (left, top), fitted)
    return composed


def _ensure_readable(image: Image.Image, text: str) -> None:
    # The raw bytes settle it when a reader would guess another character set for them.
    expected = text.encode("utf-8")
    found = read_codes(image, fallbacks=False)
    if not any(code.text == text or code.raw == expected for code in found):
        raise DomainError("qr.logo_unreadable")


def _encode_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_png(text: str, style: QrStyle = QrStyle(), logo: bytes | None = None) -> bytes:
    """A QR code for ``text`` as PNG bytes; ``logo`` is PNG, JPEG or WebP bytes.

    Refusals: ``qr.text_empty``, ``qr.text_too_long``, ``qr.size_too_small`` (``width``
    below the symbol's modules), ``qr.size_too_large``, ``qr.logo_*`` for a logo that is
    not a usable image, and ``qr.logo_unreadable``.
    """
    error = "H" if logo is not None else style.error
    code = _make_code(text, error)
    geometry = _Geometry.for_code(code, style)
    scale, offset, width = _pixel_layout(geometry, style)
    image = _draw_code(code, style, scale, offset, width)
    if logo is not None:
        image = _paste_logo(image, _load_logo(logo), geometry, style, scale, offset)
        _ensure_readable(image, text)
    return _encode_png(image)


def _svg_logo_elements(logo: Image.Image, geometry: _Geometry, style: QrStyle) -> str:
    inner = geometry.pad_size - 2 * geometry.logo_inset
    fitted = _fit(logo, _SVG_LOGO_MAX_PIXELS)
    longest = max(fitted.width, fitted.height)
    logo_w, logo_h = inner * fitted.width / longest, inner * fitted.height / longest
    centre = geometry.pad_start + geometry.pad_size / 2
    data = base64.b64encode(_encode_png(fitted)).decode("ascii")
    return (
        f'<rect x="{geometry.pad_start}" y="{geometry.pad_start}" width="{geometry.pad_size}" '
        f'height="{geometry.pad_size}" rx="0.5" fill="{style.light}"/>'
        f'<image x="{centre - logo_w / 2:g}" y="{centre - logo_h / 2:g}" '
        f'width="{logo_w:g}" height="{logo_h:g}" href="data:image/png;base64,{data}"/>'
    )


def render_svg(text: str, style: QrStyle = QrStyle(), logo: bytes | None = None) -> str:
    """A QR code for ``text`` as an SVG document; refusals as for :func:`render_png`.

    The viewBox counts modules (quiet zone included); ``width``/``height`` are in pixels.
    A logo is embedded as a PNG data URI on a pad of the light colour; its readability is
    checked on a PNG drawn with the same layout.
    """
    error = "H" if logo is not None else style.error
    code = _make_code(text, error)
    geometry = _Geometry.for_code(code, style)
    if style.width is not None:
        width: float = style.width
    else:
        width = geometry.total * style.scale
        if width > MAX_WIDTH:
            raise DomainError("qr.size_too_large", width=width, maximum=MAX_WIDTH)
    raw = io.BytesIO()
    code.save(
        raw,
        kind="svg",
        scale=1,
        border=style.border,
        dark=style.dark,
        light=style.light,
        xmldecl=False,
        svgclass=None,
        lineclass=None,
        omitsize=True,
        nl=False,
    )
    svg = raw.getvalue().decode("utf-8")
    opening = '<svg xmlns="http://www.w3.org/2000/svg"'
    if not svg.startswith(opening) or not svg.endswith("</svg>"):
        raise RuntimeError("unexpected SVG layout from segno")
    size = f"{width:g}"
    svg = f'{opening} width="{size}" height="{size}"{svg[len(opening) :]}'
    if logo is None:
        return svg
    logo_image = _load_logo(logo)
    check = _paste_logo(
        _draw_code(code, style, _CHECK_SCALE, 0, geometry.total * _CHECK_SCALE),
        logo_image,
        geometry,
        style,
        _CHECK_SCALE,
        0,
    )
    _ensure_readable(check, text)
    return svg[: -len("</svg>")] + _svg_logo_elements(logo_image, geometry, style) + "</svg>"


def symbol_modules(text: str, error: str = "M") -> int:
    """Modules across the symbol (no quiet zone) that ``text`` needs at ``error`` level."""
    return int(_make_code(text, error).symbol_size(scale=1, border=0)[0])


__all__ = ["render_png", "render_svg", "symbol_modules"]
