"""``qunyun rules`` and ``qunyun ban``."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy import select

from qunyun.community.models import Group
from qunyun.db.engine import Database
from qunyun.moderation import books
from qunyun.moderation.cli import ban_app, rules_app
from qunyun.moderation.models import AuditEntry
from tests.cli_support import command_line, run
from tests.community.helpers import seed


@pytest.fixture
def cli(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    return command_line(monkeypatch, sqlite_db, tmp_path, {"rules": rules_app, "ban": ban_app})


def test_rules_export_import_versions_diff_restore(
    cli: typer.Typer, sqlite_db: Database, tmp_path: Path
) -> None:
    code, out = run(cli, "rules", "show")
    assert code == 0 and out.startswith("# version 0") and "Advertising" in out
    target = tmp_path / "book.yaml"
    code, out = run(cli, "rules", "export", "-o", str(target))
    assert code == 0
    target.write_text(
        target.read_text(encoding="utf-8").replace("dry_run: false", "dry_run: true"),
        encoding="utf-8",
    )
    code, out = run(cli, "rules", "import", str(target), "--note", "trial week")
    assert (code, out.strip()) == (0, "version 1")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ncategories:\n  x:\n    patterns: ['(a+)+$']\n", encoding="utf-8")
    code, out = run(cli, "rules", "import", str(bad))
    assert code == 2 and out.startswith("Line 4 (categories.x.patterns[0]): ")
    with sqlite_db.session(write=False) as s:
        assert books.community_book(s, 1)[1] == 1
    code, out = run(cli, "rules", "versions")
    assert out.splitlines()[0].startswith("*v1\t") and out.splitlines()[0].endswith("trial week")
    code, out = run(cli, "rules", "diff", "0", "1")
    assert "-dry_run: false\n+dry_run: true" in out
    code, out = run(cli, "rules", "restore", "0")
    assert (code, out.strip()) == (0, "version 2")
    code, out = run(cli, "rules", "export", "--version", "1")
    assert "dry_run: true" in out
    code, out = run(cli, "rules", "diff", "0", "9")
    assert code == 2 and "no version 9" in out
    with sqlite_db.session(write=False) as s:
        assert list(s.scalars(select(AuditEntry.action))) == ["rulebook.saved"] * 2


def test_rules_for_a_group(cli: typer.Typer, sqlite_db: Database, tmp_path: Path) -> None:
    seed(sqlite_db)
    with sqlite_db.session(write=False) as s:
        gid = s.scalar(select(Group.id).where(Group.platform_group_id == "100"))
    override = tmp_path / "o.yaml"
    override.write_text("flood:\n  max_messages: 4\n", encoding="utf-8")
    code, out = run(cli, "rules", "import", str(override), "--group", str(gid))
    assert (code, out.strip()) == (0, "version 1")
    code, out = run(cli, "rules", "show", "--group", str(gid), "--lang", "zh-CN")
    assert "60 秒内最多 4 条消息" in out and "群100" in out
    code, out = run(cli, "rules", "export", "--group", str(gid))
    assert "max_messages: 4" in out and "window_seconds" not in out


def test_ban_commands(cli: typer.Typer, tmp_path: Path) -> None:
    code, out = run(cli, "ban", "add", "onebot", "10001", "--reason", "赌博")
    assert code == 0
    ban_id = out.split("\t")[0]
    code, out = run(cli, "ban", "add", "on bot", "1")
    assert code == 2 and "Platform" in out
    code, out = run(cli, "ban", "list")
    assert "onebot\t10001\t\t赌博" in out
    csv_file = tmp_path / "bans.csv"
    csv_file.write_text("platform,platform_user_id\ntelegram,5\nqq,\n", encoding="utf-8")
    code, out = run(cli, "ban", "import", str(csv_file))
    assert code == 2 and "Line 3:" in out
    csv_file.write_text("platform,platform_user_id\ntelegram,5\n", encoding="utf-8")
    code, out = run(cli, "ban", "import", str(csv_file))
    assert (code, out.strip()) == (0, "added 1, unchanged 0, skipped lifted 0")
    code, out = run(cli, "ban", "lift", ban_id)
    assert code == 0
    export = tmp_path / "out.csv"
    code, out = run(cli, "ban", "export", "-o", str(export), "--status", "all")
    text = export.read_text(encoding="utf-8")
    assert text.startswith("\ufeffplatform,") and "10001" in text and "telegram,5" in text
    code, out = run(cli, "ban", "list")
    assert "10001" not in out and "telegram\t5" in out
