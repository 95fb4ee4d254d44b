"""QQ message-manager text exports (消息管理器 → 导出为 .txt).

::

    消息分组:我的群聊
    ================================================================
    消息对象:周末跑团(123456789)
    ================================================================

    2024-01-01 12:00:00 老王(10001)
    早上好

    2024-01-01 12:00:05 小李<li@example.com>
    第一行
    第二行

A header line is a date, a time and a sender: ``昵称(QQ号)`` or ``昵称<email>``; the
text lines up to the next header are the message. Ids: platform ``qq``; the group is
the target group's id, else the number in ``消息对象:…(number)``, else
``name:<消息对象>``, else ``export:<file key>``. QQ gives messages no ids, so a record's
id is a hash of (group, time, sender, text, how many identical messages came before it
in the same second). Times are local (the ``timezone`` option). Files are UTF-8 or GBK.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qunyun.imports.readers.base import (
    Item,
    ReadOptions,
    Skip,
    decode_line,
    excerpt,
    file_encoding,
    raw_excerpt,
    skip_bom,
)
from qunyun.stream.records import MessageKind, MessagePosted, UnknownPayload

PLATFORM = "qq"
_HEADER = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2}) ")
SYSTEM_SENDER = "10000"
_KINDS = {
    "[图片]": MessageKind.image,
    "[表情]": MessageKind.sticker,
    "[语音]": MessageKind.voice,
    "[视频]": MessageKind.video,
    "[文件]": MessageKind.file,
}


def parse_sender(rest: str) -> tuple[str, str] | None:
    """``昵称(123456)`` or ``昵称<a@b>`` → (name, id); no regex, so no backtracking."""
    rest = rest.rstrip()
    if rest.endswith(")"):
        start = rest.rfind("(")
        uid = rest[start + 1 : -1]
        if start >= 0 and uid.isdigit() and uid.isascii():
            return rest[:start], uid
    elif rest.endswith(">"):
        start = rest.rfind("<")
        uid = rest[start + 1 : -1]
        if start >= 0 and "@" in uid and " " not in uid:
            return rest[:start], uid
    return None


def parse_header(line: str) -> tuple[str, str, str] | None:
    """``2024-01-01 12:00:00 昵称(123)`` → (timestamp text, name, id)."""
    found = _HEADER.match(line)
    if found is None:
        return None
    sender = parse_sender(line[found.end() :])
    if sender is None:
        return None
    return line[: found.end() - 1], sender[0], sender[1]


def _group_of(title: str) -> tuple[str, str]:
    """``周末跑团(123456789)`` → ("123456789", "周末跑团"); else ("name:周末跑团", ...)."""
    title = title.strip()
    sender = parse_sender(title)
    if sender is not None and sender[1].isdigit():
        return sender[1], sender[0].strip() or sender[1]
    return f"name:{title}"[:120], title


class QqTextReader:
    def __init__(
        self, path: Path, options: ReadOptions, checkpoint: dict[str, Any] | None = None
    ) -> None:
        self.path = path
        self.options = options
        self._zone = options.zone
        state = checkpoint or {}
        self._offset = int(state.get("offset", -1))
        self._line = int(state.get("line", 0))
        self._group = state.get("group")
        self._group_name = state.get("group_name")
        self._second = str(state.get("second", ""))
        self._seen: dict[str, int] = dict(state.get("seen", {}))
        self._stamp = ""
        self._stamp_value: datetime | None = None

    def checkpoint(self) -> dict[str, Any]:
        return {
            "offset": self._offset,
            "line": self._line,
            "group": self._group,
            "group_name": self._group_name,
            "second": self._second,
            "seen": dict(self._seen),
        }

    def _group_id(self) -> tuple[str, str | None]:
        if self.options.platform_group_id:
            return self.options.platform_group_id, self.options.group_name
        if self._group:
            return str(self._group), self._group_name
        return f"export:{self.options.file_key or Path(self.options.filename).name}", None

    def __iter__(self) -> Iterator[tuple[int | None, Item]]:
        with self.path.open("rb") as fh:
            encoding = file_encoding(fh)
            if self._offset < 0:
                self._offset = skip_bom(fh)
            fh.seek(self._offset)
            offset, number = self._offset, self._line
            # The message being read: header line number, (time, name, id), text lines.
            pending: tuple[int, tuple[str, str, str], list[str]] | None = None
            held: list[Skip] = []
            for raw in fh:
                start = offset
                offset += len(raw)
                number += 1
                text = decode_line(raw, encoding)
                if text is None:
                    skip = Skip(number, "import.skip.encoding", raw_excerpt(raw))
                    if pending is None:
                        self._offset, self._line = offset, number
                        yield offset, skip
                    else:
                        held.append(skip)
                    continue
                text = text.rstrip("\r\n")
                header = parse_header(text) if text[:1].isdigit() else None
                section = text.startswith(
                    ("消息分组:", "消息对象:", "消息分组：", "消息对象：")
                ) or (text.startswith("====") and not text.strip("="))
                if pending is not None and (header is not None or section):
                    # Resume here: this line is read again after a restart.
                    yield from self._emit(pending, held, start, number - 1)
                    pending, held = None, []
                if header is not None:
                    pending = (number, header, [])
                    continue
                if pending is not None:
                    pending[2].append(text)
                    continue
                if text.startswith(("消息对象:", "消息对象：")):
                    self._group, self._group_name = _group_of(text[5:])
                    self._second, self._seen = "", {}
                elif text.strip() and not section and self._group is not None:
                    # Text outside any message (the title line before the first section is fine).
                    self._offset, self._line = offset, number
                    yield offset, Skip(number, "import.skip.qq_orphan_text", excerpt(text))
                    continue
                self._offset, self._line = offset, number
            if pending is not None:
                yield from self._emit(pending, held, offset, number)

    def _emit(
        self,
        pending: tuple[int, tuple[str, str, str], list[str]],
        held: list[Skip],
        offset: int,
        number: int,
    ) -> Iterator[tuple[int | None, Item]]:
        line, (stamp, name, uid), lines = pending
        while lines and not lines[-1].strip():
            lines.pop()
        body = "\n".join(lines)
        item = self._record(line, stamp, name, uid, body)
        for skip in held:
            yield None, skip
        self._offset, self._line = offset, number
        yield offset, item

    def _time(self, stamp: str) -> datetime | None:
        if stamp == self._stamp:
            return self._stamp_value
        found = _HEADER.match(stamp + " ")
        try:
            assert found is not None
            year, month, day, hour, minute, second = (int(g) for g in found.groups())
            local = datetime(year, month, day, hour, minute, second, tzinfo=self._zone)
        except (AssertionError, ValueError):
            return None
        self._stamp, self._stamp_value = stamp, local.astimezone(UTC)
        return self._stamp_value

    def _record(self, line: int, stamp: str, name: str, uid: str, body: str) -> Item:
        at = self._time(stamp)
        if at is None:
            return Skip(line, "import.skip.bad_time", excerpt(stamp))
        group, group_name = self._group_id()
        if stamp != self._second:
            self._second, self._seen = stamp, {}
        base = hashlib.blake2b(
            "\0".join((group, stamp, uid, body)).encode(), digest_size=12
        ).hexdigest()
        ordinal = self._seen.get(base, 0)
        self._seen[base] = ordinal + 1
        record_id = base if ordinal == 0 else f"{base}.{ordinal}"
        if uid == SYSTEM_SENDER:
            return UnknownPayload(
                platform=PLATFORM,
                platform_record_id=record_id,
                platform_group_id=group,
                group_name=group_name,
                occurred_at=at,
                reason="qq system message",
                raw={"text": body, "name": name},
            )
        name = name.strip()
        return MessagePosted(
            platform=PLATFORM,
            platform_record_id=record_id,
            platform_group_id=group,
            group_name=group_name,
            occurred_at=at,
            platform_user_id=uid,
            user_name=name or uid,
            message_id=record_id,
            text=body,
            message_kind=_KINDS.get(body.strip(), MessageKind.text)
            if len(body) < 8
            else MessageKind.text,
            nickname=name or None,
        )
