"""The statistics panel in real headless Chromium: charts drawn, no script errors,
usable at phone width."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.visits.recorder import PendingVisit, VisitRecorder
from tests.conftest import PASSWORD
from tests.visits.helpers import (
    ANDROID_CHROME,
    DESKTOP_CHROME,
    GOOGLEBOT,
    TELEGRAM_PREVIEW,
    WECHAT_IPHONE,
)
from tests.visits.live_server import SECRET, Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def seeded_server(server) -> Iterator[Server]:
    srv, link_id, _ = server
    db = Database(f"sqlite:///{srv.db_file}")
    now = time.time()
    agents = [WECHAT_IPHONE, ANDROID_CHROME, DESKTOP_CHROME, GOOGLEBOT, TELEGRAM_PREVIEW]
    VisitRecorder(db, SECRET, "Asia/Shanghai").write(
        [
            PendingVisit(
                link_id,
                now - (n % 20) * 3600 * 7,
                f"https://site{n % 4}.example/",
                agents[n % len(agents)],
                f"10.1.0.{n % 9}",
            )
            for n in range(120)
        ]
    )
    from qunyun.accounts import service as accounts
    from qunyun.accounts.passwords import Passwords

    with db.transaction() as session:
        accounts.create_user(session, Passwords("test"), "vera", PASSWORD, Role.viewer, 1)
    db.dispose()
    return srv


@pytest.fixture
def browser_page(browser: Any) -> Any:
    """The shared headless Chromium (tests/browser_support.py)."""
    return browser


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_panel_draws_charts(seeded_server, browser_page, tmp_path, width, height):
    srv = seeded_server
    context = browser_page.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    # Chromium's own favicon probe fails on pages without one; responses are checked above.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )

    page.goto(f"{srv.base_url}/login?next=/links/durable")
    page.fill("input[name=name]", "vera")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/links/durable")

    people = page.locator('[data-kpi="people"]')
    page.wait_for_function(
        "document.querySelector('[data-kpi=\"people\"]').textContent.trim() !== '–'"
    )
    assert people.text_content() == "72"  # 120 visits, 2 in 5 by bots
    assert page.locator('[data-kpi="bots"]').text_content() == "48"
    for name in ("series", "referrer", "app", "os", "device", "browser", "bot"):
        canvas = page.locator(f'[data-chart="{name}"] canvas')
        assert canvas.count() == 1, name
        box = canvas.bounding_box()
        assert box is not None, name
        assert box["width"] <= width, name

    # The hour toggle narrows the range to a week and redraws.
    page.click('[data-granularity="hour"]')
    page.wait_for_function(
        "document.querySelector('[data-days=\"7\"]').getAttribute('aria-pressed') === 'true'"
    )
    assert page.locator('[data-granularity="hour"]').get_attribute("aria-pressed") == "true"
    page.wait_for_timeout(300)
    assert page.locator("[data-stats-error]").is_hidden()
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(tmp_path / f"stats-{width}.png"), full_page=True)
    assert errors == []
    context.close()
