"""Each reader on real and hand-written exports; resuming from any checkpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from qunyun.imports.readers import ReadOptions, Skip, detect_format
from qunyun.stream.records import (
    JoinHow,
    MemberJoined,
    MemberLeft,
    MessageKind,
    MessagePosted,
    MessageRecalled,
    NicknameChanged,
    UnknownPayload,
)
from tests.imports.helpers import CHAT, read_all

FIXTURES = [
    ("telegram_json", CHAT / "telegram" / "personal_chat.json"),
    ("telegram_json", CHAT / "telegram" / "supergroup_with_topics.json"),
    ("telegram_json", CHAT / "telegram" / "result.json"),
    ("qq_text", CHAT / "qq" / "run_club.txt"),
    ("qq_text", CHAT / "qq" / "photo_gbk.txt"),
    ("wechat_csv", CHAT / "wechat" / "class_group.csv"),
    ("wechat_csv", CHAT / "wechat" / "gbk.csv"),
    ("irc", CHAT / "irc" / "2004-11-15_03.raw.txt"),
]


@pytest.mark.parametrize(("fmt", "path"), FIXTURES, ids=lambda v: getattr(v, "name", v))
def test_format_is_detected(fmt: str, path: Path) -> None:
    assert detect_format(path) == fmt


def test_unknown_content_is_not_detected(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\nnothing like a chat\n", encoding="utf-8")
    assert detect_format(path) is None


@pytest.mark.parametrize(("fmt", "path"), FIXTURES, ids=lambda v: getattr(v, "name", v))
def test_resuming_from_any_checkpoint_gives_the_same_items(fmt: str, path: Path) -> None:
    whole, _ = read_all(fmt, path)
    items = [item for _, item in whole]
    reader_items: list[object] = []
    from qunyun.imports.readers import open_reader

    reader = open_reader(fmt, path, ReadOptions(filename=path.name))
    for index, (offset, item) in enumerate(reader):
        reader_items.append(item)
        if offset is None or index % 7:
            continue
        rest, _ = read_all(fmt, path, checkpoint=reader.checkpoint())
        assert items[: index + 1] + [i for _, i in rest] == items
    assert reader_items == items


def test_telegram_one_chat() -> None:
    items, _ = read_all("telegram_json", CHAT / "telegram" / "personal_chat.json")
    records = [i for _, i in items]
    assert len(records) == 5
    first = records[0]
    assert isinstance(first, MessagePosted)
    assert first.platform == "telegram"
    assert first.platform_record_id == "msg:123456789:1"
    assert first.platform_user_id == "111" and first.user_name == "Alice"
    assert first.occurred_at == datetime.fromtimestamp(1705315800, UTC)
    third, fourth = records[2], records[3]
    assert isinstance(third, MessagePosted) and third.text == "Check this important message"
    assert isinstance(fourth, MessagePosted) and fourth.reply_to == "3"
    assert isinstance(records[4], UnknownPayload)  # a phone call


def test_telegram_supergroup_uses_the_bot_api_chat_id() -> None:
    items, _ = read_all("telegram_json", CHAT / "telegram" / "supergroup_with_topics.json")
    records = [i for _, i in items]
    assert len(records) == 7
    assert {r.platform_group_id for r in records} == {"-100987654321"}
    assert records[2].platform_record_id == "msg:-100987654321:3"


def test_telegram_whole_account_reads_groups_and_skips_saved_messages() -> None:
    items, reader = read_all("telegram_json", CHAT / "telegram" / "result.json")
    records = [i for _, i in items if not isinstance(i, Skip)]
    skips = [i for _, i in items if isinstance(i, Skip)]
    assert len(records) == 13
    assert [s.reason for s in skips] == ["import.skip.tg_not_group"]
    by_id = {r.platform_record_id: r for r in records}
    photo = by_id["msg:-10042:3"]
    assert isinstance(photo, MessagePosted) and photo.message_kind == MessageKind.image
    sticker = by_id["msg:-10042:6"]
    assert isinstance(sticker, MessagePosted) and sticker.message_kind == MessageKind.sticker
    joined = by_id["msg:-10042:10#0"]
    assert isinstance(joined, MemberJoined)
    assert joined.platform_user_id == "400" and joined.operator_user_id == "300"
    assert joined.how == JoinHow.invited
    assert reader.checkpoint()["chat"] == 2


def test_qq_messages_sections_and_identical_lines() -> None:
    items, _ = read_all("qq_text", CHAT / "qq" / "run_club.txt")
    records = [i for _, i in items]
    assert len(records) == 7
    first = records[0]
    assert isinstance(first, MessagePosted)
    assert first.platform == "qq" and first.platform_group_id == "123456789"
    assert first.group_name == "周末跑团"
    assert first.text == "早上好，今天 7 点集合"
    assert first.occurred_at == datetime(2024, 1, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    second, third = records[1], records[2]
    assert isinstance(second, MessagePosted) and second.platform_user_id == "li@example.com"
    assert second.text == "收到\n我会带水"
    # Two identical messages in the same second are two records.
    assert second.platform_record_id != third.platform_record_id
    assert isinstance(records[3], MessagePosted)
    assert records[3].message_kind == MessageKind.image
    assert isinstance(records[4], UnknownPayload)  # 系统消息(10000)
    assert records[6].platform_group_id == "name:读书会"


def test_qq_gbk_file_with_an_undecodable_line() -> None:
    items, _ = read_all("qq_text", CHAT / "qq" / "photo_gbk.txt")
    skips = [i for _, i in items if isinstance(i, Skip)]
    records = [i for _, i in items if not isinstance(i, Skip)]
    assert [(s.line, s.reason) for s in skips] == [(8, "import.skip.encoding")]
    assert [r.text for r in records if isinstance(r, MessagePosted)] == ["新年快乐", "同乐"]
    assert records[0].group_name == "摄影群"


def test_qq_target_group_overrides_the_file() -> None:
    options = ReadOptions(filename="x.txt", platform_group_id="999", group_name="目标群")
    items, _ = read_all("qq_text", CHAT / "qq" / "run_club.txt", options)
    assert {i.platform_group_id for _, i in items} == {"999"}


def test_wechat_rows_kinds_system_lines_and_skips() -> None:
    items, _ = read_all("wechat_csv", CHAT / "wechat" / "class_group.csv")
    records = [i for _, i in items if not isinstance(i, Skip)]
    skips = [i for _, i in items if isinstance(i, Skip)]
    assert [(s.line, s.reason) for s in skips] == [
        (11, "import.skip.wechat_bad_row"),
        (12, "import.skip.bad_time"),
        (13, "import.skip.encoding"),
    ]
    assert len(records) == 9
    first = records[0]
    assert isinstance(first, MessagePosted)
    assert first.platform_record_id == "123@chatroom:1" and first.platform_user_id == "wxid_wang"
    assert records[1].message_kind == MessageKind.image
    multi = records[2]
    assert isinstance(multi, MessagePosted)
    assert multi.text == '第一行\n第二行, 带逗号 "引号"' and multi.platform_user_id == "self"
    assert records[3].message_kind == MessageKind.link
    invited = [r for r in records if isinstance(r, MemberJoined) and r.how == JoinHow.invited]
    assert [r.platform_user_id for r in invited] == ["name:小张", "name:小赵"]
    assert invited[0].operator_user_id == "name:王老师"
    scanned = [r for r in records if isinstance(r, MemberJoined) and r.how == JoinHow.scanned]
    assert scanned[0].platform_user_id == "name:小孙"
    assert any(isinstance(r, MessageRecalled) for r in records)


def test_wechat_gbk_file() -> None:
    items, _ = read_all("wechat_csv", CHAT / "wechat" / "gbk.csv")
    (record,) = [i for _, i in items]
    assert isinstance(record, MessagePosted) and record.text == "你好世界"


def test_irc_log() -> None:
    path = CHAT / "irc" / "2004-11-15_03.raw.txt"
    items, _ = read_all("irc", path, ReadOptions(filename=path.name, timezone="UTC"))
    records = [i for _, i in items]
    assert not [r for r in records if isinstance(r, Skip)]
    messages = [r for r in records if isinstance(r, MessagePosted)]
    assert len(messages) > 700
    assert any(isinstance(r, MemberJoined) for r in records)
    assert any(isinstance(r, MemberLeft) for r in records)
    assert any(isinstance(r, NicknameChanged) for r in records)
    first = messages[0]
    assert first.platform == "irc" and first.platform_user_id == "|trey|"
    assert first.platform_record_id == "#2004-11-15_03:2004-11-15_03.raw.txt:1"
    # The date comes from the file name.
    assert first.occurred_at.date().isoformat() == "2004-11-15"
    replies = [m for m in messages if m.reply_to]
    assert len(replies) > 50
    # Line 3 "|trey|, top in the list" answers |trey|'s line 1.
    assert messages[2].reply_to == "2004-11-15_03.raw.txt:1"


def test_irc_time_going_back_means_the_next_day(tmp_path: Path) -> None:
    path = tmp_path / "2024-02-28.log"
    path.write_text("[23:59] <a> late\n[00:01] <b> early\ngarbage line\n", encoding="utf-8")
    items, _ = read_all("irc", path, ReadOptions(filename=path.name, timezone="UTC"))
    first, second, skip = (i for _, i in items)
    assert first.occurred_at.date().isoformat() == "2024-02-28"
    assert second.occurred_at.date().isoformat() == "2024-02-29"
    assert isinstance(skip, Skip) and skip.reason == "import.skip.irc_unrecognised"
