"""The /qr page: live preview, downloads, decoding with the box overlay, one-step shorten."""

from __future__ import annotations

import base64
import html
import re
from typing import Any

import pytest
from sqlalchemy import select

from qunyun.accounts.roles import Role
from qunyun.links.models import Link
from qunyun.qr import decode_image, render_png
from qunyun.qr.decode import DEFAULT_MAX_BYTES
from tests.conftest import App
from tests.qr.qr_helpers import PYZBAR_DIR, ZXING_DIR

HTMX = {"HX-Request": "true"}


def htmx_headers(csrf: str, **extra: str) -> dict[str, str]:
    return {**HTMX, "X-CSRF-Token": csrf, **extra}


def data_uri(fragment: str, media_type: str) -> bytes:
    match = re.search(rf'href="data:{re.escape(media_type)};base64,([A-Za-z0-9+/=]+)"', fragment)
    assert match, fragment[:500]
    return base64.b64decode(match[1])


@pytest.fixture
def operator_csrf(app: App) -> str:
    return app.login("olga", Role.operator)


def test_page_shows_both_panels(app: App, operator_csrf: str) -> None:
    page = app.client.get("/qr", params={"slug": "promo"})

    assert page.status_code == 200
    assert "生成二维码" in page.text
    assert "识别二维码" in page.text
    assert '<a href="/qr" aria-current="page">二维码</a>' in page.text
    assert 'value="promo"' in page.text
    assert page.text.count(f'name="csrf_token" value="{operator_csrf}"') >= 2
    assert 'type="color" name="dark" value="#000000"' in page.text
    assert 'name="logo"' in page.text
    assert 'hx-post="/qr/decode"' in page.text


def test_page_in_english(app: App, operator_csrf: str) -> None:
    page = app.client.get("/qr", params={"lang": "en"})

    assert "Make a QR code" in page.text
    assert "Read QR codes" in page.text


