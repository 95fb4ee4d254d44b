"""Untrusted image bytes to a Pillow image, refusing what is too big, foreign or broken.

Pillow's ``Image.open`` reads only the header, so the pixel count is checked before any
pixel is decoded. Pillow's own decompression-bomb guard (``Image.MAX_IMAGE_PIXELS``,
process-wide, left untouched here) fires inside ``open`` for images over that limit:
its error, and its warning when warnings are errors, both become ``*_too_many_pixels``.
With warnings not promoted, the warning is only logged and our own limit refuses.

Likewise Pillow only warns about damaged metadata (a corrupt EXIF block): normally the
image is decoded anyway, but where warnings are errors (the test suite) it is refused as
``*_corrupt``. Warning filters are process-wide and not thread-safe to swap per call, so
they are left alone.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageOps, UnidentifiedImageError

from qunyun.errors import DomainError

# Pillow raises a zoo of types on damaged files (truncated streams, bad chunks, CRCs), and
# warns about damaged metadata: a UserWarning only escapes when warnings are errors.
_BROKEN_IMAGE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    UserWarning,
)
_BOMB_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning)


def _too_many_pixels(
    prefix: str, max_pixels: int, size: tuple[int, int] | None = None
) -> DomainError:
    # When Pillow's own guard fires inside ``open`` the size is not known to us.
    known = {"width": size[0], "height": size[1]} if size else {}
    return DomainError(f"{prefix}_too_many_pixels", status=413, limit=max_pixels, **known)


def _identify_foreign(data: bytes) -> str | None:
    """The format name Pillow would give bytes we do not accept, if they are an image."""
    try:
        with Image.open(io.BytesIO(data)) as other:
            return other.format
    except Exception:  # any failure here just means "not an image we know"
        return None


def open_image(
    data: bytes,
    *,
    formats: Sequence[str],
    max_bytes: int,
    max_pixels: int,
    prefix: str,
) -> Image.Image:
    """Decode ``data`` (one of ``formats``) into a fully loaded, upright Pillow image.

    Error codes are ``<prefix>_too_large``, ``_too_many_pixels``, ``_not_an_image``,
    ``_unsupported_format`` and ``_corrupt``. Animated images yield their first frame.
    """
    if max_bytes <= 0 or max_pixels <= 0:
        raise ValueError("max_bytes and max_pixels must be positive")
    if len(data) > max_bytes:
        raise DomainError(f"{prefix}_too_large", status=413, size=len(data), limit=max_bytes)
    if not data:
        raise DomainError(f"{prefix}_not_an_image")
    try:
        image = Image.open(io.BytesIO(data), formats=list(formats))
    except _BOMB_ERRORS as exc:
        raise _too_many_pixels(prefix, max_pixels) from exc
    except UnidentifiedImageError as exc:
        foreign = _identify_foreign(data)
        if foreign is None:
            raise DomainError(f"{prefix}_not_an_image") from exc
        raise DomainError(
            f"{prefix}_unsupported_format", format=foreign, allowed=", ".join(formats)
        ) from exc
    except _BROKEN_IMAGE_ERRORS as exc:
        raise DomainError(f"{prefix}_corrupt") from exc
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise _too_many_pixels(prefix, max_pixels, (width, height))
    if width <= 0 or height <= 0:
        image.close()
        raise DomainError(f"{prefix}_corrupt")
    try:
        image.load()
    except _BOMB_ERRORS as exc:
        raise _too_many_pixels(prefix, max_pixels, (width, height)) from exc
    except _BROKEN_IMAGE_ERRORS as exc:
        raise DomainError(f"{prefix}_corrupt") from exc
    try:
        return ImageOps.exif_transpose(image)
    except _BROKEN_IMAGE_ERRORS:
        return image  # damaged EXIF: the pixels are fine, only the orientation is unknown


def flatten_to_grey(image: Image.Image) -> Image.Image:
    """Greyscale (mode ``L``) with any transparency laid on white.

    A transparent PNG usually stores black pixels under alpha 0; converting it straight to
    grey would turn the background black and hide a dark-on-transparent code.
    """
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: keep the top byte instead of clipping everything above 255.
        image = image.point(lambda value: value / 256, "L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("L")
    return image.convert("L")
