"""What every reader yields, and the byte-level helpers the text readers share. Pure.

A reader is an iterator of ``(offset, item)``: ``item`` is a stream record or a
:class:`Skip`; ``offset`` is the number of bytes of the file consumed once that item is
handled, or ``None`` when the item shares its line with items still to come. Only after
an item with an offset does ``reader.checkpoint()`` describe a place to resume from, so a
runner commits only there. Keeping the full state behind a method (instead of a dict per
item) costs nothing per record.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Protocol
from zoneinfo import ZoneInfo

from qunyun.stream.records import Record

SKIP_TEXT_LIMIT = 200
# File encodings the Chinese desktop tools write: UTF-8 (with or without BOM) or GBK.
UTF8 = "utf-8"
GBK = "gb18030"


@dataclass(frozen=True, slots=True)
class Skip:
    """A line (or JSON message) not imported: where, why (a message key), what it said."""

    line: int
    reason: str
    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason, "text": self.text[:SKIP_TEXT_LIMIT]}


Item = Record | Skip


@dataclass(frozen=True)
class ReadOptions:
    """What a reader needs besides the file."""

    filename: str
    # The group every record goes to (the job's target group), overriding the file's own.
    platform_group_id: str | None = None
    group_name: str | None = None
    # Local time of exports whose times carry no zone.
    timezone: str = "Asia/Shanghai"
    # A short stable key of the file's content, for ids when the file names no group.
    file_key: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Reader(Protocol):
    def __iter__(self) -> Iterator[tuple[int | None, Item]]: ...

    def checkpoint(self) -> dict[str, Any]: ...


def excerpt(text: str) -> str:
    return text[:SKIP_TEXT_LIMIT]


def raw_excerpt(data: bytes) -> str:
    return data[:SKIP_TEXT_LIMIT].decode(UTF8, errors="replace").rstrip("\r\n")


def sniff_encoding(head: bytes) -> str:
    """UTF-8 unless the start of the file is not UTF-8 but is GBK."""
    head = head.removeprefix(codecs.BOM_UTF8)
    decoder = codecs.getincrementaldecoder(UTF8)()
    try:
        decoder.decode(head, final=False)  # a character cut at the end is fine
        return UTF8
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder(GBK)().decode(head, final=False)
        return GBK
    except UnicodeDecodeError:
        return UTF8


def decode_line(raw: bytes, encoding: str) -> str | None:
    """The line in the file's encoding, else in the other one, else ``None``."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode(GBK if encoding == UTF8 else UTF8)
    except UnicodeDecodeError:
        return None


def file_encoding(fh: IO[bytes]) -> str:
    at = fh.tell()
    fh.seek(0)
    head = fh.read(65536)
    fh.seek(at)
    return sniff_encoding(head)


def skip_bom(fh: IO[bytes]) -> int:
    """Step over a UTF-8 byte-order mark at the start; returns the bytes stepped over."""
    fh.seek(0)
    if fh.read(3) == codecs.BOM_UTF8:
        return 3
    fh.seek(0)
    return 0


def local_time(value: datetime, zone: ZoneInfo) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)
