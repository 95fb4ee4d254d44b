"""What each kind of visitor is shown, per anti-block mode and platform gate."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from qunyun.community.models import Community
from tests.conftest import App
from tests.links.factories import make_link
from tests.links.test_access import DESKTOP, QQ_ANDROID, SAFARI_IOS, TELEGRAM, WECHAT_IOS


def get(app: App, slug: str, ua: str, lang: str = "zh-CN") -> tuple[int, str, str]:
    r = app.client.get(
        f"/{slug}", headers={"User-Agent": ua, "Accept-Language": lang}, follow_redirects=False
    )
    return r.status_code, r.headers.get("location", ""), r.text


def test_guide_mode_guides_inside_wechat_and_qq_only(app: App) -> None:
    make_link(app.db, "gd", "https://example.com/x", anti_block_mode="guide")
    status, _, html = get(app, "gd", WECHAT_IOS)
    assert status == 200
    assert 'data-page="guide"' in html
    assert "点击右上角 ··· → 在Safari中打开" in html
    assert "<svg" in html  # the QR, inline
    status, _, html = get(app, "gd", QQ_ANDROID)
    assert "点击右上角 ··· → 在浏览器打开" in html
    status, location, _ = get(app, "gd", SAFARI_IOS)
    assert (status, location) == (302, "https://example.com/x")
    status, _, html = get(app, "gd", WECHAT_IOS, lang="en")
    assert "Open in Safari" in html


def test_direct_mode_redirects_even_inside_wechat(app: App) -> None:
    make_link(app.db, "dr", anti_block_mode="direct")
    assert get(app, "dr", WECHAT_IOS)[0] == 302


def test_landing_mode_always_shows_the_card(app: App) -> None:
    make_link(
        app.db,
        "ld",
        anti_block_mode="landing",
        preview_title="春季训练营",
        preview_description="报名入口",
    )
    for ua in (WECHAT_IOS, SAFARI_IOS, DESKTOP):
        status, _, html = get(app, "ld", ua)
        assert status == 200
        assert 'data-page="landing"' in html
        assert 'content="春季训练营"' in html
        assert 'href="https://example.com/page"' in html


def test_community_default_mode_applies(app: App) -> None:
    with app.db.transaction() as s:
        s.execute(update(Community).values(anti_block_mode="landing"))
    make_link(app.db, "cm")
    assert 'data-page="landing"' in get(app, "cm", SAFARI_IOS)[2]


@pytest.mark.parametrize(
    ("ua", "expected"), [(WECHAT_IOS, 302), (QQ_ANDROID, 403), (SAFARI_IOS, 403), (DESKTOP, 403)]
)
def test_wechat_only_gate(app: App, ua: str, expected: int) -> None:
    make_link(app.db, "wc", anti_block_mode="direct", allowed_apps=["wechat"])
    status, _, html = get(app, "wc", ua)
    assert status == expected
    if expected == 403:
        assert 'data-page="blocked"' in html
        assert "微信" in html
        assert "http://testserver/wc" in html


def test_phones_only_gate_blocks_desktop(app: App) -> None:
    make_link(app.db, "ph", anti_block_mode="direct", allowed_devices=["phone"])
    assert get(app, "ph", SAFARI_IOS)[0] == 302
    status, _, html = get(app, "ph", DESKTOP, lang="en")
    assert status == 403
    assert "Phones" in html


def test_preview_bots_get_the_card_never_a_redirect(app: App) -> None:
    make_link(
        app.db,
        "bt",
        anti_block_mode="direct",
        preview_title="Card title",
        preview_image_url="https://example.com/cover.png",
    )
    status, location, html = get(app, "bt", TELEGRAM)
    assert (status, location) == (200, "")
    assert 'property="og:image" content="https://example.com/cover.png"' in html
    # The same card is there for people to see.
    r = app.client.get("/bt?preview", headers={"User-Agent": SAFARI_IOS})
    assert r.status_code == 200 and 'content="Card title"' in r.text


def test_user_text_is_escaped_on_visitor_pages(app: App) -> None:
    make_link(app.db, "xs", anti_block_mode="landing", preview_title='<script>alert("t")</script>')
    html = get(app, "xs", SAFARI_IOS)[2]
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
