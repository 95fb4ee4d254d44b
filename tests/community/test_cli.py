"""``qunyun community|group|member``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import select

from qunyun.community.cli import community_app, group_app, member_app
from qunyun.community.models import MemberIdentity
from qunyun.db.engine import Database
from tests.cli_support import command_line, run
from tests.community.helpers import ingest, joined, seed


@pytest.fixture
def cli(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    apps = {"community": community_app, "group": group_app, "member": member_app}
    return command_line(monkeypatch, sqlite_db, tmp_path, apps)


def test_communities_groups_members(cli: typer.Typer, sqlite_db: Database) -> None:
    seed(sqlite_db)
    code, out = run(cli, "community", "create", "camp", "训练营")
    assert code == 0, out
    code, out = run(cli, "community", "list")
    assert "camp\t训练营" in out and "default" in out
    code, out = run(cli, "community", "tiers", "founder:1,early")
    assert (code, out.strip()) == (0, "founder:1,early")
    code, out = run(cli, "community", "tiers", "a:5,b:3")
    assert code == 2 and "ascending" in out
    code, out = run(cli, "group", "create", "总群", "--capacity", "100")
    assert code == 0, out
    parent = out.split("\t")[0]
    code, out = run(
        cli,
        "group",
        "create",
        "一期",
        "--parent",
        parent,
        "--kind",
        "trial",
        "--ends-on",
        "2026-05-01",
    )
    assert code == 0, out
    code, out = run(cli, "group", "tree")
    assert "总群 [main] 0/100" in out and "\n  一期 [trial]" in out
    code, out = run(cli, "group", "update", parent, "--capacity", "0")
    assert code == 2 and "capacity" in out
    code, out = run(cli, "member", "list", "--tier", "early", "--json")
    assert [m["display_name"] for m in json.loads(out)["items"]] == ["李四", "王五"]
    with sqlite_db.session(write=False) as s:
        zs = s.scalar(
            select(MemberIdentity.member_id).where(MemberIdentity.platform_user_id == "u1")
        )
    code, out = run(cli, "member", "tag", str(zs), "--add", "vip", "--add", "北京")
    assert out.strip() == "vip,北京" or out.strip() == "北京,vip"
    code, out = run(cli, "member", "show", str(zs))
    assert json.loads(out)["tags"] and json.loads(out)["tier"] == "founder"
    # Merge a second account in, then undo.
    ingest(sqlite_db, [joined("100", "u9", "小号", 3)])
    with sqlite_db.session(write=False) as s:
        alt = s.scalar(
            select(MemberIdentity.member_id).where(MemberIdentity.platform_user_id == "u9")
        )
    code, out = run(cli, "member", "merge", str(zs), str(alt))
    assert code == 0, out
    change = out.split()[1].rstrip(":")
    assert len(json.loads(run(cli, "member", "show", str(zs))[1])["identities"]) == 2
    code, out = run(cli, "member", "undo", change)
    assert code == 0 and "split" in out
    code, out = run(cli, "member", "show", "999999")
    assert code == 2 and "No such member" in out
    code, out = run(cli, "member", "list", "-c", "camp")
    assert out.strip() == "(0)"
