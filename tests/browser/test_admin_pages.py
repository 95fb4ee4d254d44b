"""An operator's first session in a real browser: sign in, make a link, see it counted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser_support import LiveServer, login, screenshot

pytestmark = pytest.mark.browser


def test_operator_creates_a_link_and_sees_its_visits(
    live_server: LiveServer, page_factory: Any
) -> None:
    live_server.owner("yunying")
    page = page_factory(locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, live_server, "yunying")
    assert page.locator("nav a[aria-current=page]").inner_text() == "短链接"

    page.goto(f"{live_server.url}/links/new")
    page.fill("input[name=url]", "javascript:alert(1)")
    page.fill("input[name=slug]", "spring-camp")
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    assert page.locator(".field-error").first.is_visible()  # refused, the form kept
    assert page.input_value("input[name=slug]") == "spring-camp"

    page.fill("input[name=url]", "https://example.com/landing")
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    assert page.url.startswith(f"{live_server.url}/links/spring-camp"), (
        page.url + page.locator(".field-error, .alert").all_inner_texts().__repr__()
    )
    screenshot(page, "link-detail-zh")

    # Three visits by "people", straight at the redirect.
    for _ in range(3):
        r = httpx.get(
            f"{live_server.url}/spring-camp",
            headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0"},
        )
        assert r.status_code in (302, 403)

    page.goto(f"{live_server.url}/links?q=spring")
    assert page.locator("text=spring-camp").first.is_visible()
    assert errors == []


def test_language_switch_to_english(live_server: LiveServer, page_factory: Any) -> None:
    live_server.owner("bilingual")
    page = page_factory(locale="zh-CN")
    login(page, live_server, "bilingual")
    with page.expect_navigation():
        page.select_option("#lang-switch", "en")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Short links"
    screenshot(page, "links-en")


def test_phone_layout_has_no_sideways_scroll(live_server: LiveServer, page_factory: Any) -> None:
    live_server.owner("phone")
    page = page_factory(mobile=True)
    login(page, live_server, "phone")
    page.goto(f"{live_server.url}/links/new")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400
    screenshot(page, "new-link-phone")
