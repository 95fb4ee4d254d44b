"""``qunyun livecode``: the same services from the command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import typer

from qunyun.db.engine import Database
from qunyun.livecodes.cli import livecode_app
from qunyun.livecodes.service import main_link
from qunyun.visits.recorder import PendingVisit, VisitRecorder
from tests.cli_support import command_line, run
from tests.livecodes.helpers import WECHAT_GROUPS, WECHAT_UA, blank_png, qr_png


@pytest.fixture
def cli(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    apps = {"livecode": livecode_app}
    return command_line(monkeypatch, sqlite_db, tmp_path, apps, base_url="https://s.example.cn")


def test_create_add_show_stats_and_merge(
    cli: typer.Typer, sqlite_db: Database, tmp_path: Path
) -> None:
    code, out = run(cli, "livecode", "create", "训练营", "--slug", "camp", "--threshold", "150")
    assert code == 0, out
    code_id, url = out.strip().split("\t")
    assert url == "https://s.example.cn/camp"
    image = tmp_path / "一群.png"
    image.write_bytes(qr_png(WECHAT_GROUPS[0]))
    code, out = run(cli, "livecode", "add-member", code_id, str(image), "--json")
    assert code == 0, out
    member = json.loads(out)
    assert (member["name"], member["payload_kind"], member["scan_threshold"]) == (
        "一群",
        "wechat_group",
        150,
    )
    code, out = run(cli, "livecode", "add-channel", code_id, "海报", "--slug", "poster")
    assert code == 0, out
    assert out.strip().endswith("https://s.example.cn/poster")
    code, out = run(cli, "livecode", "show", code_id)
    assert code == 0, out
    assert "一群: 0/150 scans" in out
    assert "channel 海报: https://s.example.cn/poster" in out
    code, out = run(cli, "livecode", "list", "--json")
    assert [item["slug"] for item in json.loads(out)] == ["camp"]

    with sqlite_db.session(write=False) as s:
        link_id = main_link(s, int(code_id)).id
    VisitRecorder(sqlite_db, "cli-secret", "Asia/Shanghai").write(
        [PendingVisit(link_id, time.time(), None, WECHAT_UA, "1.1.1.1", member_id=member["id"])]
    )
    code, out = run(cli, "livecode", "stats", code_id, "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["total"] == {"people": 1, "uniques": 1, "presses": 0}
    assert data["members"] == [
        {"member_id": member["id"], "name": "一群", "people": 1, "uniques": 1, "presses": 0}
    ]

    code, out = run(cli, "livecode", "create", "新营")
    new_id = out.strip().split("\t")[0]
    code, out = run(cli, "livecode", "merge", code_id, new_id)
    assert code == 0, out
    code, out = run(cli, "livecode", "show", code_id, "--json")
    assert json.loads(out)["status"] == "retired"


def test_refusals_exit_with_2_and_a_message(cli: typer.Typer, tmp_path: Path) -> None:
    code, out = run(cli, "livecode", "create", "A", "--slug", "api")
    assert code == 2
    assert "reserved" in out
    _, out = run(cli, "livecode", "create", "A")
    code_id = out.strip().split("\t")[0]
    blank = tmp_path / "blank.png"
    blank.write_bytes(blank_png())
    code, out = run(cli, "livecode", "add-member", code_id, str(blank))
    assert code == 2
    assert "No QR code found in the image" in out
    code, out = run(cli, "livecode", "merge", code_id, code_id)
    assert code == 2
    assert "cannot be merged into itself" in out
    code, out = run(cli, "livecode", "show", "999")
    assert code == 2
    assert "No such live code" in out
