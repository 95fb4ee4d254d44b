"""The rule acceptance page in a real browser, in Chinese, as a newcomer opens it from
the group: read the rules, press 我同意, and the mute is lifted."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from qunyun.entry.acceptance import token_for
from qunyun.entry.models import RuleAcceptance
from tests.browser_support import LiveServer, screenshot
from tests.conftest import make_settings
from tests.entry.conftest import actions, drain, ingest, joined, make_group, set_entry
from tests.links.test_access import WECHAT_IOS

pytestmark = pytest.mark.browser


def test_a_newcomer_accepts_the_rules_in_chinese(
    live_server: LiveServer, page_factory: Any, tmp_path: Any
) -> None:
    db = live_server.db
    make_group(db, name="春季训练营 1 群")
    set_entry(db, accept_rules=True)
    ingest(db, [joined("8001")])
    drain(db)
    with db.session(write=False) as session:
        acceptance = session.scalars(select(RuleAcceptance)).one()
        secret = make_settings(tmp_path, db).secret_key
        token = token_for(secret, acceptance)

    page = page_factory(WECHAT_IOS, locale="zh-CN", mobile=True)
    page.goto(f"{live_server.url}/accept/{token}")
    assert page.locator("h1").inner_text() == "欢迎加入 春季训练营 1 群"
    assert "本群用于成员之间交流与互助" in page.locator("#rules").inner_text()
    assert page.locator("a[href^='/rules/default/']").count() == 1
    screenshot(page, "entry-accept-zh")

    page.click("#accept-button")
    page.wait_for_selector("#accepted")
    assert page.locator("#accepted").inner_text() == "谢谢！已记录你同意群规，现在可以发言了。"
    assert page.locator("#accept-button").count() == 0
    screenshot(page, "entry-accepted-zh")

    with db.session(write=False) as session:
        done = session.get(RuleAcceptance, acceptance.id)
        assert done is not None
        assert (done.status, done.accepted_via) == ("accepted", "button")
    assert actions(db, "mute")[-1].params == {"user": "8001", "seconds": 0}

    page.goto(f"{live_server.url}/accept/{token}")
    assert page.locator("#accepted").inner_text() == "你已经同意过群规了，可以正常发言。"
