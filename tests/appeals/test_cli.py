"""``qunyun appeal list|show|open|decide``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from qunyun.accounts.roles import Role
from qunyun.appeals.cli import appeal_app
from qunyun.db.engine import Database
from tests.appeals.helpers import actions_after, add_user, seed_case
from tests.cli_support import command_line, run


@pytest.fixture
def cli(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    return command_line(monkeypatch, sqlite_db, tmp_path, {"appeal": appeal_app})


def test_open_list_show_and_decide(cli: typer.Typer, sqlite_db: Database) -> None:
    seeded = seed_case(sqlite_db)
    op = add_user(sqlite_db, "op", Role.operator)
    add_user(sqlite_db, "boss", Role.admin)
    code, out = run(cli, "appeal", "open", str(seeded.case_id), "-s", "成员来电说明", "--as", "op")
    assert code == 0, out
    appeal_id = out.split("\t")[0]
    code, out = run(cli, "appeal", "open", str(seeded.case_id), "-s", "again")
    assert code == 2 and "already has an appeal waiting" in out
    code, out = run(cli, "appeal", "list", "--status", "open")
    assert code == 0 and f"{appeal_id}\topen\tcase {seeded.case_id}\t吕凯\tAdvertising" in out
    code, out = run(cli, "appeal", "show", appeal_id)
    shown = json.loads(out)
    assert shown["opened_by_id"] == op.user_id and shown["case"]["step_action"] == "mute"
    # The opener may not review; an unknown user is refused by name.
    code, out = run(cli, "appeal", "decide", appeal_id, "overturn", "--as", "op")
    assert code == 2 and "Only admins and owners" in out
    code, out = run(cli, "appeal", "decide", appeal_id, "overturn", "--as", "ghost")
    assert code == 2 and "User ghost not found" in out
    code, out = run(
        cli, "appeal", "decide", appeal_id, "overturn", "--as", "boss", "-n", "误判", "--json"
    )
    assert code == 0, out
    decided = json.loads(out)
    assert decided["status"] == "overturned" and decided["undo"] == ["not_restorable", "unmute"]
    [unmute] = [a for a in actions_after(sqlite_db) if a.id in decided["queued_action_ids"]]
    assert unmute.params == {"user": seeded.user, "seconds": 0}
    code, out = run(cli, "appeal", "list")
    assert "overturned" in out and "1 in all" in out
