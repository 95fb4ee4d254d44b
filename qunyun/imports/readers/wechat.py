"""WeChat chat exports of the common desktop tools: a CSV with the columns
``localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,
NickName,Sender`` (``MsgSvrID`` too, in some versions).

Ids: platform ``wechat``; the group is the target group's id, else ``TalkerId`` (``…@chatroom``
for groups); a record is ``svr:<MsgSvrID>`` when the export has it, else
``<TalkerId>:<localId>``. The sender is ``Sender`` (their wxid), or the ``self_id`` option
(default ``self``) for the exporter's own messages. ``CreateTime`` (Unix seconds) is the
time; ``StrTime`` (local) when it is missing. System rows (Type 10000) name people only
by display name: joins and recalls become records about ``name:<display name>``.
Quoted fields may span lines; rows are read whole. Files are UTF-8 (BOM or not) or GBK.
"""

from __future__ import annotations

import csv
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
from qunyun.stream.records import (
    JoinHow,
    MemberJoined,
    MessageKind,
    MessagePosted,
    MessageRecalled,
    Record,
    UnknownPayload,
)

PLATFORM = "wechat"
REQUIRED = ("localId", "TalkerId", "Type", "CreateTime", "StrContent")
# A row longer than this is not a chat message but a broken file.
MAX_ROW_BYTES = 4 * 1024 * 1024
_TYPES = {
    "1": MessageKind.text,
    "3": MessageKind.image,
    "34": MessageKind.voice,
    "43": MessageKind.video,
    "47": MessageKind.sticker,
    "42": MessageKind.card,
    "48": MessageKind.other,
}
# Type 49 (app messages): what SubType says.
_APP_SUBTYPES = {
    "5": MessageKind.link,
    "6": MessageKind.file,
    "8": MessageKind.sticker,
    "33": MessageKind.link,
    "36": MessageKind.link,
    "57": MessageKind.text,  # a reply quoting another message
    "2000": MessageKind.red_packet,  # transfer
    "2001": MessageKind.red_packet,
}
_INVITED = re.compile(r"^\"?(.+?)\"?邀请\"?(.+?)\"?加入了群聊")
_SCANNED = re.compile(r"^\"?(.+?)\"?通过扫描\"?(.+?)\"?分享的二维码加入群聊")
_RECALLED = re.compile(r"^\"?(.+?)\"?\s*撤回了一条消息")
_NAME_SEPARATORS = re.compile(r"[、，,]")


def name_id(name: str) -> str:
    return f"name:{name.strip().strip(chr(34))}"[:128]


