"""An operator in a real browser: the case list, one case with its match marked, and
the review queue where a reported message is judged under a rule."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_support import LiveServer, login, screenshot
from tests.enforcement.support import AD, follower, ingest, message

pytestmark = pytest.mark.browser


def test_an_operator_reviews_cases_and_reports(live_server: LiveServer, page_factory: Any) -> None:
    db = live_server.db
    ingest(
        db,
        [
            message(1, AD, user="10001"),
            message(2, "周末有人一起去爬山吗", user="20002"),
            message(3, "举报 又在群里卖东西", user="30003", reply_to="2"),
        ],
    )
    follower(db).drain()
    live_server.owner("shenhe")
    page = page_factory(locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, live_server, "shenhe")

    page.goto(f"{live_server.url}/cases")
    assert page.locator("nav a[aria-current=page]").inner_text() == "处理记录"
    assert page.locator("#case-table tbody tr").count() == 1
    screenshot(page, "enforcement-cases-zh")
    with page.expect_navigation():
        page.locator("#case-table tbody tr a").first.click()
    assert page.locator("#case-message mark").first.inner_text() == "薇❤信"
    assert "/appeal/" in page.locator("#case-appeal-link").inner_text()
    screenshot(page, "enforcement-case-zh")

    page.goto(f"{live_server.url}/reports")
    report = page.locator("article[data-status=open]")
    assert report.count() == 1 and "周末有人一起去爬山吗" in report.inner_text()
    report.locator("select[name=rule]").select_option("category:ads")
    screenshot(page, "enforcement-reports-zh")
    with page.expect_navigation():
        report.locator("button[data-change=apply]").click()
    assert "/cases/" in page.url
    assert page.locator("[data-notice=success]").is_visible()
    assert "成员举报" in page.locator("#case-facts").inner_text()
    assert errors == []
