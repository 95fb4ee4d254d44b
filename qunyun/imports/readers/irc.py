"""IRC logs: ``[HH:MM] <nick> text``, ``* nick action``, and ``===`` / ``-!-`` lines for
joins, parts, quits and nick changes (irssi's and the Ubuntu IRC logs' styles).

Ids: platform ``irc``; the group is the channel (the target group's id, the ``channel``
option, else ``#`` and the file's stem); a record is ``<channel>:<file name>:<line>``, so
the same file imported twice (under the same name) lands on the same ids. Times are
minutes of a day: the date comes from ``--- Day changed`` / ``--- Log opened`` lines,
else the ``date`` option (the file name's ``YYYY-MM-DD`` by default); a time earlier
than the one before it means the next day. Reply-to is inferred from address prefixes
(:mod:`qunyun.imports.irc_replies`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from qunyun.imports.irc_replies import ReplyTracker
from qunyun.imports.readers.base import (
    Item,
    ReadOptions,
    Skip,
    decode_line,
    excerpt,
    raw_excerpt,
)
from qunyun.stream.records import (
    JoinHow,
    LeaveHow,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    NicknameChanged,
    Record,
)

PLATFORM = "irc"
_CLOCK = re.compile(r"(\d{1,2}):(\d{1,2})(?::\d{1,2})?")
_DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DAY_CHANGED = re.compile(r"--- Day changed \w+ (\w+) (\d{1,2}) (\d{4})")
_LOG_OPENED = re.compile(r"--- Log opened \w+ (\w+) (\d{1,2}) [\d:]+ (\d{4})")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}


class IrcLine(NamedTuple):
    # "message", "action", "join", "leave", "quit", "nick", "date", "blank"
    kind: str
    minute: int | None = None  # minutes since midnight, when the line has a time
    nick: str = ""
    text: str = ""  # the message, the new nick, or an ISO date


def _clock(stamp: str) -> int | None:
    found = _CLOCK.fullmatch(stamp)
    if found is None:
        return None
    hours, minutes = int(found.group(1)), int(found.group(2))
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def _event(body: str, minute: int | None) -> IrcLine | None:
    """``nick [host] has joined #chan`` and friends (after ``===`` or ``-!-``)."""
    if " is now known as " in body:
        old, _, new = body.partition(" is now known as ")
        if old and new and " " not in old.strip():
            return IrcLine("nick", minute, old.strip(), new.strip().split(" ", 1)[0])
    nick, _, rest = body.partition(" ")
    if not nick:
        return None
    if rest.startswith("[") and "]" in rest:
        rest = rest[rest.index("]") + 1 :].lstrip()
        if rest.startswith("has joined"):
            return IrcLine("join", minute, nick)
        if rest.startswith("has left"):
            return IrcLine("leave", minute, nick)
        if rest.startswith("has quit"):
            return IrcLine("quit", minute, nick)
    # "=== nick does something": an action written by the logger.
    return IrcLine("action", minute, nick, rest)


