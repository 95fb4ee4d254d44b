"""The landing page and the statistics panel in headless Chromium."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.livecodes import members as pool
from qunyun.livecodes import service
from qunyun.livecodes.models import LiveCodePress
from qunyun.livecodes.service import LiveCodeEnv
from tests.browser_support import LiveServer, screenshot
from tests.conftest import PASSWORD, make_settings
from tests.livecodes.helpers import DESKTOP_UA, WECHAT_GROUPS, WECHAT_UA, invitation_card

pytestmark = pytest.mark.browser
OWNER = service.installation_principal()


def make(db: Database, slug: str, **fields: Any) -> int:
    env = LiveCodeEnv(make_settings(Path("."), db))
    with db.transaction() as s:
        code = service.create_code(s, env, OWNER, 1, {"name": "春季训练营", **fields}, slug=slug)
        pool.add_member(
            s, env, OWNER, 1, code.id, invitation_card(WECHAT_GROUPS[0]), {"name": "一群"}
        )
        return code.id


def presses(db: Database) -> int:
    with db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(LiveCodePress)) or 0)


def test_a_long_press_in_wechat_is_reported(live_server: LiveServer, page_factory: Any) -> None:
    make(live_server.db, "camp", allowed_apps=["wechat"])
    page = page_factory(WECHAT_UA, mobile=True)
    page.goto(f"{live_server.url}/camp")
    image = page.locator("#lc-qr")
    assert image.is_visible()
    assert page.evaluate("document.getElementById('lc-qr').naturalWidth") > 100
    box = image.bounding_box()
    assert box is not None
    assert box["width"] >= 250  # large on a phone
    screenshot(page, "livecode-landing-wechat")
    image.dispatch_event("touchstart")
    page.wait_for_timeout(800)
    deadline = time.monotonic() + 5
    while presses(live_server.db) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert presses(live_server.db) == 1
    # A tap is not a long press.
    image.dispatch_event("touchstart")
    image.dispatch_event("touchend")
    page.wait_for_timeout(800)
    assert presses(live_server.db) == 1

    desktop = page_factory(DESKTOP_UA, locale="en-US")
    desktop.goto(f"{live_server.url}/camp")
    assert desktop.locator("[data-page=blocked]").is_visible()


def test_the_statistics_panel_draws(live_server: LiveServer, page_factory: Any) -> None:
    code_id = make(live_server.db, "camp2")
    visitor = page_factory(WECHAT_UA, mobile=True)
    visitor.goto(f"{live_server.url}/camp2")
    live_server.owner("boss", Role.owner)
    page = page_factory(locale="zh-CN")
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=name]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    time.sleep(0.3)  # one flush interval of the visit recorder
    page.goto(f"{live_server.url}/livecodes/{code_id}")
    people = page.locator('[data-kpi="people"]')
    page.wait_for_function(
        "document.querySelector('[data-kpi=\"people\"]').textContent !== '–'", timeout=10_000
    )
    assert people.inner_text() == "1"
    assert page.locator("[data-stats-error]").is_hidden()
    page.select_option("[data-stats-scope]", label="一群")
    page.wait_for_function(
        "document.querySelector('[data-stats-panel]').dataset.api.includes('member_id')"
    )
    page.wait_for_timeout(500)
    assert people.inner_text() == "1"
    assert page.locator("[data-stats-error]").is_hidden()
    screenshot(page, "livecode-detail")
