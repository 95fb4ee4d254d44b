"""Refusals: each bad input gets its own stable code, and nothing else escapes."""

from __future__ import annotations

import io
import struct
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from qunyun.errors import DomainError
from qunyun.qr import QrStyle, decode_image, render_png, render_svg
from tests.qr.qr_helpers import Refusal, encode, png_header_only

IMAGE_CODES = {
    "qr.image_too_large",
    "qr.image_too_many_pixels",
    "qr.image_not_an_image",
    "qr.image_unsupported_format",
    "qr.image_corrupt",
}


@pytest.fixture(scope="module")
def code_png() -> bytes:
    return render_png("https://q.example.cn/s/refusals", QrStyle(scale=4))


@pytest.fixture(scope="module")
def code_jpeg(code_png: bytes) -> bytes:
    return encode(Image.open(io.BytesIO(code_png)).convert("RGB"), "JPEG", quality=90)


# --- uploads ---------------------------------------------------------------------------


def test_oversize_bytes(code_png: bytes, refused: Refusal) -> None:
    error = refused("qr.image_too_large", decode_image, code_png, max_bytes=len(code_png) - 1)
    assert error.status == 413
    assert error.params["limit"] == len(code_png) - 1
    refused("qr.image_too_large", decode_image, b"\x89PNG" + b"\0" * (10 * 1024 * 1024))


def test_decompression_bomb_png_is_refused_from_its_header(refused: Refusal) -> None:
    bomb = png_header_only(100_000, 100_000)
    assert len(bomb) < 1_000_000

    error = refused("qr.image_too_many_pixels", decode_image, bomb)
    assert error.status == 413


@pytest.mark.parametrize(("width", "height"), [(8000, 6000), (10_000, 10_000)])
def test_over_our_pixel_limit_is_refused_before_decoding(
    width: int, height: int, refused: Refusal
) -> None:
    # 48 Mpx is over our 40 Mpx default but under Pillow's own 89 Mpx guard; 100 Mpx trips
    # Pillow's warning, which this suite turns into an error.
    header_only = png_header_only(width, height, with_data=False)
    error = refused("qr.image_too_many_pixels", decode_image, header_only)
    assert error.params["limit"] == 40_000_000
    if width * height < 89_478_485:  # below Pillow's guard our own check names the size
        assert (error.params["width"], error.params["height"]) == (width, height)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pillow_bomb_warning_ignored_still_refused(refused: Refusal) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        refused("qr.image_too_many_pixels", decode_image, png_header_only(10_000, 10_000))


def test_pixel_limit_is_a_parameter(code_png: bytes, refused: Refusal) -> None:
    width, height = Image.open(io.BytesIO(code_png)).size
    refused("qr.image_too_many_pixels", decode_image, code_png, max_pixels=width * height - 1)
    assert len(decode_image(code_png, max_pixels=width * height)) == 1


def test_huge_jpeg_header_is_refused(code_jpeg: bytes, refused: Refusal) -> None:
    marker = code_jpeg.index(b"\xff\xc0")  # SOF0: length, precision, height, width
    patched = code_jpeg[: marker + 5] + struct.pack(">HH", 60_000, 60_000) + code_jpeg[marker + 9 :]
    refused("qr.image_too_many_pixels", decode_image, patched)


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, this is a text file\n", "群运 社群".encode(), b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"],
)
def test_not_an_image(data: bytes, refused: Refusal) -> None:
    refused("qr.image_not_an_image", decode_image, data)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_other_image_formats_are_named(fmt: str, code_png: bytes, refused: Refusal) -> None:
    data = encode(Image.open(io.BytesIO(code_png)).convert("RGB"), fmt)
    error = refused("qr.image_unsupported_format", decode_image, data)
    assert error.params["format"] == fmt


def test_truncated_jpeg(code_jpeg: bytes, refused: Refusal) -> None:
    refused("qr.image_corrupt", decode_image, code_jpeg[: len(code_jpeg) // 2])


def test_truncated_and_damaged_png(code_png: bytes, refused: Refusal) -> None:
    refused("qr.image_corrupt", decode_image, code_png[: len(code_png) - 30])
    idat = code_png.index(b"IDAT") + 8
    damaged = code_png[:idat] + bytes(b ^ 0x5A for b in code_png[idat : idat + 20])
    damaged += code_png[idat + 20 :]
    refused("qr.image_corrupt", decode_image, damaged)


BROKEN_EXIF = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12"


def test_broken_exif_is_corrupt_when_warnings_are_errors(code_png: bytes, refused: Refusal) -> None:
    rgb = Image.open(io.BytesIO(code_png)).convert("RGB")
    refused("qr.image_corrupt", decode_image, encode(rgb, "JPEG", exif=BROKEN_EXIF))


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
def test_broken_exif_still_decodes_when_warnings_are_only_logged(code_png: bytes) -> None:
    rgb = Image.open(io.BytesIO(code_png)).convert("RGB")
    found = decode_image(encode(rgb, "JPEG", exif=BROKEN_EXIF))
    assert [code.text for code in found] == ["https://q.example.cn/s/refusals"]


@st.composite
def damaged_images(draw: st.DrawFn) -> bytes:
    image = Image.new("RGB", (draw(st.integers(8, 64)), draw(st.integers(8, 64))), "white")
    fmt = draw(st.sampled_from(["PNG", "JPEG", "WEBP", "GIF"]))
    options: dict[str, object] = {}
    if fmt == "JPEG" and draw(st.booleans()):
        exif = Image.Exif()
        exif[0x0112] = draw(st.integers(0, 9))  # orientation, valid or not
        options["exif"] = exif
    data = bytearray(encode(image, fmt, **options))
    for _ in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(max_size=300), damaged_images()))
