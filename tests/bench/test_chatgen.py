"""The synthetic chat generator behind the chat benchmarks: deterministic and realistic."""

from __future__ import annotations

import json
import re
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

from bench.chatgen import (
    ChatConfig,
    ChatEvent,
    events,
    group_streams,
    onebot_events,
    records,
    write_qq_text,
    write_telegram_json,
)
from qunyun.stream.records import MemberJoined, MemberLeft, MessageKind, MessagePosted

CFG = ChatConfig(seed=3, groups=12, events=20_000, days=10)


@pytest.fixture(scope="module")
def stream() -> list[ChatEvent]:
    return list(events(CFG))


def test_same_seed_same_chat_other_seed_other_chat(stream: list[ChatEvent]) -> None:
    assert list(events(CFG)) == stream
    other = list(events(ChatConfig(seed=4, groups=12, events=20_000, days=10)))
    assert other != stream


def test_merged_stream_is_time_ordered_and_holds_every_group_event(
    stream: list[ChatEvent],
) -> None:
    assert len(stream) == CFG.events
    assert all(a.ts <= b.ts for a, b in pairwise(stream))
    by_group = [e for _, s in group_streams(CFG) for e in s]
    assert Counter(by_group) == Counter(stream)


def test_proportions(stream: list[ChatEvent]) -> None:
    kinds = Counter(e.kind for e in stream)
    churn = (kinds["join"] + kinds["leave"]) / len(stream)
    assert 0.01 <= churn <= 0.02
    assert 0 < kinds["nick"] / len(stream) < 0.01
    messages = [e for e in stream if e.kind == "message"]
    mix = Counter(e.message_kind for e in messages)
    assert 0.7 < mix[MessageKind.text] / len(messages) < 0.85
    assert {MessageKind.image, MessageKind.sticker, MessageKind.link, MessageKind.voice} <= set(mix)
    replies = sum(e.reply_to is not None for e in messages) / len(messages)
    assert 0.1 < replies < 0.2
    assert 0.01 < sum(bool(e.mentions) for e in messages) / len(messages) < 0.1
    assert 0 < sum(e.mention_all for e in messages) < len(messages) * 0.005
    assert any(re.search(r"[a-z]", e.text) for e in messages)
    assert any(re.search(r"[\u4e00-\u9fff]", e.text) for e in messages)


def test_heavy_tailed_speakers_and_groups(stream: list[ChatEvent]) -> None:
    speakers = Counter(e.user for e in stream if e.kind == "message")
    top = sum(n for _, n in speakers.most_common(len(speakers) // 10))
    assert top / sum(speakers.values()) > 0.4  # the top tenth says most of it
    sizes = sorted(CFG.group_events(), reverse=True)
    assert sum(sizes) == CFG.events
    assert sizes[0] > 3 * sizes[-1]


def test_diurnal_curve_and_bursts(stream: list[ChatEvent]) -> None:
    hours = Counter((e.ts // 3600 + 8) % 24 for e in stream)
    assert hours[21] > 5 * hours[4]
    # Within a group most messages follow the previous one within a minute.
    gaps: list[int] = []
    for _, s in group_streams(CFG):
        items = list(s)
        gaps += [b.ts - a.ts for a, b in pairwise(items)]
    assert sum(g <= 60 for g in gaps) / len(gaps) > 0.6
    assert max(gaps) > 3600


def test_replies_point_back_in_the_same_group(stream: list[ChatEvent]) -> None:
    for e in stream:
        if e.reply_to is not None:
            assert 0 < e.reply_to < e.seq


def test_records_match_events() -> None:
    small = ChatConfig(seed=1, groups=3, events=2_000)
    recs = list(records(small))
    assert len(recs) == 2_000
    assert len({r.platform_record_id for r in recs}) == 2_000
    posted = [r for r in recs if isinstance(r, MessagePosted)]
    assert posted and all(r.platform == "qq" and r.message_id for r in posted)
    assert any(isinstance(r, MemberJoined) for r in recs)
    assert any(isinstance(r, MemberLeft) for r in recs)


def test_qq_text_export(tmp_path: Path) -> None:
    small = ChatConfig(seed=1, groups=3, events=2_000)
    path = tmp_path / "qq.txt"
    counts = write_qq_text(path, small)
    text = path.read_text(encoding="utf-8")
    headers = re.findall(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d .+\((\d+)\)$", text, re.M)
    assert len(headers) == sum(counts.values()) == 2_000
    assert text.count("消息对象:") == 3
    assert headers.count("10000") == counts["join"] + counts["leave"] + counts["nick"]


def test_telegram_json_export(tmp_path: Path) -> None:
    small = ChatConfig(seed=1, groups=3, events=2_000)
    path = tmp_path / "result.json"
    counts = write_telegram_json(path, small)
    data = json.loads(path.read_text(encoding="utf-8"))
    chats = data["chats"]["list"]
    assert len(chats) == 3
    messages = [m for c in chats for m in c["messages"]]
    assert len(messages) == 2_000 - counts["nick_not_written"]
    assert sum(m["type"] == "service" for m in messages) == counts["join"] + counts["leave"]
    assert any(isinstance(m["text"], list) for m in messages)
    assert all(m["date_unixtime"].isdigit() for m in messages)


def test_onebot_events_are_v11_group_events() -> None:
    small = ChatConfig(seed=1, groups=3, events=2_000)
    evs = list(onebot_events(small))
    msgs = [e for e in evs if e["post_type"] == "message"]
    assert len({e["message_id"] for e in msgs}) == len(msgs)
    assert all(
        e["message_type"] == "group" and isinstance(e["group_id"], int) and e["sender"]
        for e in msgs
    )
    assert any("[CQ:reply,id=" in e["message"] for e in msgs)
    assert any("[CQ:at,qq=" in e["message"] for e in msgs)
    notices = {e["notice_type"] for e in evs if e["post_type"] == "notice"}
    assert {"group_increase", "group_decrease"} <= notices
