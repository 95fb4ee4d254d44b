"""Realistic synthetic group chat, deterministic for a seed, generated as a stream.

One community of many groups (50 by default) whose sizes and activity follow heavy
tails. Inside a group people speak in bursts (a question and a quick back-and-forth
among a few people), bursts follow a diurnal curve in China time and some days are much
busier than others; a few members do most of the talking (Zipf-like ranks); replies
point at recent messages, @mentions at recent speakers, the owner now and then writes
to @all. About 1–2 % of the events are joins and leaves (a leaver's seat goes to a later
joiner), a few are nickname changes; most messages are text, the rest images,
stickers, links, voice, video and files. Text is drawn from a small built-in list of
Chinese and English phrases.

Every group draws from its own random generator seeded by (seed, group), so a group's
events are the same whether the groups are read one after the other (export files) or
merged in time order (a live stream) — and nothing but the groups' small state is ever
held in memory.

Renderings, all streaming:
- :func:`records` — ``qunyun.stream.records`` objects (platform "qq"), time order;
- :func:`write_qq_text` — a QQ message-manager text export of every group;
- :func:`write_telegram_json` — a Telegram Desktop full-account ``result.json``;
- :func:`onebot_events` — OneBot v11 group message and notice events (JSON dicts).
"""

from __future__ import annotations

import heapq
import json
import random
from bisect import bisect
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from itertools import accumulate, islice
from pathlib import Path
from typing import Any, TextIO

from qunyun.stream.records import (
    JoinHow,
    LeaveHow,
    MemberJoined,
    MemberLeft,
    MessageKind,
    MessagePosted,
    NicknameChanged,
    Record,
)

CHINA = timezone(timedelta(hours=8))
EPOCH = int(datetime(2025, 3, 1, tzinfo=CHINA).timestamp())

# Share of bursts begun in each hour of a China-time day: quiet nights, a lunch peak,
# the evening the busiest.
DIURNAL = (
    3, 2, 1, 1, 1, 1, 2, 5, 9, 12, 13, 14, 16, 13, 11, 11, 12, 12, 14, 18, 22, 24, 20, 10,
)  # fmt: skip
_DIURNAL_MAX = max(DIURNAL)

# Message kinds by share, per 1,000 messages.
KIND_MIX: tuple[tuple[MessageKind, int], ...] = (
    (MessageKind.text, 780),
    (MessageKind.image, 100),
    (MessageKind.sticker, 60),
    (MessageKind.link, 30),
    (MessageKind.voice, 20),
    (MessageKind.video, 5),
    (MessageKind.file, 5),
)
_KINDS = [k for k, _ in KIND_MIX]
_KIND_CUM = list(accumulate(w for _, w in KIND_MIX))

