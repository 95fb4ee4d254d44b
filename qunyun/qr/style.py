"""How a QR code looks: size, quiet zone, colours, error correction, logo size."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qunyun.errors import DomainError

ERROR_LEVELS: tuple[str, ...] = ("L", "M", "Q", "H")
MAX_SCALE = 64
MAX_BORDER = 16
MIN_WIDTH = 21
MAX_WIDTH = 4096
MIN_LOGO_RATIO = 0.05
MAX_LOGO_RATIO = 0.5
DEFAULT_LOGO_RATIO = 0.2
# WCAG's threshold for large graphics; below it phone cameras in dim light start to fail.
MIN_CONTRAST = 3.0

_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def parse_hex_colour(value: str, *, field: str) -> tuple[int, int, int]:
    """``#rgb`` or ``#rrggbb`` (any case) to an RGB triple; anything else is refused."""
    if not isinstance(value, str) or not _HEX_COLOUR.fullmatch(value):
        raise DomainError("qr.color_invalid", field=field, value=str(value)[:32])
    digits = value[1:]
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio, from 1 (same colour) to 21 (black on white)."""
    high, low = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


@dataclass(frozen=True)
class QrStyle:
    """Rendering options, validated on construction (raises :class:`DomainError`).

    ``scale`` is pixels per module; ``width``, when given, is the exact output width in
    pixels and overrides ``scale``. ``border`` is the quiet zone in modules (the standard
    asks for 4). ``error`` is the minimum error-correction level: the encoder raises it
    for free when the same symbol size allows, and a logo forces ``H``. ``logo_ratio``
    is the share of the symbol's width (quiet zone excluded) hidden under the logo pad.
    Colours are normalised to lower-case ``#rrggbb``.
    """

    scale: int = 10
    width: int | None = None
    border: int = 4
    dark: str = "#000000"
    light: str = "#ffffff"
    error: str = "M"
    logo_ratio: float = DEFAULT_LOGO_RATIO

    def __post_init__(self) -> None:
        if isinstance(self.scale, bool) or not isinstance(self.scale, int):
            raise DomainError("qr.scale_invalid", value=str(self.scale), maximum=MAX_SCALE)
        if not 1 <= self.scale <= MAX_SCALE:
            raise DomainError("qr.scale_invalid", value=self.scale, maximum=MAX_SCALE)
        if self.width is not None and (
            isinstance(self.width, bool)
            or not isinstance(self.width, int)
            or not MIN_WIDTH <= self.width <= MAX_WIDTH
        ):
            raise DomainError(
                "qr.width_invalid", value=str(self.width), minimum=MIN_WIDTH, maximum=MAX_WIDTH
            )
        if (
            isinstance(self.border, bool)
            or not isinstance(self.border, int)
            or not 0 <= self.border <= MAX_BORDER
        ):
            raise DomainError("qr.border_invalid", value=str(self.border), maximum=MAX_BORDER)
        level = str(self.error).strip().upper()
        if level not in ERROR_LEVELS:
            raise DomainError("qr.error_level_invalid", value=str(self.error)[:8])
        object.__setattr__(self, "error", level)
        if isinstance(self.logo_ratio, bool) or not isinstance(self.logo_ratio, int | float):
            raise DomainError(
                "qr.logo_ratio_invalid",
                value=str(self.logo_ratio),
                minimum=MIN_LOGO_RATIO,
                maximum=MAX_LOGO_RATIO,
            )
        if not MIN_LOGO_RATIO <= self.logo_ratio <= MAX_LOGO_RATIO:
            raise DomainError(
                "qr.logo_ratio_invalid",
                value=self.logo_ratio,
                minimum=MIN_LOGO_RATIO,
                maximum=MAX_LOGO_RATIO,
            )
        dark = parse_hex_colour(self.dark, field="dark")
        light = parse_hex_colour(self.light, field="light")
        object.__setattr__(self, "dark", _hex(dark))
        object.__setattr__(self, "light", _hex(light))
        if relative_luminance(dark) > relative_luminance(light):
            raise DomainError("qr.colors_inverted", dark=self.dark, light=self.light)
        ratio = contrast_ratio(dark, light)
        if ratio < MIN_CONTRAST:
            raise DomainError(
                "qr.contrast_too_low",
                ratio=f"{ratio:.2f}",
                minimum=f"{MIN_CONTRAST:g}",
                dark=self.dark,
                light=self.light,
            )

    @property
    def dark_rgb(self) -> tuple[int, int, int]:
        return parse_hex_colour(self.dark, field="dark")

    @property
    def light_rgb(self) -> tuple[int, int, int]:
        return parse_hex_colour(self.light, field="light")
