"""``qunyun link …`` against a SQLite file, as an operator would run it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qunyun.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QUNYUN_CONFIG", raising=False)
    monkeypatch.delenv("QUNYUN_REDIS_URL", raising=False)
    monkeypatch.setenv("QUNYUN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("QUNYUN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUNYUN_ARGON2_PROFILE", "test")
    monkeypatch.setenv("QUNYUN_BASE_URL", "https://s.example.cn")
    monkeypatch.setenv("QUNYUN_LANGUAGE", "zh-CN")
    return tmp_path


def link(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["link", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_create_then_show_and_list() -> None:
    code, out, _ = link(
        "create",
        "example.com/课程",
        "--slug",
        "Course",
        "--title",
        "课程",
        "--tag",
        "海报",
        "--tag",
        "群",
        "--expires",
        "2031-06-30 18:00",
        "--max-visits",
        "50",
        "--redirect",
        "301",
        "--utm-source",
        "cli",
    )
    assert code == 0
    assert out.strip() == "https://s.example.cn/Course"
    code, out, _ = link("show", "course", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["target_url"] == "https://example.com/%E8%AF%BE%E7%A8%8B"
    assert shown["tags"] == ["海报", "群"]
    assert shown["expires_at"] == "2031-06-30T10:00:00Z"
    assert (shown["max_visits"], shown["redirect_status"], shown["utm_source"]) == (50, 301, "cli")
    assert shown["created_by_id"] is None
    code, out, _ = link("show", "course")
    assert code == 0
    assert "https://example.com/课程" in out
    code, out, _ = link("list", "--json", "--q", "课程")
    listed = json.loads(out)
    assert (listed["total"], listed["items"][0]["slug"]) == (1, "Course")
    code, out, _ = link("list")
    assert code == 0
    assert "Course" in out


def test_password_from_stdin() -> None:
    code, _, _ = link(
        "create", "https://example.com", "--slug", "locked", "--password-stdin", stdin="s3cret\n"
    )
    assert code == 0
    assert json.loads(link("show", "locked", "--json")[1])["has_password"] is True


def test_refusals_print_the_message_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = link("create", "javascript:alert(1)")
    assert code == 2
    assert out == ""
    assert "浏览器" in err
    monkeypatch.setenv("QUNYUN_LANGUAGE", "en")
    code, _, err = link("create", "https://example.com", "--slug", "api")
    assert code == 2
    assert "reserved" in err
    code, _, err = link("create", "https://example.com", "--expires", "soon")
    assert code == 2
    assert "not recognised" in err
    code, _, err = link("show", "missing")
    assert code == 2
    assert "missing" in err
    assert json.loads(link("list", "--json")[1])["total"] == 0


def test_import_reports_rows_and_exits_1_on_failures(installation: Path) -> None:
    source = installation / "links.csv"
    source.write_bytes("url,slug,title\nhttps://e.com/1,one,一\nftp://x,,\n".encode("gbk"))
    code, out, _ = link("import", str(source), "--dry-run")
    assert code == 1
    assert out.splitlines() == [
        "2\tok\tone",
        "3\turl.scheme_not_allowed\t只支持 http 和 https 网址，不支持「ftp:」",
    ]
    assert json.loads(link("list", "--json")[1])["total"] == 0
    code, out, _ = link("import", str(source))
    assert code == 1
    assert json.loads(link("list", "--json")[1])["total"] == 1
    good = installation / "good.csv"
    good.write_text("url\nhttps://e.com/2\nhttps://e.com/3\n", encoding="utf-8-sig")
    code, out, err = link("import", str(good))
    assert code == 0
    assert "已创建 2 条，失败 0 条" in err
    code, _, err = link("import", str(installation / "nope.csv"))
    assert code == 2


def test_import_of_a_broken_file_exits_2(installation: Path) -> None:
    broken = installation / "broken.csv"
    broken.write_bytes(b"title\nno url column\n")
    code, _, err = link("import", str(broken))
    assert code == 2
    assert "url" in err


def test_export_to_stdout_and_to_a_file(installation: Path) -> None:
    link("create", "https://example.com/a", "--slug", "exp-a", "--tag", "t", "--note", 'a "q", b')
    link("create", "https://example.com/b", "--slug", "exp-b")
    code, out, _ = link("export", "-", "--tag", "t")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["slug"] for r in rows] == ["exp-a"]
    assert rows[0]["note"] == 'a "q", b'
    assert rows[0]["short_url"] == "https://s.example.cn/exp-a"
    target = installation / "out.csv"
    code, _, err = link("export", str(target))
    assert code == 0
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfurl,")
    assert len(list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))) == 2
    assert "2 →" in err
    # What was exported imports back (under new slugs).
    renamed = installation / "again.csv"
    renamed.write_bytes(data.replace(b"exp-", b"copy-"))
    code, out, _ = link("import", str(renamed))
    assert code == 0
    assert json.loads(link("list", "--json")[1])["total"] == 4