PHRASES_ZH = (
    "大家好", "早上好", "晚上好", "收到", "好的", "谢谢分享", "这个怎么报名", "链接发一下",
    "今天的直播几点开始", "我也想知道", "已经打卡了", "群主辛苦了", "哈哈哈哈", "太厉害了",
    "明天见", "有没有人一起", "资料在群文件里", "请问作业交到哪里", "我晚点看", "同问",
    "这个活动还有名额吗", "周末有空", "刚刚网络不好", "感谢老师", "学到了", "支持一下",
    "可以私聊我", "新人报到", "价格是多少", "已转发", "欢迎新朋友", "记得看公告",
)  # fmt: skip
PHRASES_EN = (
    "hello everyone", "good morning", "thanks for sharing", "see you tomorrow", "got it",
    "where do I sign up", "same question here", "nice work", "I will check later",
    "is the link still valid", "welcome aboard", "what time is the call", "lol",
    "can someone help", "just joined", "agreed", "the slides are in the files",
)  # fmt: skip
LINKS = (
    "https://example.com/camp/spring",
    "https://example.org/notes/week-3",
    "https://weixin.example.cn/s/AbCdEf",
    "https://docs.example.com/guide?page=2",
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红"
_LATIN = ("Alex", "Momo", "Kiki", "Leo", "Nina", "Tony", "Coco", "Sam", "Yuki", "Ben")
_NICK_SUFFIX = ("", "", "", "-运营", "~", "🌸", "(请假)", "_北京", "-上海", "小号")


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """One thing that happened in a group; every rendering starts from these."""

    group: int  # 0-based group index
    seq: int  # 1-based position in the group (its message id there)
    ts: int  # unix seconds
    kind: str  # "message", "join", "leave", "nick"
    user: int  # the speaker, joiner, leaver or renamed member (global user number)
    message_kind: MessageKind = MessageKind.text
    text: str = ""
    reply_to: int | None = None  # seq of the message replied to
    mentions: tuple[int, ...] = ()
    mention_all: bool = False
    how: str = ""  # join: approved|invited|scanned; leave: left|removed
    operator: int | None = None  # inviter or remover
    nickname: str = ""  # the group nickname (current, or the new one for "nick")
    old_nickname: str = ""


@dataclass(frozen=True)
class ChatConfig:
    seed: int = 7
    groups: int = 50
    events: int = 100_000
    days: int = 30
    users: int = 40_000  # the community's people; groups overlap in members
    join_rate: float = 0.008
    leave_rate: float = 0.006
    nick_rate: float = 0.003
    reply_rate: float = 0.15
    mention_rate: float = 0.08
    mention_all_rate: float = 0.001

    def group_events(self) -> list[int]:
        """How many events each group gets: a heavy tail, summing to ``events``."""
        weights = [1.0 / (g + 1) ** 0.8 for g in range(self.groups)]
        rng = random.Random(f"{self.seed}:split")
        rng.shuffle(weights)
        total = sum(weights)
        counts = [int(self.events * w / total) for w in weights]
        for g in range(self.events - sum(counts)):
            counts[g % self.groups] += 1
        return counts


def qq_number(user: int) -> int:
    return 200_000_000 + user * 7 + 3


def qq_group_number(group: int) -> int:
    return 600_000_000 + group * 1009


def telegram_chat_id(group: int) -> int:
    return 1_500_000_000 + group


def onebot_message_id(group: int, seq: int) -> int:
    """Unique across groups and within OneBot's int32 for up to 100 groups."""
    return group * 20_000_000 + seq


@cache
def display_name(user: int) -> str:
    r = random.Random(user)
    if r.random() < 0.2:
        return f"{r.choice(_LATIN)}{r.randint(1, 99)}"
    return r.choice(_SURNAMES) + "".join(r.choices(_GIVEN, k=r.randint(1, 2)))


def group_name(group: int) -> str:
    topics = ("训练营", "读书会", "家长群", "福利群", "交流群", "Study Club", "答疑群", "团购")
    return f"{topics[group % len(topics)]}{group + 1}群"


@dataclass
class _GroupState:
    """What one group's generator remembers: its seats and recent messages."""

    rng: random.Random
    seats: list[int]  # seat rank -> user; rank 0 (the owner) speaks the most
    cum: list[float]  # cumulative Zipf weights of the seats
    vacant: list[int] = field(default_factory=list)
    recent: list[tuple[int, int]] = field(default_factory=list)  # (seq, user), newest last
    nicknames: dict[int, str] = field(default_factory=dict)


def _zipf_cum(n: int, s: float = 1.1) -> list[float]:
    return list(accumulate(1.0 / (r + 1) ** s for r in range(n)))


def _start_state(cfg: ChatConfig, group: int) -> _GroupState:
    rng = random.Random(f"{cfg.seed}:group:{group}")
    size = min(cfg.users, int(40 + 460 * rng.random() ** 2))
    # Members are drawn from the whole community, favouring its early users, so the
    # same people sit in several groups.
    seen: set[int] = set()
    seats: list[int] = []
    while len(seats) < size:
        user = int(cfg.users * rng.random() ** 1.5)
        if user not in seen:
            seen.add(user)
            seats.append(user)
    return _GroupState(rng=rng, seats=seats, cum=_zipf_cum(size))


def _text(rng: random.Random, n_phrases: int) -> str:
    pool = PHRASES_EN if rng.random() < 0.2 else PHRASES_ZH
    sep = " " if pool is PHRASES_EN else "，"
    return sep.join(rng.choice(pool) for _ in range(n_phrases))


def _next_burst_start(rng: random.Random, now: int, rate: float, day_factor: list[float]) -> int:
    # Thinning of a Poisson process whose rate follows the diurnal curve and the day.
    top = _DIURNAL_MAX * max(day_factor)
    while True:
        now += max(1, int(rng.expovariate(rate)))
        local = now - EPOCH
        day = (local // 86_400) % len(day_factor)
        hour = (local // 3600) % 24
        if rng.random() * top < DIURNAL[hour] * day_factor[day]:
            return now


def group_stream(cfg: ChatConfig, group: int, total: int) -> Iterator[ChatEvent]:
    """The ``total`` events of one group, in time order."""
    st = _start_state(cfg, group)
    rng = st.rng
    day_factor = [min(4.0, rng.lognormvariate(0.0, 0.6)) for _ in range(cfg.days)]
    mean_burst = 6.0
    # Bursts per second so that the group's events span about ``cfg.days`` days.
    mean_factor = sum(DIURNAL) / 24 * sum(day_factor) / len(day_factor)
    top = _DIURNAL_MAX * max(day_factor)
    rate = max(total / mean_burst / (cfg.days * 86_400), 1e-7) * top / mean_factor
    now = EPOCH
    seq = 0
    burst_left = 0
    burst_people: list[int] = []

    def speaker() -> int:
        while True:
            rank = bisect(st.cum, rng.random() * st.cum[-1])
            if rank not in st.vacant:
                return rank

    while seq < total:
        seq += 1
        if burst_left == 0:
            now = _next_burst_start(rng, now, rate, day_factor)
            burst_left = 1 + int(rng.expovariate(1 / (mean_burst - 1)))
            burst_people = [speaker() for _ in range(rng.randint(1, 4))]
        else:
            now += 1 + int(rng.expovariate(1 / 12))
        burst_left -= 1
        roll = rng.random()
        if roll < cfg.join_rate:
            yield _join(cfg, st, group, seq, now)
            continue
        roll -= cfg.join_rate
        if roll < cfg.leave_rate:
            event = _leave(st, group, seq, now)
            if event is not None:
                yield event
                continue
        roll -= cfg.leave_rate
        if roll < cfg.nick_rate:
            rank = speaker()
            user = st.seats[rank]
            new = display_name(user) + rng.choice(_NICK_SUFFIX[3:])
            old = st.nicknames.get(user, "")
            st.nicknames[user] = new
            yield ChatEvent(group, seq, now, "nick", user, nickname=new, old_nickname=old)
            continue
        rank = rng.choice(burst_people)
        if rank in st.vacant:
            rank = speaker()
        yield _message(cfg, st, group, seq, now, rank)


def _message(
    cfg: ChatConfig, st: _GroupState, group: int, seq: int, now: int, rank: int
) -> ChatEvent:
    rng = st.rng
    user = st.seats[rank]
    kind = _KINDS[bisect(_KIND_CUM, rng.random() * _KIND_CUM[-1])]
    text = ""
    if kind is MessageKind.text:
        text = _text(rng, 1 + int(rng.expovariate(1.2)))
    elif kind is MessageKind.link:
        text = f"{_text(rng, 1)} {rng.choice(LINKS)}"
    reply_to = None
    mentions: tuple[int, ...] = ()
    mention_all = False
    if st.recent and rng.random() < cfg.reply_rate:
        back = min(len(st.recent), 1 + int(rng.expovariate(0.3)))
        reply_to = st.recent[-back][0]
    if kind is MessageKind.text:
        if rank == 0 and rng.random() < cfg.mention_all_rate * 5:
            mention_all = True
        elif st.recent and rng.random() < cfg.mention_rate:
            other = st.recent[-min(len(st.recent), rng.randint(1, 8))][1]
            if other != user:
                mentions = (other,)
    st.recent.append((seq, user))
    if len(st.recent) > 50:
        del st.recent[:25]
    return ChatEvent(
        group,
        seq,
        now,
        "message",
        user,
        message_kind=kind,
        text=text,
        reply_to=reply_to,
        mentions=mentions,
        mention_all=mention_all,
        nickname=st.nicknames.get(user, ""),
    )


def _join(cfg: ChatConfig, st: _GroupState, group: int, seq: int, now: int) -> ChatEvent:
    rng = st.rng
    user = rng.randrange(cfg.users)
    while user in st.seats:
        user = rng.randrange(cfg.users)
    if st.vacant:
        st.seats[st.vacant.pop()] = user
    else:
        st.seats.append(user)
        st.cum = _zipf_cum(len(st.seats))
    roll = rng.random()
    how, operator = "scanned", None
    if roll < 0.4:
        how, operator = "invited", st.seats[rng.randrange(min(20, len(st.seats)))]
    elif roll < 0.8:
        how, operator = "approved", st.seats[0]
    return ChatEvent(group, seq, now, "join", user, how=how, operator=operator)


def _leave(st: _GroupState, group: int, seq: int, now: int) -> ChatEvent | None:
    rng = st.rng
    if len(st.seats) - len(st.vacant) < 10:
        return None
    rank = rng.randrange(5, len(st.seats))
    if rank in st.vacant:
        return None
    user = st.seats[rank]
    st.vacant.append(rank)
    st.nicknames.pop(user, None)
    st.recent = [r for r in st.recent if r[1] != user]
    if rng.random() < 0.8:
        return ChatEvent(group, seq, now, "leave", user, how="left")
    return ChatEvent(group, seq, now, "leave", user, how="removed", operator=st.seats[0])


def group_streams(cfg: ChatConfig) -> Iterator[tuple[int, Iterator[ChatEvent]]]:
    """Each group with its events, one group after the other (the shape of exports)."""
    for group, total in enumerate(cfg.group_events()):
        yield group, group_stream(cfg, group, total)


def events(cfg: ChatConfig) -> Iterator[ChatEvent]:
    """Every group's events merged in time order (the shape of a live stream)."""
    return heapq.merge(*(stream for _, stream in group_streams(cfg)), key=lambda e: (e.ts, e.group))


# --- stream records -------------------------------------------------------------------


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def to_record(event: ChatEvent) -> Record:
    """The record a OneBot connection would make of ``event`` (platform "qq")."""
    gid = str(qq_group_number(event.group))
    uid = str(qq_number(event.user))
    common: dict[str, Any] = {
        "platform": "qq",
        "platform_group_id": gid,
        "occurred_at": _at(event.ts),
        "platform_user_id": uid,
        "user_name": display_name(event.user),
        "group_name": group_name(event.group),
    }
    if event.kind == "message":
        mid = onebot_message_id(event.group, event.seq)
        return MessagePosted(
            **common,
            platform_record_id=f"msg:{gid}:{mid}",
            message_id=str(mid),
            text=event.text,
            message_kind=event.message_kind,
            mentions=tuple(str(qq_number(u)) for u in event.mentions),
            mention_all=event.mention_all,
            reply_to=(
                str(onebot_message_id(event.group, event.reply_to))
                if event.reply_to is not None
                else None
            ),
            nickname=event.nickname or None,
        )
    operator = str(qq_number(event.operator)) if event.operator is not None else None
    if event.kind == "join":
        return MemberJoined(
            **common,
            platform_record_id=f"join:{gid}:{uid}:{event.ts}",
            how=JoinHow(event.how),
            operator_user_id=operator,
        )
    if event.kind == "leave":
        return MemberLeft(
            **common,
            platform_record_id=f"leave:{gid}:{uid}:{event.ts}",
            how=LeaveHow(event.how),
            operator_user_id=operator,
        )
    return NicknameChanged(
        **common,
        platform_record_id=f"card:{gid}:{uid}:{event.ts}",
        old=event.old_nickname or None,
        new=event.nickname,
    )


def records(cfg: ChatConfig) -> Iterator[Record]:
    return (to_record(e) for e in events(cfg))


def chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(islice(items, size)):
        yield batch


# --- QQ message-manager text export ----------------------------------------------------

_QQ_PLACEHOLDER = {
    MessageKind.image: "[图片]",
    MessageKind.sticker: "[表情]",
    MessageKind.voice: "[语音]",
    MessageKind.video: "[视频]",
    MessageKind.file: "[文件]",
}
_RULE = "=" * 64


def _qq_stamp(ts: int) -> str:
    return datetime.fromtimestamp(ts, CHINA).strftime("%Y-%m-%d %H:%M:%S")


def write_qq_text(path: Path, cfg: ChatConfig) -> Counter[str]:
    """Every group as a 消息对象 section of one QQ message-manager export; returns counts.

    QQ's export carries no message ids, replies or joins as data: replies and mentions
    appear as text (``@昵称``), joins and leaves as 系统消息(10000) lines.
    """
    counts: Counter[str] = Counter()
    with path.open("w", encoding="utf-8", newline="\r\n") as out:
        out.write("消息记录（此消息记录为文本格式，不支持重新导入）\n\n")
        out.write(f"{_RULE}\n消息分组:我的QQ群\n{_RULE}\n")
        for group, stream in group_streams(cfg):
            out.write(
                f"{_RULE}\n消息对象:{group_name(group)}({qq_group_number(group)})\n{_RULE}\n\n"
            )
            _write_qq_group(out, stream, counts)
    return counts


def _write_qq_group(out: TextIO, stream: Iterator[ChatEvent], counts: Counter[str]) -> None:
    write = out.write
    for e in stream:
        counts[e.kind] += 1
        stamp = _qq_stamp(e.ts)
        if e.kind == "message":
            name = e.nickname or display_name(e.user)
            body = _QQ_PLACEHOLDER.get(e.message_kind, e.text)
            if e.mention_all:
                body = f"@全体成员 {body}"
            elif e.mentions:
                body = f"@{display_name(e.mentions[0])} {body}"
            write(f"{stamp} {name}({qq_number(e.user)})\n{body}\n\n")
            continue
        name = display_name(e.user)
        if e.kind == "join":
            what = f"{name}({qq_number(e.user)})加入了本群"
        elif e.kind == "leave":
            what = f"{name}({qq_number(e.user)})退出了本群"
        else:
            what = f"{e.old_nickname or name}({qq_number(e.user)})修改群名片为{e.nickname}"
        write(f"{stamp} 系统消息(10000)\n{what}\n\n")


# --- Telegram Desktop JSON export ------------------------------------------------------

_TG_MEDIA: dict[MessageKind, dict[str, Any]] = {
    MessageKind.image: {"photo": "photos/photo_{n}@01-03-2025_10-00-00.jpg", "width": 1280,
                        "height": 960},
    MessageKind.sticker: {"file": "stickers/sticker_{n}.webp", "media_type": "sticker",
                          "sticker_emoji": "😂", "width": 512, "height": 512},
    MessageKind.voice: {"file": "voice_messages/audio_{n}.ogg", "media_type": "voice_message",
                        "mime_type": "audio/ogg", "duration_seconds": 7},
    MessageKind.video: {"file": "video_files/video_{n}.mp4", "media_type": "video_file",
                        "mime_type": "video/mp4", "duration_seconds": 31},
    MessageKind.file: {"file": "files/notes_{n}.pdf", "mime_type": "application/pdf"},
}  # fmt: skip


def _tg_user(user: int) -> str:
    return f"user{qq_number(user)}"


def _tg_message(e: ChatEvent) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": e.seq,
        "type": "message" if e.kind == "message" else "service",
        "date": datetime.fromtimestamp(e.ts, CHINA).strftime("%Y-%m-%dT%H:%M:%S"),
        "date_unixtime": str(e.ts),
    }
    if e.kind != "message":
        actor = e.operator if e.operator is not None else e.user
        base["actor"] = display_name(actor)
        base["actor_id"] = _tg_user(actor)
        if e.kind == "join" and e.how == "scanned":
            base["action"] = "join_group_by_link"
            base["inviter"] = "Group"
        elif e.kind == "join":
            base["action"] = "invite_members"
            base["members"] = [display_name(e.user)]
        else:
            base["action"] = "remove_members"
            base["members"] = [display_name(e.user)]
        base["text"] = ""
        base["text_entities"] = []
        return base
    base["from"] = display_name(e.user)
    base["from_id"] = _tg_user(e.user)
    if e.reply_to is not None:
        base["reply_to_message_id"] = e.reply_to
    media = _TG_MEDIA.get(e.message_kind)
    if media is not None:
        for key, value in media.items():
            base[key] = value.format(n=e.seq) if isinstance(value, str) else value
    entities: list[dict[str, Any]] = []
    if e.mentions:
        other = e.mentions[0]
        entities.append(
            {"type": "mention_name", "text": display_name(other), "user_id": qq_number(other)}
        )
        entities.append({"type": "plain", "text": " "})
    if e.message_kind is MessageKind.link:
        words, _, url = e.text.rpartition(" ")
        entities.append({"type": "plain", "text": words + " "})
        entities.append({"type": "link", "text": url})
    elif e.text:
        entities.append({"type": "plain", "text": e.text})
    if len(entities) == 1 and entities[0]["type"] == "plain":
        base["text"] = entities[0]["text"]
    else:
        base["text"] = [x["text"] if x["type"] == "plain" else x for x in entities]
    base["text_entities"] = entities
    return base


def write_telegram_json(path: Path, cfg: ChatConfig) -> Counter[str]:
    """Every group as a private supergroup of a full-account ``result.json``.

    Telegram has no group nicknames: "nick" events are not written (counted as such).
    """
    counts: Counter[str] = Counter()
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n "about": "Here is the data you requested from Telegram.",\n')
        out.write(' "chats": {\n  "about": "This page lists all chats from this export.",\n')
        out.write('  "list": [\n')
        for group, stream in group_streams(cfg):
            if group:
                out.write(",\n")
            head = {
                "name": group_name(group),
                "type": "private_supergroup",
                "id": telegram_chat_id(group),
            }
            out.write("   " + dumps(head)[:-1] + ',"messages":[\n')
            first = True
            for e in stream:
                if e.kind == "nick":
                    counts["nick_not_written"] += 1
                    continue
                counts[e.kind] += 1
                out.write(("    " if first else ",\n    ") + dumps(_tg_message(e)))
                first = False
            out.write("\n   ]}")
        out.write("\n  ]\n }\n}\n")
    return counts


# --- OneBot v11 events -----------------------------------------------------------------


def _cq_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")


_CQ_MEDIA = {
    MessageKind.image: "[CQ:image,file=abc{n}.image,url=https://gchat.qpic.cn/gchatpic_new/{n}/0]",
    MessageKind.sticker: "[CQ:face,id=178]",
    MessageKind.voice: "[CQ:record,file=voice{n}.amr]",
    MessageKind.video: "[CQ:video,file=video{n}.mp4]",
    MessageKind.file: "[CQ:file,file=notes{n}.pdf]",
}


def onebot_event(event: ChatEvent, self_id: int = 10_001) -> dict[str, Any]:
    """``event`` as a OneBot v11 event posted by an implementation (message as a CQ string)."""
    gid = qq_group_number(event.group)
    uid = qq_number(event.user)
    base: dict[str, Any] = {"time": event.ts, "self_id": self_id}
    if event.kind == "message":
        parts: list[str] = []
        if event.reply_to is not None:
            parts.append(f"[CQ:reply,id={onebot_message_id(event.group, event.reply_to)}]")
        if event.mention_all:
            parts.append("[CQ:at,qq=all] ")
        for other in event.mentions:
            parts.append(f"[CQ:at,qq={qq_number(other)}] ")
        media = _CQ_MEDIA.get(event.message_kind)
        parts.append(media.format(n=event.seq) if media else _cq_escape(event.text))
        message = "".join(parts)
        return {
            **base,
            "post_type": "message",
            "message_type": "group",
            "sub_type": "normal",
            "message_id": onebot_message_id(event.group, event.seq),
            "group_id": gid,
            "user_id": uid,
            "anonymous": None,
            "message": message,
            "raw_message": message,
            "font": 0,
            "sender": {
                "user_id": uid,
                "nickname": display_name(event.user),
                "card": event.nickname,
                "sex": "unknown",
                "age": 0,
                "area": "",
                "level": "1",
                "role": "member",
                "title": "",
            },
        }
    operator = qq_number(event.operator) if event.operator is not None else uid
    notice: dict[str, Any] = {**base, "post_type": "notice", "group_id": gid, "user_id": uid}
    if event.kind == "join":
        sub = "invite" if event.how == "invited" else "approve"
        return {**notice, "notice_type": "group_increase", "sub_type": sub,
                "operator_id": operator}  # fmt: skip
    if event.kind == "leave":
        sub = "leave" if event.how == "left" else "kick"
        return {**notice, "notice_type": "group_decrease", "sub_type": sub,
                "operator_id": operator}  # fmt: skip
    return {**notice, "notice_type": "group_card", "card_new": event.nickname,
            "card_old": event.old_nickname}  # fmt: skip


def onebot_events(cfg: ChatConfig, self_id: int = 10_001) -> Iterator[dict[str, Any]]:
    return (onebot_event(e, self_id) for e in events(cfg))
