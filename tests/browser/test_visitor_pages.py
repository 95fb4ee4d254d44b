"""Visitor pages in a real browser with the User-Agents of WeChat, QQ, iOS Safari and a desktop."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_support import LiveServer, screenshot
from tests.links.factories import make_link
from tests.links.test_access import DESKTOP, QQ_ANDROID, SAFARI_IOS, WECHAT_IOS

pytestmark = pytest.mark.browser


def test_guide_mode_per_client(live_server: LiveServer, page_factory: Any) -> None:
    make_link(live_server.db, "guide1", "http://127.0.0.1:9/never-fetched", anti_block_mode="guide")
    wechat = page_factory(WECHAT_IOS, mobile=True)
    wechat.goto(f"{live_server.url}/guide1")
    assert wechat.locator("[data-page=guide]").is_visible()
    assert "在Safari中打开" in wechat.locator("[data-instruction]").inner_text()
    assert wechat.locator("svg").count() >= 1
    screenshot(wechat, "guide-wechat-ios")

    qq = page_factory(QQ_ANDROID, mobile=True)
    qq.goto(f"{live_server.url}/guide1")
    assert "在浏览器打开" in qq.locator("[data-instruction]").inner_text()

    # Safari is not an in-app browser: it is sent on (to an address nobody listens on).
    safari = page_factory(SAFARI_IOS, mobile=True)
    response = safari.request.get(f"{live_server.url}/guide1", max_redirects=0)
    assert response.status == 302
    assert response.headers["location"] == "http://127.0.0.1:9/never-fetched"


def test_gate_pages(live_server: LiveServer, page_factory: Any) -> None:
    make_link(
        live_server.db,
        "wxonly",
        "http://127.0.0.1:9/x",
        anti_block_mode="direct",
        allowed_apps=["wechat"],
    )
    desktop = page_factory(DESKTOP, locale="en-US")
    desktop.goto(f"{live_server.url}/wxonly")
    assert desktop.locator("[data-page=blocked]").is_visible()
    assert "WeChat" in desktop.locator("[data-allowed]").inner_text()
    screenshot(desktop, "blocked-desktop-en")
    wechat = page_factory(WECHAT_IOS, mobile=True)
    response = wechat.request.get(f"{live_server.url}/wxonly", max_redirects=0)
    assert response.status == 302


def test_landing_mode_and_unknown_link_in_chinese(
    live_server: LiveServer, page_factory: Any
) -> None:
    make_link(
        live_server.db,
        "card1",
        "http://127.0.0.1:9/x",
        anti_block_mode="landing",
        preview_title="春季训练营报名",
        preview_description="三月开营，名额有限",
    )
    page = page_factory(SAFARI_IOS, mobile=True)
    page.goto(f"{live_server.url}/card1")
    assert page.locator("h1").inner_text() == "春季训练营报名"
    assert page.locator("svg").count() >= 1
    screenshot(page, "landing-zh")
    missing = page.goto(f"{live_server.url}/nosuchlink")
    assert missing is not None and missing.status == 404
    assert page.locator("h1").inner_text() == "链接不存在"