def test_anonymous_is_sent_to_login(app: App) -> None:
    response = app.client.get("/qr", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/qr")


def test_preview_fragment_decodes_back(app: App, operator_csrf: str) -> None:
    response = app.client.post(
        "/qr/preview",
        data={"text": "预览 preview", "scale": "4", "border": "2", "width": "", "error": "Q"},
        headers=htmx_headers(operator_csrf),
    )

    assert response.status_code == 200
    assert "<html" not in response.text  # a fragment, not a page
    png = data_uri(response.text, "image/png")
    assert [c.text for c in decode_image(png)] == ["预览 preview"]
    assert data_uri(response.text, "image/svg+xml").startswith(b"<svg")
    assert re.search(r'download="qr-[0-9a-f]{10}\.png"', response.text)
    assert re.search(r'download="qr-[0-9a-f]{10}\.svg"', response.text)
    assert "纠错等级不低于 Q" in response.text


def test_preview_with_logo_uses_level_h(app: App, operator_csrf: str, logo_png: bytes) -> None:
    response = app.client.post(
        "/qr/preview",
        data={"text": "https://example.com/logo"},
        files={"logo": ("logo.png", logo_png, "image/png")},
        headers=htmx_headers(operator_csrf),
    )

    assert "纠错等级不低于 H" in response.text
    png = data_uri(response.text, "image/png")
    assert [c.text for c in decode_image(png)] == ["https://example.com/logo"]


def test_preview_of_nothing_is_a_hint(app: App, operator_csrf: str) -> None:
    response = app.client.post(
        "/qr/preview",
        data={"text": "", "slug": "  "},
        files={"logo": ("", b"", "application/octet-stream")},
        headers=htmx_headers(operator_csrf),
    )

    assert response.status_code == 200
    assert "输入内容或短链接后缀即可预览" in response.text


def test_preview_refusal_is_shown_in_place(app: App, operator_csrf: str) -> None:
    response = app.client.post(
        "/qr/preview",
        data={"text": "x", "dark": "#eeeeee"},
        headers=htmx_headers(operator_csrf, **{"Accept-Language": "en"}),
    )

    assert response.status_code == 200
    assert 'class="alert error"' in response.text
    assert "contrast between #eeeeee and #ffffff" in html.unescape(response.text)


def test_preview_of_a_short_link(app: App, operator_csrf: str) -> None:
    created = app.client.post(
        "/qr/shorten", data={"url": "https://example.com/page"}, headers=htmx_headers(operator_csrf)
    )
    slug = re.search(r'href="/links/([A-Za-z0-9_-]+)"', created.text)[1]  # type: ignore[index]

    response = app.client.post(
        "/qr/preview", data={"slug": slug}, headers=htmx_headers(operator_csrf)
    )

    png = data_uri(response.text, "image/png")
    assert [c.text for c in decode_image(png)] == [f"http://testserver/{slug}"]
    assert f'download="qr-{slug}.png"' in response.text


def test_preview_without_htmx_is_a_full_page(app: App, operator_csrf: str) -> None:
    response = app.client.post(
        "/qr/preview", data={"text": "no script", "csrf_token": operator_csrf}
    )
    refused = app.client.post(
        "/qr/preview", data={"text": "no script", "scale": "0", "csrf_token": operator_csrf}
    )

    assert response.status_code == 200
    assert "<html" in response.text
    assert "识别二维码" in response.text
    assert [c.text for c in decode_image(data_uri(response.text, "image/png"))] == ["no script"]
    assert refused.status_code == 400
    assert 'class="alert error"' in refused.text
    assert ">no script</textarea>" in refused.text


def test_page_posts_need_the_csrf_token(app: App, operator_csrf: str) -> None:
    response = app.client.post("/qr/preview", data={"text": "x"}, headers=HTMX)

    assert response.status_code == 200
    assert "页面已过期" in response.text  # csrf.invalid, shown in place


def decode_form(app: App, csrf: str, data: bytes, **headers: str) -> Any:
    return app.client.post(
        "/qr/decode",
        files={"file": ("photo.png", data, "image/png")},
        headers=htmx_headers(csrf, **headers),
    )


def test_decode_shows_boxes_text_kind_and_offers(app: App, operator_csrf: str) -> None:
    response = decode_form(app, operator_csrf, (ZXING_DIR / "qrcode-1" / "13.png").read_bytes())

    assert response.status_code == 200
    text = response.text
    assert "找到 1 个二维码" in text
    assert re.search(r'<polygon class="qr-box" points="(\d+,\d+ ){3}\d+,\d+"', text)
    assert re.search(r'<svg class="qr-overlay" viewBox="0 0 \d+ \d+"', text)
    assert 'href="data:image/jpeg;base64,' in text
    assert "http://google.com/gwt/n?u=bluenile.com" in html.unescape(text)
    assert ">链接</span>" in text
    assert 'hx-post="/qr/shorten"' in text
    assert "缩短此链接" in text


def test_decode_offers_group_invitations_to_a_live_code(app: App, operator_csrf: str) -> None:
    invitation = "https://work.weixin.qq.com/gm/0123456789abcdef0123456789abcdef"

    response = decode_form(app, operator_csrf, render_png(invitation))

    assert ">企业微信群</span>" in response.text
    assert 'href="/livecodes?add_member_from=wecom_group"' in response.text
    assert "加入活码" in response.text
    assert "缩短此链接" not in response.text


def test_decode_without_codes_says_so(app: App, operator_csrf: str) -> None:
    response = decode_form(app, operator_csrf, (PYZBAR_DIR / "empty.png").read_bytes())

    assert "没有找到二维码" in response.text


def test_viewer_decodes_without_the_shorten_offer(app: App) -> None:
    csrf = app.login("vic", Role.viewer)

    response = decode_form(app, csrf, render_png("https://example.com/"))

    assert "https://example.com/" in response.text
    assert "缩短此链接" not in response.text


def test_oversized_decode_upload_is_refused_in_place(app: App, operator_csrf: str) -> None:
    response = decode_form(app, operator_csrf, b"\0" * (DEFAULT_MAX_BYTES + 1))
    plain = app.client.post(
        "/qr/decode",
        files={"file": ("big.png", b"\0" * (DEFAULT_MAX_BYTES + 1), "image/png")},
        data={"csrf_token": operator_csrf},
    )

    assert response.status_code == 200
    assert 'class="alert error"' in response.text
    assert "图片文件太大" in response.text
    assert plain.status_code == 413
    assert "图片文件太大" in plain.text


def test_decode_without_htmx_is_a_full_page(app: App, operator_csrf: str) -> None:
    response = app.client.post(
        "/qr/decode",
        files={"file": ("a.png", render_png("full page"), "image/png")},
        data={"csrf_token": operator_csrf},
    )

    assert response.status_code == 200
    assert "<html" in response.text
    assert "full page" in response.text


def test_shorten_creates_the_link_in_one_step(app: App, operator_csrf: str) -> None:
    response = app.client.post(
        "/qr/shorten",
        data={"url": "https://example.com/from-a-poster"},
        headers=htmx_headers(operator_csrf),
    )

    assert response.status_code == 200
    slug = re.search(r'<code id="qr-short-([A-Za-z0-9_-]+)">', response.text)[1]  # type: ignore[index]
    assert f">http://testserver/{slug}</code>" in response.text
    with app.db.session(write=False) as session:
        link = session.scalar(select(Link).where(Link.slug == slug))
        assert link is not None
        assert link.target_url == "https://example.com/from-a-poster"


def test_shorten_without_htmx_goes_to_the_link(app: App, operator_csrf: str) -> None:
    response = app.client.post(
        "/qr/shorten",
        data={"url": "https://example.com/x", "csrf_token": operator_csrf},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert re.fullmatch(r"/links/[A-Za-z0-9_-]+\?created=1", response.headers["location"])


def test_shorten_refusals_are_shown_in_place(app: App) -> None:
    csrf = app.login("vic", Role.viewer)
    as_viewer = app.client.post(
        "/qr/shorten", data={"url": "https://example.com/"}, headers=htmx_headers(csrf)
    )

    assert 'class="alert error"' in as_viewer.text
    assert "operator" in as_viewer.text  # role.insufficient names the role needed
