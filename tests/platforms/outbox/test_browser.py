"""The outbox page in Chromium: copy a to-do's text, mark it done (htmx)."""

from __future__ import annotations

from typing import Any

import pytest

from qunyun.platforms import outbox
from qunyun.platforms.models import PlatformAction
from tests.browser_support import LiveServer, login, screenshot
from tests.platforms.outbox.conftest import make_group

pytestmark = pytest.mark.browser


def test_copy_a_todo_and_mark_it_done(live_server: LiveServer, page_factory: Any) -> None:
    db = live_server.db
    group = make_group(db, "春季训练营 1 群", platform="manual")
    with db.transaction() as session:
        action_id = outbox.enqueue(
            session,
            community_id=1,
            group=outbox.group_of(session, 1, group.id),
            kind="send_message",
            params={"text": "各位同学好，今晚 8 点开课！"},
        ).id
    name = live_server.owner()
    page = page_factory()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    login(page, live_server, name)
    page.goto(f"{live_server.url}/actions")
    card = page.locator(f"#action-{action_id}")
    assert card.get_attribute("data-status") == "todo"
    assert "在群「春季训练营 1 群」中发送下面这条消息" in card.inner_text()
    copy = card.locator("button[data-copy]")
    copy.click()
    page.wait_for_function("b => b.textContent === '已复制'", arg=copy.element_handle())
    assert page.evaluate("navigator.clipboard.readText()") == "各位同学好，今晚 8 点开课！"
    screenshot(page, "outbox-todo")
    card.locator("button[data-change=done]").click()
    page.wait_for_selector(f"#action-{action_id}[data-status=done]")
    assert "已完成" in page.locator(f"#action-{action_id} [data-badge]").inner_text()
    with db.session(write=False) as session:
        found = session.get(PlatformAction, action_id)
        assert found is not None and found.status == "done" and found.done_by_id is not None
    screenshot(page, "outbox-done")
