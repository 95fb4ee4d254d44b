"""Uploaded pool-member and fallback images: checked, decoded, made light. Pure.

An operator uploads a screenshot of a group's invitation card or a photo of a staff
member's contact QR. Exactly one distinct QR code must be in it. The stored copy is
re-encoded (which also drops EXIF metadata such as a photo's location), turned upright,
flattened onto white and scaled down to :data:`MAX_SIDE`, and kept only if the QR still
reads back from it; otherwise the full-size re-encoding is kept.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from qunyun.errors import DomainError
from qunyun.qr.decode import found_codes, load_upload, read_codes

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_SIDE = 1280
JPEG_QUALITY = 90


@dataclass(frozen=True)
class StoredImage:
    data: bytes
    mime: str


@dataclass(frozen=True)
class MemberImage:
    image: StoredImage
    qr_text: str


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("L" if image.mode in ("1", "L", "I;16", "I") else "RGB")


def _encode(image: Image.Image, as_jpeg: bool) -> StoredImage:
    out = io.BytesIO()
    if as_jpeg:
        image.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        return StoredImage(out.getvalue(), "image/jpeg")
    image.save(out, format="PNG", optimize=True)
    return StoredImage(out.getvalue(), "image/png")


def _smaller(image: Image.Image) -> Image.Image:
    if max(image.size) <= MAX_SIDE:
        return image
    copy = image.copy()
    copy.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return copy


def _is_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


def prepare_member_image(data: bytes) -> MemberImage:
    """The one QR's text and a light copy of the image; refusals ``qr.image_*``,
    ``livecode.image_no_qr`` and ``livecode.image_several_qr``."""
    image = load_upload(data, max_bytes=MAX_UPLOAD_BYTES)
    texts = sorted({code.text for code in found_codes(read_codes(image))})
    if not texts:
        raise DomainError("livecode.image_no_qr")
    if len(texts) > 1:
        raise DomainError("livecode.image_several_qr", count=len(texts))
    text = texts[0]
    flat = _flatten(image)
    as_jpeg = _is_jpeg(data)
    for candidate in (_smaller(flat), flat):
        stored = _encode(candidate, as_jpeg)
        reread = read_codes(load_upload(stored.data, max_bytes=MAX_UPLOAD_BYTES))
        if any(code.text == text for code in reread):
            return MemberImage(stored, text)
    # Re-encoding lost it (extremely faint codes): keep a lossless full-size copy.
    return MemberImage(_encode(flat, as_jpeg=False), text)


def prepare_fallback_image(data: bytes) -> StoredImage:
    """Any picture (often the alternative contact's QR), made light; refusals ``qr.image_*``."""
    image = load_upload(data, max_bytes=MAX_UPLOAD_BYTES)
    return _encode(_smaller(_flatten(image)), _is_jpeg(data))