class WeChatCsvReader:
    def __init__(
        self, path: Path, options: ReadOptions, checkpoint: dict[str, Any] | None = None
    ) -> None:
        self.path = path
        self.options = options
        self._zone = options.zone
        self._self_id = str(options.extra.get("self_id") or "self")
        state = checkpoint or {}
        self._offset = int(state.get("offset", -1))
        self._line = int(state.get("line", 0))
        self._columns: dict[str, int] = {}

    def checkpoint(self) -> dict[str, Any]:
        return {"offset": self._offset, "line": self._line}

    def __iter__(self) -> Iterator[tuple[int | None, Item]]:
        with self.path.open("rb") as fh:
            encoding = file_encoding(fh)
            start = skip_bom(fh)
            header = fh.readline()
            names = next(csv.reader([decode_line(header, encoding) or ""]), [])
            self._columns = {name.strip(): i for i, name in enumerate(names)}
            if any(c not in self._columns for c in REQUIRED):
                yield start + len(header), Skip(1, "import.skip.wechat_header", raw_excerpt(header))
                return
            if self._offset < 0:
                self._offset, self._line = start + len(header), 1
            fh.seek(self._offset)
            offset, number = self._offset, self._line
            row = bytearray()
            row_line = number + 1
            for raw in fh:
                offset += len(raw)
                number += 1
                if not row:
                    row_line = number
                row += raw
                # An odd count of quotes: a quoted field goes on to the next line.
                if row.count(b'"') % 2 and len(row) < MAX_ROW_BYTES:
                    continue
                items = self._items(row_line, bytes(row), encoding)
                row.clear()
                for index, item in enumerate(items):
                    last = index == len(items) - 1
                    if last:
                        self._offset, self._line = offset, number
                    yield (offset if last else None), item
            if row:
                self._offset, self._line = offset, number
                yield (
                    offset,
                    Skip(row_line, "import.skip.wechat_unclosed_quote", raw_excerpt(bytes(row))),
                )

    def _items(self, line: int, raw: bytes, encoding: str) -> list[Item]:
        text = decode_line(raw, encoding)
        if text is None:
            return [Skip(line, "import.skip.encoding", raw_excerpt(raw))]
        if not text.strip():
            return []
        try:
            fields = next(csv.reader([text.rstrip("\r\n")]))
        except (csv.Error, StopIteration):
            return [Skip(line, "import.skip.wechat_bad_row", excerpt(text.rstrip()))]
        if len(fields) < len(self._columns):
            return [Skip(line, "import.skip.wechat_bad_row", excerpt(text.rstrip()))]
        return self._records(line, fields, text)

    def _get(self, fields: list[str], name: str) -> str:
        index = self._columns.get(name)
        return fields[index] if index is not None else ""

    def _time(self, fields: list[str]) -> datetime | None:
        seconds = self._get(fields, "CreateTime").strip()
        if seconds.isdigit():
            value = int(seconds)
            if value > 10**11:  # milliseconds
                value //= 1000
            return datetime.fromtimestamp(value, UTC)
        stamp = self._get(fields, "StrTime").strip()
        try:
            return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=self._zone)
        except ValueError:
            return None

    def _records(self, line: int, fields: list[str], text: str) -> list[Item]:
        at = self._time(fields)
        local_id = self._get(fields, "localId").strip()
        talker = self._get(fields, "TalkerId").strip()
        if at is None:
            return [Skip(line, "import.skip.bad_time", excerpt(text.rstrip()))]
        if not local_id or not talker:
            return [Skip(line, "import.skip.wechat_bad_row", excerpt(text.rstrip()))]
        server_id = self._get(fields, "MsgSvrID").strip()
        record_id = f"svr:{server_id}" if server_id and server_id != "0" else f"{talker}:{local_id}"
        group = self.options.platform_group_id or talker
        kind = self._get(fields, "Type").strip()
        content = self._get(fields, "StrContent")
        common: dict[str, Any] = {
            "platform": PLATFORM,
            "platform_record_id": record_id[:191],
            "platform_group_id": group,
            "group_name": self.options.group_name,
            "occurred_at": at,
        }
        if kind == "10000":
            return self._system(common, content)
        mine = self._get(fields, "IsSender").strip() == "1"
        sender = self._get(fields, "Sender").strip() or (self._self_id if mine else talker)
        name = (self._get(fields, "NickName") or self._get(fields, "Remark")).strip()
        message_kind = _TYPES.get(kind)
        if kind == "49":
            message_kind = _APP_SUBTYPES.get(
                self._get(fields, "SubType").strip(), MessageKind.other
            )
        record: Record = MessagePosted(
            **common,
            platform_user_id=sender,
            user_name=name or None,
            message_id=record_id[:128],
            text=content if message_kind in (MessageKind.text, None) else content[:2000],
            message_kind=message_kind or MessageKind.other,
        )
        return [record]

    def _system(self, common: dict[str, Any], content: str) -> list[Item]:
        text = content.strip()
        base = common["platform_record_id"]
        found = _SCANNED.match(text)
        if found:
            return [
                MemberJoined(
                    **common,
                    platform_user_id=name_id(found.group(1)),
                    user_name=found.group(1).strip('"'),
                    how=JoinHow.scanned,
                    operator_user_id=name_id(found.group(2)),
                )
            ]
        found = _INVITED.match(text)
        if found:
            inviter = found.group(1)
            invited = [n.strip('" ') for n in _NAME_SEPARATORS.split(found.group(2))]
            names = [n for n in invited if n]
            return [
                MemberJoined(
                    **{**common, "platform_record_id": f"{base}#{index}"[:191]},
                    platform_user_id=name_id(name),
                    user_name=name,
                    how=JoinHow.invited,
                    operator_user_id=self._self_id if inviter == "你" else name_id(inviter),
                )
                for index, name in enumerate(names)
            ]
        found = _RECALLED.match(text)
        if found:
            who = found.group(1)
            return [
                MessageRecalled(
                    **common,
                    platform_user_id=self._self_id if who == "你" else name_id(who),
                    user_name=None if who == "你" else who.strip('"'),
                    message_id="",
                )
            ]
        return [UnknownPayload(**common, reason="wechat system message", raw={"text": content})]
