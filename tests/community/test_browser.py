"""The member directory and a profile's timeline in Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_support import LiveServer, login, screenshot
from tests.community.helpers import seed

pytestmark = pytest.mark.browser


def test_filter_the_directory_then_read_a_timeline(
    live_server: LiveServer, page_factory: Any
) -> None:
    seed(live_server.db)
    login_name = live_server.owner("boss")
    page = page_factory()
    login(page, live_server, login_name)
    page.goto(f"{live_server.url}/members")
    assert page.locator("#member-table tbody tr").count() == 3
    page.select_option("select[name=source]", "invite")
    page.click("#member-filters button[type=submit]")
    page.wait_for_url("**/members?*source=invite*")
    rows = page.locator("#member-table tbody tr")
    assert rows.count() == 1 and "李四" in rows.first.inner_text()
    page.fill("input[name=q]", "三哥")
    page.select_option("select[name=source]", "")
    page.click("#member-filters button[type=submit]")
    page.wait_for_url("**q=*")
    assert page.locator("#member-table tbody tr").count() == 1
    screenshot(page, "community-directory")
    page.click("#member-table tbody tr a")
    page.wait_for_url("**/members/*")
    items = page.locator("#timeline [data-timeline]")
    assert items.count() == 4
    assert "第二个群" in items.first.inner_text()
    assert "入群" in items.last.inner_text()
    assert "李四" in page.locator(".referrals").inner_text()
    screenshot(page, "community-profile")
    page.goto(f"{live_server.url}/groups")
    assert page.locator("#group-tree .progress").count() == 2
    page.click("#group-tree a >> nth=0")
    page.wait_for_selector("#joins-chart canvas")
