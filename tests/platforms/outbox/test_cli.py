"""``qunyun connection`` and ``qunyun action`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from qunyun.db.engine import Database
from qunyun.platforms import outbox
from qunyun.platforms.cli import action_app, connection_app
from qunyun.platforms.models import PlatformAction
from tests.cli_support import command_line, run
from tests.platforms.outbox.conftest import make_group


@pytest.fixture
def cli(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    apps = {"connection": connection_app, "action": action_app}
    return command_line(
        monkeypatch, sqlite_db, tmp_path, apps, language="zh-CN", base_url="https://q.example.cn"
    )


def test_connections_from_the_command_line(cli: typer.Typer) -> None:
    code, out = run(
        cli, "connection", "add", "onebot", "QQ 机器人", "--api-url", "http://127.0.0.1:3000"
    )
    assert code == 0, out
    lines = dict(line.split("\t", 1) for line in out.strip().splitlines())
    assert lines["inbound"].startswith("https://q.example.cn/hooks/onebot/")
    assert lines["websocket"].startswith("wss://q.example.cn/hooks/onebot/")
    secret = lines["secret"].split("\t")[0]
    code, out = run(cli, "connection", "list", "--json")
    listed = json.loads(out)
    assert listed[0]["name"] == "QQ 机器人" and secret not in out
    code, rotated = run(cli, "connection", "rotate", str(listed[0]["id"]))
    assert code == 0 and rotated.strip() != secret and len(rotated.strip()) >= 40
    code, out = run(cli, "connection", "add", "webhook", "桥", "--api-url", "javascript:x")
    assert code == 2 and out.strip(), out
    code, out = run(cli, "connection", "remove", str(listed[0]["id"]), "--yes")
    assert code == 0, out
    assert json.loads(run(cli, "connection", "list", "--json")[1]) == []


def test_actions_from_the_command_line(cli: typer.Typer, sqlite_db: Database) -> None:
    group = make_group(sqlite_db, "微信群", platform="manual")
    with sqlite_db.transaction() as session:
        todo = outbox.enqueue(
            session,
            community_id=1,
            group=outbox.group_of(session, 1, group.id),
            kind="set_title",
            params={"user": "wxid_1", "title": "首席整理官"},
        ).id
        failed = outbox.enqueue(
            session,
            community_id=1,
            group=outbox.group_of(session, 1, group.id),
            kind="send_message",
            params={"text": "hi"},
        )
        failed.status, failed.last_error = "failed", "HTTP 500"
        failed_id = failed.id
    code, out = run(cli, "action", "list", "--status", "todo")
    assert code == 0 and "1 of 1 actions" in out, out
    code, out = run(cli, "action", "list", "--status", "todo", "--json")
    (item,) = json.loads(out)["items"]
    assert item["todo"]["instruction"] == "给 wxid_1 在群「微信群」中设置头衔「首席整理官」"
    assert item["todo"]["copy_text"] == "首席整理官"
    code, out = run(cli, "action", "list", "--status", "failed", "--json")
    assert [item["id"] for item in json.loads(out)["items"]] == [failed_id]
    code, out = run(cli, "action", "retry", str(failed_id))
    assert (code, out.strip()) == (0, "todo")  # no API behind a manual group
    code, out = run(cli, "action", "done", str(todo))
    assert code == 0, out
    with sqlite_db.session(write=False) as session:
        found = session.get(PlatformAction, todo)
        assert found is not None and found.status == "done"
    code, out = run(cli, "action", "done", str(todo))
    assert code == 2 and "已完成" in out
