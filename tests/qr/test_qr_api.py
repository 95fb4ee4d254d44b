"""The QR API: render PNG/SVG (text or short link), decode uploads with offers, refusals."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from PIL import Image, ImageDraw
from starlette.types import Message

from qunyun.accounts.passwords import Passwords
from qunyun.accounts.roles import Role
from qunyun.community.models import Community
from qunyun.errors import DomainError
from qunyun.links import service as links
from qunyun.links.inputs import NewLink
from qunyun.links.service import LinkEnv
from qunyun.qr import decode_image, render_png
from qunyun.qr.decode import DEFAULT_MAX_BYTES
from qunyun.qr.uploads import capped_receive
from tests.conftest import App, run_async
from tests.qr.qr_helpers import PYZBAR_DIR, ZXING_DIR, png_header_only

WECHAT_GROUP = "https://weixin.qq.com/g/AQYAAExampleToken123"


def svg_to_image(svg: str, scale: int = 6) -> Image.Image:
    """Rasterise segno's SVG (one path of horizontal strokes) so it can be decoded."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg)[1])  # type: ignore[index]
    path = re.search(r'<path stroke="[^"]+" d="([^"]+)"', svg)[1]  # type: ignore[index]
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for command, args in re.findall(r"([MmHh])([^MmHh]*)", path):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            end = numbers[0] if command == "H" else x + numbers[0]
            top = (y - 0.5) * scale
            draw.rectangle((x * scale, top, end * scale - 1, top + scale - 1), fill=0)
            x = end
    return image


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def texts(data: bytes) -> list[str]:
    return [code.text for code in decode_image(data)]


def assert_refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    assert not body["message"].startswith("error.")
    assert "{" not in body["message"], body["message"]  # every placeholder filled


@pytest.fixture
def viewer(app: App) -> dict[str, str]:
    return app.token("vera", Role.viewer)


@pytest.fixture
def operator(app: App) -> dict[str, str]:
    return app.token("olga", Role.operator)


def make_link(app: App, slug: str, community_id: int = 1) -> None:
    env = LinkEnv(app.settings, Passwords("test"))
    principal = links.installation_principal(community_id)
    with app.db.transaction() as session:
        links.create_link(
            session, env, principal, community_id, NewLink(url="https://example.com/", slug=slug)
        )


# --- rendering -------------------------------------------------------------------------


def test_get_png_decodes_back_with_headers(app: App, viewer: dict[str, str]) -> None:
    response = app.client.get("/api/v1/qr", params={"text": "你好 Qunyun"}, headers=viewer)

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert re.fullmatch(
        r'inline; filename="qr-[0-9a-f]{10}\.png"', response.headers["content-disposition"]
    )
    assert response.headers["cache-control"].startswith("private")
    assert texts(response.content) == ["你好 Qunyun"]


