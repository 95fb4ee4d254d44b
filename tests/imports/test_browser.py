"""The imports page in headless Chromium: upload, then the progress bar fills by itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser_support import LiveServer, login, screenshot
from tests.imports.helpers import generate_qq

pytestmark = pytest.mark.browser


def test_the_progress_bar_follows_the_import_live(
    live_server: LiveServer, page_factory: Any, tmp_path: Path
) -> None:
    export = tmp_path / "跑团.txt"
    generate_qq(export, 12_000)
    name = live_server.owner()
    page = page_factory()
    login(page, live_server, name)
    page.goto(f"{live_server.url}/imports")
    page.set_input_files("input[name=file]", str(export))
    page.click("#import-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/imports/*")
    # A mark on this document: it survives only if the page is updated in place.
    page.evaluate("window.__stayed = true")
    seen: set[str] = set()
    status = ""
    for _ in range(1200):
        progress = page.locator("#import-progress")
        status = progress.get_attribute("data-status") or ""
        seen.add(page.locator("[role=progressbar]").get_attribute("aria-valuenow") or "")
        if status not in ("queued", "running"):
            break
        page.wait_for_timeout(100)
    assert status == "done"
    assert page.locator("[role=progressbar]").get_attribute("aria-valuenow") == "100"
    assert page.evaluate("window.__stayed === true")
    assert "12000" in page.locator("#import-progress").inner_text()
    assert len(seen) >= 2  # at least the starting value and the final 100
    screenshot(page, "imports-progress-done")