def test_garbage_never_escapes_as_anything_but_a_refusal(data: bytes) -> None:
    try:
        outcome: object = decode_image(data)
    except DomainError as error:
        outcome = error.code
    assert isinstance(outcome, list) or outcome in IMAGE_CODES


# --- rendering -------------------------------------------------------------------------


def test_empty_text(refused: Refusal) -> None:
    refused("qr.text_empty", render_png, "")
    refused("qr.text_empty", render_svg, "")


def test_text_too_long_for_any_qr_code(refused: Refusal) -> None:
    error = refused("qr.text_too_long", render_png, "长" * 3000)
    assert error.params["length"] == 3000
    refused("qr.text_too_long", render_svg, "x" * 3000, QrStyle(error="H"))
    assert render_png("1" * 7089, QrStyle(scale=1, error="L"))  # the numeric maximum fits
    refused("qr.text_too_long", render_png, "1" * 7090, QrStyle(scale=1, error="L"))
    refused("qr.text_too_long", render_svg, "a" * 1_000_000)


@pytest.mark.parametrize(
    "colour",
    ["black", "#12345", "#ggg", "", "000000", "#0000000", "rgb(0,0,0)", "#12 345", " #000000"],
)
def test_invalid_colour_strings(colour: str, refused: Refusal) -> None:
    error = refused("qr.color_invalid", QrStyle, dark=colour)
    assert error.params["field"] == "dark"
    error = refused("qr.color_invalid", QrStyle, light=colour)
    assert error.params["field"] == "light"


@pytest.mark.parametrize(
    ("dark", "light"), [("#777777", "#888888"), ("#ff0000", "#00ff00"), ("#000000", "#333333")]
)
def test_too_little_contrast(dark: str, light: str, refused: Refusal) -> None:
    error = refused("qr.contrast_too_low", QrStyle, dark=dark, light=light)
    assert float(error.params["ratio"]) < 3


def test_light_modules_on_dark_background(refused: Refusal) -> None:
    refused("qr.colors_inverted", QrStyle, dark="#ffffff", light="#000000")
    refused("qr.contrast_too_low", QrStyle, dark="#808080", light="#808080")


@pytest.mark.parametrize(
    ("code", "options"),
    [
        ("qr.error_level_invalid", {"error": "X"}),
        ("qr.error_level_invalid", {"error": ""}),
        ("qr.border_invalid", {"border": -1}),
        ("qr.border_invalid", {"border": 17}),
        ("qr.scale_invalid", {"scale": 0}),
        ("qr.scale_invalid", {"scale": 65}),
        ("qr.scale_invalid", {"scale": 2.5}),
        ("qr.width_invalid", {"width": 10}),
        ("qr.width_invalid", {"width": 5000}),
        ("qr.logo_ratio_invalid", {"logo_ratio": 0.9}),
        ("qr.logo_ratio_invalid", {"logo_ratio": 0}),
    ],
)
def test_invalid_style_options(code: str, options: dict[str, object], refused: Refusal) -> None:
    refused(code, QrStyle, **options)


def test_width_too_small_for_the_code(refused: Refusal) -> None:
    error = refused("qr.size_too_small", render_png, "x" * 200, QrStyle(width=60))
    assert error.params["minimum"] > 60


def test_scale_too_large_for_the_code(refused: Refusal) -> None:
    refused("qr.size_too_large", render_png, "x" * 1000, QrStyle(scale=64))
    refused("qr.size_too_large", render_svg, "x" * 1000, QrStyle(scale=64))


def test_bad_logos(code_png: bytes, refused: Refusal) -> None:
    refused("qr.logo_not_an_image", render_png, "x", logo=b"not an image")
    gif = encode(Image.new("RGB", (10, 10)), "GIF")
    error = refused("qr.logo_unsupported_format", render_png, "x", logo=gif)
    assert error.params["format"] == "GIF"
    refused("qr.logo_corrupt", render_svg, "x", logo=code_png[:-30])
    refused("qr.logo_too_large", render_png, "x", logo=b"\x89PNG" + b"\0" * (3 * 1024 * 1024))
    refused("qr.logo_too_many_pixels", render_png, "x", logo=png_header_only(5000, 5000))