def test_get_svg_decodes_back(app: App, viewer: dict[str, str]) -> None:
    response = app.client.get(
        "/api/v1/qr",
        params={"text": "https://example.com/svg", "format": "svg", "download": "true"},
        headers=viewer,
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-disposition"].endswith('.svg"')
    assert "sandbox" in response.headers["content-security-policy"]
    assert texts(png_bytes(svg_to_image(response.text))) == ["https://example.com/svg"]


def test_post_json_applies_the_style(app: App, viewer: dict[str, str]) -> None:
    response = app.client.post(
        "/api/v1/qr",
        json={"text": "styled", "scale": 3, "border": 2, "dark": "#123456", "light": "#fffff0"},
        headers=viewer,
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, no-store"
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.size == ((21 + 2 * 2) * 3, (21 + 2 * 2) * 3)  # version 1: 21 modules
    assert image.getpixel((0, 0)) == (0xFF, 0xFF, 0xF0)
    assert image.getpixel((2 * 3, 2 * 3)) == (0x12, 0x34, 0x56)  # finder pattern corner
    assert texts(response.content) == ["styled"]


def test_post_multipart_with_logo(app: App, viewer: dict[str, str], logo_png: bytes) -> None:
    fields = {"text": "https://example.com/with-logo", "width": "400"}
    files = {"logo": ("logo.png", logo_png, "image/png")}

    png = app.client.post("/api/v1/qr", data=fields, files=files, headers=viewer)
    svg = app.client.post(
        "/api/v1/qr", data={**fields, "format": "svg"}, files=files, headers=viewer
    )

    assert png.status_code == 200, png.text
    assert Image.open(io.BytesIO(png.content)).size == (400, 400)
    assert texts(png.content) == ["https://example.com/with-logo"]
    assert svg.status_code == 200, svg.text
    assert 'href="data:image/png;base64,' in svg.text


def test_slug_renders_the_short_url(app: App, viewer: dict[str, str]) -> None:
    make_link(app, "promo7")

    response = app.client.get("/api/v1/qr", params={"slug": "PROMO7"}, headers=viewer)

    assert response.status_code == 200, response.text
    assert texts(response.content) == ["http://testserver/promo7"]
    assert response.headers["content-disposition"] == 'inline; filename="qr-promo7.png"'


def test_slug_of_another_community_is_not_found(app: App, viewer: dict[str, str]) -> None:
    with app.db.transaction() as session:
        session.add(Community(id=2, slug="other", name="Other"))
    make_link(app, "theirs", community_id=2)

    response = app.client.get("/api/v1/qr", params={"slug": "theirs"}, headers=viewer)

    assert_refused(response, 404, "link.not_found")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "qr.text_empty"),
        ({"text": ""}, "qr.text_empty"),
        ({"text": "a", "slug": "abc"}, "qr.text_and_slug"),
        ({"text": "a", "dark": "black"}, "qr.color_invalid"),
        ({"text": "a", "dark": "#777777", "light": "#888888"}, "qr.contrast_too_low"),
        ({"text": "a", "dark": "#ffffff", "light": "#000000"}, "qr.colors_inverted"),
        ({"text": "a", "scale": "0"}, "qr.scale_invalid"),
        ({"text": "a", "width": "5000"}, "qr.width_invalid"),
        ({"text": "a", "width": "22"}, "qr.size_too_small"),
        ({"text": "a", "border": "40"}, "qr.border_invalid"),
        ({"text": "a", "error": "X"}, "qr.error_level_invalid"),
        ({"text": "a" * 8000}, "qr.text_too_long"),
    ],
)
def test_render_refusals(
    app: App, viewer: dict[str, str], params: Mapping[str, str], code: str
) -> None:
    response = app.client.get("/api/v1/qr", params=params, headers=viewer)

    assert_refused(response, 400, code)


def test_refusal_messages_follow_the_language(app: App, viewer: dict[str, str]) -> None:
    headers = {**viewer, "Accept-Language": "en"}
    response = app.client.get("/api/v1/qr", params={"text": "a", "scale": "99"}, headers=headers)

    assert_refused(response, 400, "qr.scale_invalid")
    assert response.json()["message"].startswith("Invalid scale 99")


def test_unknown_slug_is_not_found(app: App, viewer: dict[str, str]) -> None:
    response = app.client.get("/api/v1/qr", params={"slug": "nope42"}, headers=viewer)

    assert_refused(response, 404, "link.not_found")


def test_malformed_requests_are_validation_errors(app: App, viewer: dict[str, str]) -> None:
    wrong_format = app.client.get(
        "/api/v1/qr", params={"text": "a", "format": "gif"}, headers=viewer
    )
    unknown_field = app.client.post(
        "/api/v1/qr", json={"text": "a", "colour": "red"}, headers=viewer
    )
    broken_json = app.client.post(
        "/api/v1/qr",
        content=b"{not json",
        headers={**viewer, "Content-Type": "application/json"},
    )

    for response in (wrong_format, unknown_field, broken_json):
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation"


def test_post_refuses_other_content_types(app: App, viewer: dict[str, str]) -> None:
    response = app.client.post(
        "/api/v1/qr", content=b"text=a", headers={**viewer, "Content-Type": "text/plain"}
    )

    assert_refused(response, 415, "qr.unsupported_content_type")


def test_logo_that_hides_too_much_is_refused(
    app: App, viewer: dict[str, str], logo_png: bytes
) -> None:
    response = app.client.post(
        "/api/v1/qr",
        data={"text": "https://example.com/with-logo", "logo_ratio": "0.5"},
        files={"logo": ("logo.png", logo_png, "image/png")},
        headers=viewer,
    )

    assert_refused(response, 400, "qr.logo_unreadable")


