"""Find and read every QR code in an uploaded photo or screenshot (zxing-cpp).

zxing-cpp already searches all four orientations, downscaled copies and inverted
(light-on-dark) codes. When that first pass finds nothing, a few cheap fallbacks that
real photos need are tried in turn, each on a copy no longer than 2048 pixels so a big
image costs one full-resolution pass plus a handful of small ones:
the global-histogram binariser (uneven prints, t-shirts), contrast stretching (washed-out
or dim photos), a slight blur (screen moiré, JPEG noise) and, for small images, a 2x
enlargement (codes with 1-2 pixels per module). The first pass that finds anything wins.
Rotation needs no pass of its own: the QR detector locates finder patterns at any angle
and ``try_rotate`` covers the quarter turns. Blur is not combined with the global
histogram: on zxing's corpus that pairing read nothing new and misread one artistic code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import zxingcpp
from PIL import Image, ImageFilter, ImageOps

from qunyun.qr.classify import PayloadKind, classify_payload
from qunyun.qr.images import flatten_to_grey, open_image

DECODE_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "GIF")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
_WORK_SIDE = 2048
_ENLARGE_BELOW = 1024
_QR_FAMILY = zxingcpp.BarcodeFormats(
    [
        zxingcpp.BarcodeFormat.QRCode,
        zxingcpp.BarcodeFormat.MicroQRCode,
        zxingcpp.BarcodeFormat.RMQRCode,
    ]
)

Point = tuple[int, int]


@dataclass(frozen=True)
class FoundCode:
    """One QR code in an image.

    ``points`` are its four corners in image pixels, in the code's own order (top-left,
    top-right, bottom-right, bottom-left as the code reads, whatever the photo's tilt).
    ``box`` is the upright bounding box ``(left, top, right, bottom)``, inclusive.
    """

    text: str
    points: tuple[Point, ...]
    box: tuple[int, int, int, int]
    kind: PayloadKind
    expires_at: datetime | None


@dataclass(frozen=True)
class RawCode:
    """A decoded symbol before classification: its text, its raw bytes and its corners."""

    text: str
    raw: bytes
    points: tuple[Point, ...]


@dataclass(frozen=True)
class _Pass:
    name: str
    variant: str
    binarizer: zxingcpp.Binarizer


_PASSES: tuple[_Pass, ...] = (
    _Pass("plain", "original", zxingcpp.Binarizer.LocalAverage),
    _Pass("global_histogram", "original", zxingcpp.Binarizer.GlobalHistogram),
    _Pass("contrast", "contrast", zxingcpp.Binarizer.LocalAverage),
    _Pass("contrast_global_histogram", "contrast", zxingcpp.Binarizer.GlobalHistogram),
    _Pass("smoothed", "smoothed", zxingcpp.Binarizer.LocalAverage),
    _Pass("enlarged", "enlarged", zxingcpp.Binarizer.LocalAverage),
    _Pass("enlarged_global_histogram", "enlarged", zxingcpp.Binarizer.GlobalHistogram),
)


class _Variants:
    """Prepared copies of the grey image, each made once, with its scale to the original."""

    def __init__(self, grey: Image.Image) -> None:
        self._grey = grey
        self._made: dict[str, tuple[Image.Image, float] | None] = {}

    def _work(self) -> tuple[Image.Image, float]:
        longest = max(self._grey.size)
        if longest <= _WORK_SIDE:
            return self._grey, 1.0
        factor = _WORK_SIDE / longest
        size = (max(1, round(self._grey.width * factor)), max(1, round(self._grey.height * factor)))
        return self._grey.resize(size, Image.Resampling.BOX), factor

    def _make(self, name: str) -> tuple[Image.Image, float] | None:
        if name == "original":
            return self._grey, 1.0
        if name == "enlarged":
            if max(self._grey.size) > _ENLARGE_BELOW:
                return None
            size = (self._grey.width * 2, self._grey.height * 2)
            return self._grey.resize(size, Image.Resampling.BICUBIC), 2.0
        work, factor = self.get_work()
        prepare: Callable[[Image.Image], Image.Image] = {
            "contrast": lambda img: ImageOps.autocontrast(img, cutoff=2),
            "smoothed": lambda img: img.filter(ImageFilter.GaussianBlur(1)),
        }[name]
        return prepare(work), factor

    def get_work(self) -> tuple[Image.Image, float]:
        if "work" not in self._made:
            self._made["work"] = self._work()
        work = self._made["work"]
        assert work is not None
        return work

    def get(self, name: str) -> tuple[Image.Image, float] | None:
        if name not in self._made:
            self._made[name] = self._make(name)
        return self._made[name]


def _scan(image: Image.Image, binarizer: zxingcpp.Binarizer) -> list[zxingcpp.Barcode]:
    return list(
        zxingcpp.read_barcodes(
            image,
            formats=_QR_FAMILY,
            text_mode=zxingcpp.TextMode.Plain,
            binarizer=binarizer,
        )
    )


def _corners(barcode: zxingcpp.Barcode, factor: float, size: tuple[int, int]) -> tuple[Point, ...]:
    position = barcode.position
    corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    width, height = size
    return tuple(
        (
            min(max(round(corner.x / factor), 0), width - 1),
            min(max(round(corner.y / factor), 0), height - 1),
        )
        for corner in corners
    )


def _passes(grey: Image.Image) -> Iterator[tuple[str, list[RawCode]]]:
    variants = _Variants(grey)
    for attempt in _PASSES:
        prepared = variants.get(attempt.variant)
        if prepared is None:
            continue
        image, factor = prepared
        codes: dict[tuple[str, tuple[Point, ...]], RawCode] = {}
        for barcode in _scan(image, attempt.binarizer):
            points = _corners(barcode, factor, grey.size)
            codes.setdefault(
                (barcode.text, points), RawCode(text=barcode.text, raw=barcode.bytes, points=points)
            )
        yield attempt.name, list(codes.values())


def read_codes_with_pass(
    image: Image.Image, *, fallbacks: bool = True
) -> tuple[str | None, list[RawCode]]:
    """The codes in a loaded image and the name of the pass that found them.

    Without ``fallbacks`` only zxing-cpp's own search runs, as a strict check of a code
    we drew ourselves: what needs contrast stretching to read is not fit to print.
    """
    for name, codes in _passes(flatten_to_grey(image)):
        if codes:
            return name, codes
        if not fallbacks:
            break
    return None, []


def read_codes(image: Image.Image, *, fallbacks: bool = True) -> list[RawCode]:
    """The codes in a loaded image, from the first pass that finds any."""
    return read_codes_with_pass(image, fallbacks=fallbacks)[1]


def _bounding_box(points: tuple[Point, ...]) -> tuple[int, int, int, int]:
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    return min(xs), min(ys), max(xs), max(ys)


def found_codes(raw_codes: list[RawCode]) -> list[FoundCode]:
    """Classify raw codes and order them top to bottom, left to right."""
    found = []
    for raw in raw_codes:
        kind, expires_at = classify_payload(raw.text)
        found.append(
            FoundCode(
                text=raw.text,
                points=raw.points,
                box=_bounding_box(raw.points),
                kind=kind,
                expires_at=expires_at,
            )
        )
    return sorted(found, key=lambda code: (code.box[1], code.box[0], code.text))


def load_upload(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """An uploaded image (PNG, JPEG, WebP, GIF) loaded within the limits, or a refusal."""
    return open_image(
        data, formats=DECODE_FORMATS, max_bytes=max_bytes, max_pixels=max_pixels, prefix="qr.image"
    )


def decode_image(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
) -> list[FoundCode]:
    """Every QR code in an uploaded image; an empty list when there is none.

    Refusals: ``qr.image_too_large`` (bytes), ``qr.image_too_many_pixels`` (checked from the
    header before decoding), ``qr.image_not_an_image``, ``qr.image_unsupported_format``,
    ``qr.image_corrupt`` (truncated or damaged).
    """
    image = load_upload(data, max_bytes=max_bytes, max_pixels=max_pixels)
    return found_codes(read_codes(image))
