"""The member's appeal page in Chromium, in Chinese, on a phone-sized screen."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from qunyun.moderation.models import Appeal
from tests.appeals.helpers import seed_case, sent_code
from tests.browser_support import LiveServer, screenshot

pytestmark = pytest.mark.browser


def test_a_member_appeals_from_the_link_in_chinese(
    live_server: LiveServer, page_factory: Any
) -> None:
    seeded = seed_case(live_server.db)
    page = page_factory(locale="zh-CN", mobile=True)
    page.goto(f"{live_server.url}/appeal/{seeded.token}")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "对群规处理的申诉"
    assert page.locator("#case-rule").inner_text() == "广告"
    assert page.locator("#case-step").inner_text() == "撤回消息，禁言 1 小时"
    assert "加微信" in page.locator("#case-evidence").inner_text()
    screenshot(page, "appeal-public-case")
    page.get_by_role("button", name="给我发送验证码").click()
    page.wait_for_url("**sent=1*")
    assert "验证码已私信发给您" in page.locator("#appeal-notice").inner_text()
    page.fill("input[name=code]", "000000" if sent_code(live_server.db) != "000000" else "111111")
    page.fill("textarea[name=statement]", "我转发的是物业的停水通知，不是广告。")
    page.get_by_role("button", name="提交申诉").click()
    assert "验证码不正确" in page.locator("#appeal-error").inner_text()
    # The statement survives the refusal; only the code needs typing again.
    assert page.locator("textarea[name=statement]").input_value().startswith("我转发的是物业")
    page.fill("input[name=code]", sent_code(live_server.db))
    page.get_by_role("button", name="提交申诉").click()
    page.wait_for_url("**opened=1*")
    assert "申诉已提交" in page.locator("#appeal-notice").inner_text()
    screenshot(page, "appeal-public-opened")
    with live_server.db.session() as s:
        appeal = s.scalars(select(Appeal)).one()
        assert appeal.statement == "我转发的是物业的停水通知，不是广告。"
    page.click("text=English")
    assert page.locator("#case-rule").inner_text() == "Advertising"
    assert "waiting for review" in page.locator("#appeal-outcome").inner_text()