def test_logo_refusals(app: App, viewer: dict[str, str]) -> None:
    not_image = app.client.post(
        "/api/v1/qr",
        data={"text": "a"},
        files={"logo": ("logo.png", b"not an image at all", "image/png")},
        headers=viewer,
    )
    too_big = app.client.post(
        "/api/v1/qr",
        data={"text": "a"},
        files={"logo": ("logo.png", b"\0" * (3 * 1024 * 1024), "image/png")},
        headers=viewer,
    )

    assert_refused(not_image, 400, "qr.logo_not_an_image")
    assert_refused(too_big, 413, "qr.logo_too_large")


# --- decoding --------------------------------------------------------------------------


def decode(app: App, headers: Mapping[str, str], data: bytes, name: str = "a.png") -> Any:
    return app.client.post(
        "/api/v1/qr/decode", files={"file": (name, data, "image/png")}, headers=dict(headers)
    )


def test_decode_url_offers_to_shorten(app: App, operator: dict[str, str]) -> None:
    response = decode(app, operator, (ZXING_DIR / "qrcode-1" / "13.png").read_bytes())

    assert response.status_code == 200, response.text
    body = response.json()
    width, height = Image.open(ZXING_DIR / "qrcode-1" / "13.png").size
    assert (body["width"], body["height"]) == (width, height)
    [code] = body["codes"]
    assert code["text"] == "http://google.com/gwt/n?u=bluenile.com"
    assert code["kind"] == "url"
    assert code["expires_at"] is None
    assert code["offers"] == [
        {
            "action": "shorten",
            "url": "http://google.com/gwt/n?u=bluenile.com",
            "href": "/api/v1/links",
        }
    ]
    assert len(code["points"]) == 4
    left, top, right, bottom = code["box"]
    assert 0 <= left < right < width
    assert 0 <= top < bottom < height
    assert all(left <= x <= right and top <= y <= bottom for x, y in code["points"])


def test_decode_many_codes(app: App, operator: dict[str, str]) -> None:
    multi = decode(app, operator, (ZXING_DIR / "multi-qrcode-1" / "1.png").read_bytes())
    rotated = decode(app, operator, (PYZBAR_DIR / "qrcode_rotated.png").read_bytes())

    assert multi.status_code == 200
    codes = multi.json()["codes"]
    assert len(codes) == 4
    assert all(c["kind"] == "text" and c["offers"] == [] for c in codes)
    tops = [c["box"][1] for c in codes]
    assert tops == sorted(tops)
    assert [c["text"] for c in rotated.json()["codes"]] == ["Thalassiodracon"] * 2


def test_decode_image_without_code(app: App, viewer: dict[str, str]) -> None:
    response = decode(app, viewer, (PYZBAR_DIR / "empty.png").read_bytes())

    assert response.status_code == 200
    assert response.json()["codes"] == []


def test_decode_group_invitation_offers_a_live_code(app: App, operator: dict[str, str]) -> None:
    response = decode(app, operator, render_png(WECHAT_GROUP))

    [code] = response.json()["codes"]
    assert code["kind"] == "wechat_group"
    assert code["offers"] == [
        {
            "action": "add_to_live_code",
            "url": None,
            "href": "/livecodes?add_member_from=wechat_group",
        }
    ]
    assert "AQYAAExampleToken123" not in str(code["offers"])


def test_viewer_may_decode_but_gets_no_offers(app: App, viewer: dict[str, str]) -> None:
    response = decode(app, viewer, render_png("https://example.com/"))

    assert response.status_code == 200
    [code] = response.json()["codes"]
    assert code["text"] == "https://example.com/"
    assert code["offers"] == []


def test_decode_refusals(app: App, viewer: dict[str, str]) -> None:
    truncated = render_png("cut short")[:120]
    assert_refused(decode(app, viewer, truncated), 400, "qr.image_corrupt")
    assert_refused(decode(app, viewer, b"hello, world"), 400, "qr.image_not_an_image")
    assert_refused(
        decode(app, viewer, png_header_only(20_000, 20_000)), 413, "qr.image_too_many_pixels"
    )
    missing = app.client.post("/api/v1/qr/decode", data={"x": "1"}, headers=viewer)
    assert_refused(missing, 400, "qr.image_missing")
    as_json = app.client.post("/api/v1/qr/decode", json={"file": "x"}, headers=viewer)
    assert_refused(as_json, 415, "qr.unsupported_content_type")


