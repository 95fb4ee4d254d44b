"""The published rules on a phone, and the rule-book editor, in Debian's Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from qunyun.community.models import Group
from tests.browser_support import LiveServer, login, screenshot
from tests.community.helpers import seed

pytestmark = pytest.mark.browser


def _group(server: LiveServer) -> int:
    with server.db.session(write=False) as s:
        gid = s.scalar(select(Group.id).where(Group.platform_group_id == "100"))
        assert gid is not None
        return gid


def test_published_rules_render_in_chinese_on_a_phone(
    live_server: LiveServer, page_factory: Any
) -> None:
    seed(live_server.db)
    gid = _group(live_server)
    page = page_factory(mobile=True)
    page.goto(f"{live_server.url}/rules/default/{gid}")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#rules-head h1").inner_text() == "社群公约"
    banned = page.locator("#rules-not_allowed li")
    assert banned.count() == 11 and banned.first.inner_text().startswith("广告与引流：")
    steps = page.locator("#rules-enforcement ol li")
    assert steps.nth(1).inner_text() == "第 2 次：禁言 1 小时"
    assert "没有例外" in page.locator("#rules-exemptions").inner_text()
    # Readable on a phone: nothing wider than the screen, the Chinese text laid out as
    # full-width glyphs (a missing font would still give boxes, but not this wrapping).
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = page.locator("#rules-head h1").bounding_box()
    assert box is not None and box["width"] > 40
    screenshot(page, "moderation-published-rules")
    page.click("text=English")
    page.wait_for_url("**lang=en")
    assert page.locator("#rules-head h1").inner_text() == "Community rules"


def test_the_editor_lists_problems_then_saves(live_server: LiveServer, page_factory: Any) -> None:
    name = live_server.owner("boss")
    page = page_factory()
    login(page, live_server, name)
    page.goto(f"{live_server.url}/moderation/rulebook")
    editor = page.locator("#rulebook-yaml")
    original = editor.input_value()
    editor.fill(original.replace("dry_run: false", "dry_run: maybe"))
    page.click("#rulebook-form button[type=submit]")
    problems = page.locator("#rulebook-problems li")
    problems.first.wait_for()
    assert "dry_run" in problems.first.inner_text() and "行" in problems.first.inner_text()
    assert page.locator("#rulebook-version").inner_text() == "默认群规（尚未保存）"
    page.locator("#rulebook-yaml").fill(original.replace("dry_run: false", "dry_run: true"))
    page.fill("#rulebook-form input[name=note]", "试运行一周")
    page.click("#rulebook-form button[type=submit]")
    page.wait_for_selector("[data-notice=success]")
    assert page.locator("#rulebook-version").inner_text() == "第 1 版"
    assert "群规试运行中" in page.locator("#rules-summary").inner_text()
    screenshot(page, "moderation-rulebook")
    page.click("text=版本历史")
    page.wait_for_url("**/versions")
    assert page.locator("#version-table tbody tr").count() == 2
    page.click("#diff-form button[type=submit]")
    page.wait_for_selector("#diff")
    assert page.locator("#diff .add").first.inner_text() == "+dry_run: true"
