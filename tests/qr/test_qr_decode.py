"""Decoding uploads: every format, transparency, EXIF rotation, several codes, big images."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageEnhance, ImageFilter

from qunyun.qr import PayloadKind, QrStyle, decode_image, render_png
from qunyun.qr import decode as decode_module
from tests.qr.qr_helpers import encode

GROUP_URL = (
    "https://weixin.qq.com/g/AwYAAFaT9qeQLWEs8xq4cjHIvcr3q1ND10VAyMO0rHCWoO4PsgQ5spyABQSFdhpo"
)


def _code_image(text: str, scale: int = 6, border: int = 4) -> Image.Image:
    image = Image.open(io.BytesIO(render_png(text, QrStyle(scale=scale, border=border))))
    return image.convert("RGB")


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("PNG", {}),
        ("JPEG", {"quality": 60}),
        ("WEBP", {"quality": 70}),
        ("WEBP", {"lossless": True}),
        ("GIF", {}),
    ],
)
def test_every_accepted_format_decodes(fmt: str, options: dict[str, object]) -> None:
    data = encode(_code_image(GROUP_URL), fmt, **options)

    (found,) = decode_image(data)
    assert found.text == GROUP_URL
    assert found.kind is PayloadKind.WECHAT_GROUP
    assert found.expires_at is None


def test_animated_gif_reads_the_first_frame() -> None:
    first, second = _code_image("frame one"), _code_image("frame two")
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100)

    assert [code.text for code in decode_image(data)] == ["frame one"]


def test_dark_code_on_transparent_background() -> None:
    code = _code_image("transparent background").convert("L")
    rgba = Image.new("RGBA", code.size, (0, 0, 0, 0))
    rgba.putalpha(code.point(lambda value: 255 - value))  # modules opaque black, rest clear

    assert [c.text for c in decode_image(encode(rgba, "PNG"))] == ["transparent background"]


def test_exif_orientation_is_applied_before_reporting_positions() -> None:
    canvas = Image.new("RGB", (600, 300), "white")
    canvas.paste(_code_image("exif", scale=4), (20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewers rotate it 90° clockwise
    data = encode(canvas, "JPEG", quality=90, exif=exif)

    (found,) = decode_image(data)
    left, top, right, bottom = found.box
    # Upright, the image is 300 wide and 600 tall; the code sits at its top right.
    assert (right < 300, bottom < 600) == (True, True)
    assert (left > 150, top < 150) == (True, True)


def test_several_codes_come_back_top_to_bottom_with_their_boxes() -> None:
    canvas = Image.new("RGB", (900, 900), "white")
    places = {"https://example.com/a": (500, 40), "second code": (60, 330), "第三个": (480, 620)}
    for text, corner in places.items():
        canvas.paste(_code_image(text, scale=5), corner)

    found = decode_image(encode(canvas, "PNG"))

    assert [code.text for code in found] == list(places)
    assert [code.kind for code in found] == [PayloadKind.URL, PayloadKind.TEXT, PayloadKind.TEXT]
    for code, (x, y) in zip(found, places.values(), strict=True):
        left, top, _, _ = code.box
        assert abs(left - (x + 20)) <= 3  # past the 4-module quiet zone
        assert abs(top - (y + 20)) <= 3


def test_photo_like_degradation_still_reads() -> None:
    code = _code_image("https://q.example.cn/s/photo", scale=5)
    photo = Image.new("RGB", (1600, 1200), (120, 110, 100))
    tilted = code.rotate(17, expand=True, fillcolor=(255, 255, 255))
    photo.paste(tilted, (700, 300))
    photo = ImageEnhance.Contrast(photo).enhance(0.45).filter(ImageFilter.GaussianBlur(1.2))

    found = decode_image(encode(photo, "JPEG", quality=55))

    assert [code.text for code in found] == ["https://q.example.cn/s/photo"]
    left, top, right, bottom = found[0].box
    assert 700 <= left < right <= 700 + tilted.width
    assert 300 <= top < bottom <= 300 + tilted.height


def test_no_code_is_an_empty_list_not_an_error() -> None:
    assert decode_image(encode(Image.new("RGB", (640, 480), "white"), "JPEG")) == []
    assert decode_image(encode(Image.effect_noise((300, 300), 80), "PNG")) == []


def test_big_photo_reports_positions_in_its_own_pixels() -> None:
    canvas = Image.new("L", (6000, 4000), 235)
    canvas.paste(_code_image("big photo", scale=8).convert("L"), (4500, 3000))

    (found,) = decode_image(encode(canvas, "PNG"))

    left, top, right, bottom = found.box
    assert abs(left - 4532) <= 4
    assert abs(top - 3032) <= 4
    assert right > 4532 + 100
    assert bottom > 3032 + 100


def test_fallback_passes_map_positions_back_from_the_reduced_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    only_reduced = tuple(p for p in decode_module._PASSES if p.variant == "contrast")
    monkeypatch.setattr(decode_module, "_PASSES", only_reduced)
    canvas = Image.new("L", (4096, 3072), 200)
    canvas.paste(_code_image("reduced copy", scale=10).convert("L"), (3000, 2000))

    (found,) = decode_image(encode(canvas, "PNG"))

    left, top, _, _ = found.box
    assert abs(left - 3040) <= 6
    assert abs(top - 2040) <= 6
