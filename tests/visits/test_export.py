"""CSV of raw visits: encoding, time zone, address retention, formula injection."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from qunyun.visits.export import BOM, COLUMNS, VisitRow, csv_chunks, safe_cell

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def row(n: int, ts: datetime, **changes: object) -> VisitRow:
    values: dict[str, object] = {
        "id": n,
        "ts": ts,
        "referrer": "https://weibo.com/",
        "user_agent": "Mozilla/5.0 微信",
        "ip": f"10.0.0.{n}",
        "browser": "WeChat",
        "os": "iOS",
        "device": "phone",
        "app": "wechat",
        "is_bot": False,
        "bot_name": None,
    }
    values.update(changes)
    return VisitRow(**values)  # type: ignore[arg-type]


def parse(chunks: list[str]) -> list[dict[str, str]]:
    text = "".join(chunks)
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text[len(BOM) :])))


def test_header_bom_local_time_and_chunks():
    rows = [row(n, NOW - timedelta(minutes=n)) for n in range(5)]
    chunks = list(
        csv_chunks(
            rows, ZoneInfo("Asia/Shanghai"), ip_since=NOW - timedelta(days=7), rows_per_chunk=2
        )
    )
    assert len(chunks) == 1 + 3  # header, then 2 + 2 + 1 rows
    parsed = parse(chunks)
    assert list(parsed[0]) == list(COLUMNS)
    assert parsed[0]["time"] == "2024-05-10 20:00:00"
    assert parsed[0]["user_agent"] == "Mozilla/5.0 微信"
    assert parsed[0]["is_bot"] == "0"
    assert parsed[0]["ip"] == "10.0.0.0"


def test_addresses_past_retention_or_without_permission_are_left_out():
    rows = [row(1, NOW - timedelta(days=8)), row(2, NOW - timedelta(days=1))]
    zone = ZoneInfo("UTC")
    kept = parse(list(csv_chunks(rows, zone, ip_since=NOW - timedelta(days=7))))
    assert [r["ip"] for r in kept] == ["", "10.0.0.2"]
    hidden = parse(list(csv_chunks(rows, zone, ip_since=None)))
    assert [r["ip"] for r in hidden] == ["", ""]


def test_formula_cells_are_defused():
    assert safe_cell('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    assert safe_cell("+1") == "'+1"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-2") == "'-2"
    assert safe_cell("https://ok.example/") == "https://ok.example/"
    assert safe_cell(None) == ""
    parsed = parse(
        list(
            csv_chunks(
                [row(1, NOW, user_agent="=cmd|' /C calc'!A0")], ZoneInfo("UTC"), ip_since=None
            )
        )
    )
    assert parsed[0]["user_agent"].startswith("'=")


def test_no_visits_gives_the_header_only():
    chunks = list(csv_chunks([], ZoneInfo("UTC"), ip_since=None))
    assert chunks == [BOM + ",".join(COLUMNS) + "\r\n"]