def test_oversized_upload_is_refused_and_the_app_carries_on(
    app: App, viewer: dict[str, str]
) -> None:
    response = decode(app, viewer, b"\0" * (DEFAULT_MAX_BYTES + 1))

    assert_refused(response, 413, "qr.image_too_large")
    assert response.json()["message"].count(str(DEFAULT_MAX_BYTES)) == 1
    again = decode(app, viewer, render_png("still here"))
    assert [c["text"] for c in again.json()["codes"]] == ["still here"]


def test_oversized_upload_without_content_length_is_refused(
    app: App, viewer: dict[str, str]
) -> None:
    boundary = "qunyunboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    def chunked() -> Iterator[bytes]:
        yield head
        yield b"\0" * (DEFAULT_MAX_BYTES + 256 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = app.client.post(
        "/api/v1/qr/decode",
        content=chunked(),
        headers={**viewer, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert_refused(response, 413, "qr.image_too_large")
    assert "+" in response.json()["message"]  # counted while streaming, not declared


def test_capped_receive_stops_reading_past_the_cap() -> None:
    calls = 0

    async def receive() -> Message:
        nonlocal calls
        calls += 1
        return {"type": "http.request", "body": b"x" * 400, "more_body": True}

    def refuse(size: str) -> DomainError:
        return DomainError("qr.image_too_large", status=413, size=size, limit=1000)

    capped = capped_receive(receive, 1000, refuse)

    async def drain() -> None:
        while True:
            await capped()

    with pytest.raises(DomainError) as caught:
        run_async(drain())
    assert calls == 3  # 400, 800, then 1200 > 1000: refused without asking for more
    assert caught.value.params["size"] == "1200+"


# --- who may call ----------------------------------------------------------------------


def test_anonymous_requests_are_unauthorised(app: App) -> None:
    get = app.client.get("/api/v1/qr", params={"text": "a"})
    post = decode(app, {}, render_png("a"))

    assert_refused(get, 401, "auth.required")
    assert_refused(post, 401, "auth.required")


def test_session_posts_need_the_csrf_token(app: App) -> None:
    csrf = app.login("sam", Role.viewer)
    upload = {"file": ("a.png", render_png("session"), "image/png")}

    without = app.client.post("/api/v1/qr/decode", files=upload)
    with_header = app.client.post("/api/v1/qr/decode", files=upload, headers={"X-CSRF-Token": csrf})
    with_field = app.client.post("/api/v1/qr/decode", files=upload, data={"csrf_token": csrf})
    json_render = app.client.post(
        "/api/v1/qr", json={"text": "session"}, headers={"X-CSRF-Token": csrf}
    )

    assert_refused(without, 403, "csrf.invalid")
    assert with_header.json()["codes"][0]["text"] == "session"
    assert with_field.json()["codes"][0]["text"] == "session"
    assert texts(json_render.content) == ["session"]


def test_session_get_needs_no_csrf_token(app: App) -> None:
    app.login("gil", Role.viewer)

    response = app.client.get("/api/v1/qr", params={"text": "plain get"})

    assert texts(response.content) == ["plain get"]


# --- the OpenAPI document --------------------------------------------------------------


def test_openapi_documents_images_uploads_and_errors(app: App) -> None:
    paths = app.client.get("/api/v1/openapi.json").json()["paths"]

    render_get = paths["/api/v1/qr"]["get"]
    assert set(render_get["responses"]["200"]["content"]) == {"image/png", "image/svg+xml"}
    assert {p["name"] for p in render_get["parameters"]} >= {"text", "slug", "format", "scale"}
    render_post = paths["/api/v1/qr"]["post"]
    body = render_post["requestBody"]["content"]
    assert body["multipart/form-data"]["schema"]["properties"]["logo"]["format"] == "binary"
    assert "application/json" in body
    assert "413" in render_post["responses"]
    decode_post = paths["/api/v1/qr/decode"]["post"]
    assert (
        "file"
        in decode_post["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    )
    assert decode_post["responses"]["413"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }
    assert (
        "DecodeOut"
        in decode_post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    )