def parse_line(line: str) -> IrcLine | None:
    """One log line; ``None`` when it is none of the known shapes."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return IrcLine("blank")
    minute: int | None = None
    body = line
    if line.startswith("["):
        close = line.find("]", 1, 11)
        if close < 0:
            return None
        minute = _clock(line[1:close])
        if minute is None:
            return None
        body = line[close + 1 :].lstrip(" ")
    if body.startswith("<"):
        close = body.find(">", 1)
        if close <= 1:
            return None
        nick = body[1:close].lstrip("@+%~& ")
        if not nick:
            return None
        return IrcLine("message", minute, nick, body[close + 1 :].removeprefix(" "))
    if body.startswith("* "):
        nick, _, text = body[2:].partition(" ")
        return IrcLine("action", minute, nick, text) if nick else None
    for marker in ("=== ", "-!- "):
        if body.startswith(marker):
            return _event(body[len(marker) :], minute)
    if body.startswith("--- "):
        found = _DAY_CHANGED.match(body) or _LOG_OPENED.match(body)
        if found and found.group(1)[:3].lower() in _MONTHS:
            month = _MONTHS[found.group(1)[:3].lower()]
            try:
                day = date(int(found.group(3)), month, int(found.group(2)))
            except ValueError:
                return None
            return IrcLine("date", None, "", day.isoformat())
        return IrcLine("blank")
    return None


def default_date(filename: str) -> str | None:
    found = _DATE_IN_NAME.search(filename)
    if not found:
        return None
    try:
        return date(*(int(g) for g in found.groups())).isoformat()
    except ValueError:
        return None


class IrcReader:
    def __init__(
        self, path: Path, options: ReadOptions, checkpoint: dict[str, Any] | None = None
    ) -> None:
        self.path = path
        self.options = options
        name = Path(options.filename).name
        self._name = name[:100]
        self.channel = (
            options.platform_group_id
            or str(options.extra.get("channel") or "")
            or f"#{name.split('.', 1)[0] or name}"
        )[:120]
        start = str(options.extra.get("date") or default_date(name) or "2000-01-01")
        state = checkpoint or {}
        self._offset = int(state.get("offset", 0))
        self._line = int(state.get("line", 0))
        self._day = date.fromisoformat(str(state.get("day", start)))
        self._minute = int(state.get("minute", 0))
        self._replies = ReplyTracker(state.get("replies"))
        self._zone = options.zone
        self._moment_key: tuple[date, int] | None = None
        self._moment_value = datetime.min.replace(tzinfo=UTC)

    def checkpoint(self) -> dict[str, Any]:
        return {
            "offset": self._offset,
            "line": self._line,
            "day": self._day.isoformat(),
            "minute": self._minute,
            "replies": self._replies.state(),
        }

    def _moment(self, minute: int | None) -> datetime:
        if minute is not None:
            if minute < self._minute:
                self._day += timedelta(days=1)
            self._minute = minute
        key = (self._day, self._minute)
        if key != self._moment_key:
            day = self._day
            local = datetime(day.year, day.month, day.day, tzinfo=self._zone)
            self._moment_key = key
            self._moment_value = (local + timedelta(minutes=self._minute)).astimezone(UTC)
        return self._moment_value

    def __iter__(self) -> Iterator[tuple[int | None, Item]]:
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            offset, number = self._offset, self._line
            for raw in fh:
                offset += len(raw)
                number += 1
                text = decode_line(raw, "utf-8")
                item: Item | None
                if text is None:
                    item = Skip(number, "import.skip.encoding", raw_excerpt(raw))
                else:
                    item = self._item(number, text)
                self._offset, self._line = offset, number
                if item is not None:
                    yield offset, item

    def _item(self, number: int, text: str) -> Item | None:
        parsed = parse_line(text)
        if parsed is None:
            return Skip(number, "import.skip.irc_unrecognised", excerpt(text.rstrip("\r\n")))
        if parsed.kind == "blank":
            return None
        if parsed.kind == "date":
            self._day, self._minute = date.fromisoformat(parsed.text), 0
            return None
        at = self._moment(parsed.minute)
        record_id = f"{self.channel}:{self._name}:{number}"
        nick = parsed.nick
        group, group_name = self.channel, self.options.group_name or self.channel
        if parsed.kind in ("message", "action"):
            message_id = f"{self._name}:{number}"
            reply_to = self._replies.observe(nick, message_id, parsed.text)
            return MessagePosted(
                platform=PLATFORM,
                platform_record_id=record_id,
                platform_group_id=group,
                group_name=group_name,
                occurred_at=at,
                platform_user_id=nick,
                user_name=nick,
                message_id=message_id,
                text=parsed.text if parsed.kind == "message" else f"* {parsed.text}",
                reply_to=reply_to,
            )
        common: dict[str, Any] = {
            "platform": PLATFORM,
            "platform_record_id": record_id,
            "platform_group_id": group,
            "group_name": group_name,
            "occurred_at": at,
            "platform_user_id": nick,
            "user_name": nick,
        }
        record: Record
        if parsed.kind == "join":
            record = MemberJoined(**common, how=JoinHow.self)
        elif parsed.kind in ("leave", "quit"):
            record = MemberLeft(**common, how=LeaveHow.left)
        else:
            record = NicknameChanged(**common, old=nick, new=parsed.text)
        return record
