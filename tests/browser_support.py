"""Fixtures for browser tests (a plugin of tests/conftest.py): a real server on loopback
and a real headless Chromium (Debian's), driven by Playwright.

Chromium is the system's /usr/bin/chromium (installed by scripts/test); no test tool
downloads a browser. Screenshots land in test-results/screenshots/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from qunyun.accounts import service as accounts
from qunyun.accounts.passwords import Passwords
from qunyun.accounts.roles import Role
from qunyun.app import create_app
from qunyun.db.engine import Database
from tests.conftest import PASSWORD, make_settings, unavailable

CHROMIUM = os.environ.get("QUNYUN_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    db: Database

    def owner(self, name: str = "owner", role: Role = Role.owner) -> str:
        with self.db.transaction() as s:
            accounts.create_user(s, Passwords("test"), name, PASSWORD, role)
        return name


@pytest.fixture
def live_server(sqlite_db: Database, tmp_path: Path) -> Iterator[LiveServer]:
    port = _free_port()
    settings = make_settings(
        tmp_path, sqlite_db, base_url=f"http://127.0.0.1:{port}", visit_flush_seconds=0.1
    )
    config = uvicorn.Config(
        create_app(settings, sqlite_db),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:
        raise RuntimeError("the test server did not start")
    yield LiveServer(f"http://127.0.0.1:{port}", sqlite_db)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        unavailable(f"Chromium not found at {CHROMIUM} (scripts/test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page_factory(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def make(user_agent: str | None = None, locale: str = "zh-CN", mobile: bool = False) -> Any:
        options: dict[str, Any] = {"locale": locale}
        if user_agent:
            options["user_agent"] = user_agent
        if mobile:
            options.update(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page: Any, server: LiveServer, name: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/links**")
