"""``qunyun connection telegram-webhook``: pointing a bot at Qunyun from the command line."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import typer

from qunyun.db.engine import Database
from qunyun.platforms import connections
from qunyun.platforms.cli import connection_app
from qunyun.platforms.telegram.client import ALLOWED_UPDATES
from tests.cli_support import command_line, run
from tests.platforms.telegram.support import FakeBotApi
from tests.platforms.telegram.test_client import TOKEN, api, bot_api

__all__ = ["api", "bot_api"]


def _run(cli: typer.Typer, *args: str) -> tuple[int, str]:
    # The command runs its own event loop; a browser test may have left one running here.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run, cli, *args).result()


def test_the_webhook_is_set_with_the_secret_and_the_wanted_updates(
    sqlite_db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    api: tuple[FakeBotApi, str],
) -> None:
    fake, url = api
    cli = command_line(
        monkeypatch, sqlite_db, tmp_path, {"connection": connection_app},
        base_url="https://q.example.cn",
    )  # fmt: skip
    with sqlite_db.transaction() as session:
        bot = connections.create_connection(
            session,
            1,
            "telegram",
            "训练营机器人",
            access_token=TOKEN,
            api_url=url,
            allow_private=True,
        )
        manual = connections.create_connection(session, 1, "manual", "微信群")
    code, out = _run(cli, "connection", "telegram-webhook", str(bot.id))
    assert code == 0, out
    hook = f"https://q.example.cn/hooks/telegram/{bot.key}"
    assert out.strip() == hook
    ((method, body),) = fake.calls
    assert method == "setWebhook"
    assert body == {
        "url": hook,
        "allowed_updates": ALLOWED_UPDATES,
        "secret_token": bot.inbound_secret,
    }

    code, out = _run(cli, "connection", "telegram-webhook", str(manual.id))
    assert code == 2 and "not a Telegram connection" in out
    assert len(fake.calls) == 1
