"""``qunyun link stats``, ``qunyun visits purge`` and ``qunyun visits export``."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest
import typer

from qunyun.db.engine import Database
from qunyun.visits.cli import register, visits_app
from qunyun.visits.recorder import PendingVisit, VisitRecorder
from tests.cli_support import command_line, run
from tests.visits.helpers import GOOGLEBOT, IPHONE_SAFARI, WECHAT_IPHONE, make_link

DAY = 86400.0


@pytest.fixture
def cli(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    link_app = typer.Typer()
    register(link_app)
    return command_line(monkeypatch, sqlite_db, tmp_path, {"link": link_app, "visits": visits_app})


@pytest.fixture
def promo(sqlite_db: Database) -> int:
    link_id = make_link(sqlite_db, "promo")
    now = time.time()
    VisitRecorder(sqlite_db, "cli-secret", "Asia/Shanghai").write(
        [
            PendingVisit(link_id, now - 9 * DAY, None, WECHAT_IPHONE, "1.1.1.1"),
            PendingVisit(link_id, now - 60, "https://weibo.com/", IPHONE_SAFARI, "2.2.2.2"),
            PendingVisit(link_id, now - 30, None, IPHONE_SAFARI, "2.2.2.2"),
            PendingVisit(link_id, now - 10, None, GOOGLEBOT, "66.249.66.1"),
        ]
    )
    return link_id


def test_link_stats_as_json(cli, promo):
    code, out = run(cli, "link", "stats", "promo", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["slug"] == "promo"
    assert len(data["series"]) == 30
    assert data["totals"] == {"people": 3, "uniques": 2, "bots": 1}


def test_link_stats_as_tables(cli, promo):
    code, out = run(cli, "link", "stats", "promo", "--days", "7", "--granularity", "hour")
    assert code == 0, out
    assert "people 2" in out
    assert "bots 1" in out
    assert "weibo.com" in out
    assert "googlebot" in out


def test_link_stats_refusals(cli, promo):
    code, out = run(cli, "link", "stats", "promo", "--days", "30", "--granularity", "hour")
    assert code == 2
    assert "at most 14 days" in out
    code, _ = run(cli, "link", "stats", "missing")
    assert code == 2


def test_purge_prints_how_many_were_erased(cli, promo):
    code, out = run(cli, "visits", "purge")
    assert code == 0, out
    assert "erased 1 client addresses" in out
    assert "erased 0" in run(cli, "visits", "purge")[1]


def test_export_to_a_file_and_to_stdout(cli, promo, tmp_path):
    target = tmp_path / "promo.csv"
    code, out = run(cli, "visits", "export", "promo", str(target))
    assert code == 0, out
    raw = target.read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 4
    # Within retention the address is there; the 9-day-old one is not.
    assert [r["ip"] for r in rows] == ["", "2.2.2.2", "2.2.2.2", "66.249.66.1"]

    code, out = run(cli, "visits", "export", "promo")
    assert code == 0
    assert out.count("\n") >= 5
    assert "Googlebot" in out
