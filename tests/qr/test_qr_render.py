"""Rendering: PNG and SVG round trips, sizes, colours, logos, never Micro QR."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from qunyun.qr import QrStyle, decode_image, render_png, render_svg
from qunyun.qr.render import symbol_modules
from tests.qr.qr_helpers import Refusal

SVG = "{http://www.w3.org/2000/svg}"
EC_ORDER = "LMQH"


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _pixel_hex(value: object) -> str:
    assert isinstance(value, tuple)
    return "#" + "".join(f"{channel:02x}" for channel in value[:3])


def _long_hex(colour: str) -> str:
    digits = colour.lstrip("#").lower()
    return "#" + ("".join(d * 2 for d in digits) if len(digits) == 3 else digits)


def _parse_svg(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted input


def _zxing(png: bytes) -> list[zxingcpp.Barcode]:
    image = Image.open(io.BytesIO(png))
    formats = zxingcpp.BarcodeFormats(
        [zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.MicroQRCode]
    )
    return list(zxingcpp.read_barcodes(image, formats=formats))


# Channels up to 80 against channels from 180 always give a contrast above 3:1.
dark_colours = st.tuples(*[st.integers(0, 80)] * 3).map(_hex)
light_colours = st.tuples(*[st.integers(180, 255)] * 3).map(_hex)
texts = st.text(min_size=1, max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=texts,
    dark=dark_colours,
    light=light_colours,
    error=st.sampled_from(EC_ORDER),
    border=st.integers(0, 8),
    scale=st.integers(2, 6),
)
def test_png_round_trip(
    text: str, dark: str, light: str, error: str, border: int, scale: int
) -> None:
    style = QrStyle(scale=scale, border=border, dark=dark, light=light, error=error)
    png = render_png(text, style)

    found = decode_image(png)
    assert [code.text for code in found] == [text]
    image = Image.open(io.BytesIO(png)).convert("RGB")
    modules = symbol_modules(text, error) + 2 * border
    assert image.size == (modules * scale, modules * scale)
    colours = {_pixel_hex(rgb) for _, rgb in image.getcolors(2) or []}
    assert colours == {dark, light}
    if border:
        assert _pixel_hex(image.getpixel((0, 0))) == light
    (barcode,) = _zxing(png)
    assert EC_ORDER.index(barcode.ec_level) >= EC_ORDER.index(error)


@settings(max_examples=25, deadline=None)
@given(text=texts, width=st.integers(120, 700), border=st.integers(0, 6))
def test_png_target_width_is_exact_and_reads(text: str, width: int, border: int) -> None:
    modules = symbol_modules(text, "M") + 2 * border
    if modules > width:
        return  # covered by test_width_too_small_for_the_code
    png = render_png(text, QrStyle(width=width, border=border))
    assert Image.open(io.BytesIO(png)).size == (width, width)
    assert [code.text for code in decode_image(png)] == [text]


@settings(max_examples=40, deadline=None)
@given(
    text=texts,
    dark=dark_colours,
    light=light_colours,
    border=st.integers(0, 8),
    scale=st.integers(1, 12),
)
def test_svg_is_well_formed_with_size_and_colours(
    text: str, dark: str, light: str, border: int, scale: int
) -> None:
    svg = render_svg(text, QrStyle(scale=scale, border=border, dark=dark, light=light))

    root = _parse_svg(svg)
    modules = symbol_modules(text, "M") + 2 * border
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {modules} {modules}"
    assert float(root.get("width", "0")) == modules * scale
    assert float(root.get("height", "0")) == modules * scale
    paths = root.findall(f"{SVG}path")
    fills = {_long_hex(p.get("fill", "")) for p in paths if p.get("fill")}
    strokes = {_long_hex(p.get("stroke", "")) for p in paths if p.get("stroke")}
    assert fills == {light}
    assert strokes == {dark}


def test_svg_target_width_sets_the_document_size() -> None:
    root = _parse_svg(render_svg("https://example.com/", QrStyle(width=333)))
    assert (root.get("width"), root.get("height")) == ("333", "333")


@pytest.mark.parametrize("text", ["1", "a", "0", "12345", "A1", "x" * 5])
def test_short_text_makes_a_full_qr_code_never_micro(text: str) -> None:
    png = render_png(text, QrStyle(scale=4, border=4))
    (barcode,) = _zxing(png)
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.text == text
    assert symbol_modules(text, "L") >= 21  # Micro QR symbols are 11 to 17 modules
    assert Image.open(io.BytesIO(png)).size == ((21 + 8) * 4, (21 + 8) * 4)


@settings(max_examples=30, deadline=None)
@given(text=st.text(min_size=1, max_size=4), error=st.sampled_from(EC_ORDER))
def test_no_text_ever_yields_a_micro_qr(text: str, error: str) -> None:
    assert symbol_modules(text, error) >= 21


@pytest.mark.parametrize(
    "text",
    [
        "https://q.example.cn/s/Ab3x9",
        "https://weixin.qq.com/g/AwYAAFaT9qeQLWEs8xq4cjHIvcr3q1ND10VAyMO0rHCWoO4PsgQ5spyABQSFdhpo",
        "群运：扫码加入 2024 春季训练营",
    ],
)
def test_logo_forces_level_h_and_still_reads(text: str, logo_png: bytes) -> None:
    plain = render_png(text, QrStyle(scale=6, error="L"))
    with_logo = render_png(text, QrStyle(scale=6, error="L"), logo=logo_png)

    (barcode,) = _zxing(with_logo)
    assert barcode.ec_level == "H"
    assert barcode.text == text
    assert [code.text for code in decode_image(with_logo)] == [text]
    centre = Image.open(io.BytesIO(with_logo)).convert("RGB")
    reds = [
        pixel
        for pixel in (
            centre.getpixel((x, y))
            for x in range(centre.width // 3, 2 * centre.width // 3)
            for y in range(centre.height // 3, 2 * centre.height // 3)
        )
        if pixel == (200, 30, 30)
    ]
    assert reds, "the logo's colours show in the middle of the code"
    assert plain != with_logo


def test_svg_logo_is_embedded_on_a_light_pad(logo_png: bytes) -> None:
    svg = render_svg("https://q.example.cn/s/Ab3x9", QrStyle(light="#fffff0"), logo=logo_png)

    root = _parse_svg(svg)
    (pad,) = root.findall(f"{SVG}rect")
    (image,) = root.findall(f"{SVG}image")
    assert pad.get("fill") == "#fffff0"
    href = image.get("href", "")
    assert href.startswith("data:image/png;base64,")
    pad_x, pad_size = float(pad.get("x", "0")), float(pad.get("width", "0"))
    logo_x, logo_width = float(image.get("x", "0")), float(image.get("width", "0"))
    assert pad_x <= logo_x
    assert logo_x + logo_width <= pad_x + pad_size


@pytest.mark.parametrize(
    "text",
    ["1", "https://q.example.cn/s/Ab3x9", "https://weixin.qq.com/g/AwYAAFaT9qeQLWEs8xq4cjHI"],
)
def test_logo_over_half_the_width_is_refused(text: str, logo_png: bytes, refused: Refusal) -> None:
    huge = QrStyle(logo_ratio=0.5)
    refused("qr.logo_unreadable", render_png, text, huge, logo=logo_png)
    refused("qr.logo_unreadable", render_svg, text, huge, logo=logo_png)


def test_logo_size_follows_the_ratio(logo_png: bytes) -> None:
    text = "https://q.example.cn/s/Ab3x9"

    def pad_width(ratio: float) -> float:
        root = _parse_svg(render_svg(text, QrStyle(logo_ratio=ratio), logo=logo_png))
        (pad,) = root.findall(f"{SVG}rect")
        return float(pad.get("width", "0"))

    modules = symbol_modules(text, "H")
    assert pad_width(0.1) < pad_width(0.2) < pad_width(0.3)
    assert pad_width(0.2) <= 0.22 * modules + 1


def test_lower_case_error_level_and_short_colours_are_normalised() -> None:
    style = QrStyle(error="q", dark="#123", light="#FfF")
    assert (style.error, style.dark, style.light) == ("Q", "#112233", "#ffffff")


def test_png_is_a_png_and_svg_text_has_no_xml_declaration() -> None:
    assert render_png("x").startswith(b"\x89PNG\r\n\x1a\n")
    assert re.match(r"<svg [^>]*>", render_svg("x"))
