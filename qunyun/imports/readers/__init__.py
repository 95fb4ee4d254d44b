"""Import adapters: each turns one export format into stream records, streaming.

The wire formats of exports live here and nowhere else (the issue's "platform formats
stay in adapters"; these are the adapters for files, as ``qunyun/platforms`` holds the
live ones).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qunyun.imports.readers.base import UTF8, Item, Reader, ReadOptions, Skip, sniff_encoding
from qunyun.imports.readers.irc import IrcReader, parse_line
from qunyun.imports.readers.qq import QqTextReader, parse_header
from qunyun.imports.readers.telegram import TelegramJsonReader
from qunyun.imports.readers.wechat import REQUIRED, WeChatCsvReader

__all__ = [
    "FORMATS",
    "PLATFORMS",
    "Item",
    "ReadOptions",
    "Reader",
    "Skip",
    "detect_format",
    "open_reader",
]

ReaderFactory = Callable[[Path, ReadOptions, "dict[str, Any] | None"], Reader]

FORMATS: dict[str, ReaderFactory] = {
    "telegram_json": TelegramJsonReader,
    "qq_text": QqTextReader,
    "wechat_csv": WeChatCsvReader,
    "irc": IrcReader,
}
# The platform each format's records are on (a target group must be on it).
PLATFORMS = {"telegram_json": "telegram", "qq_text": "qq", "wechat_csv": "wechat", "irc": "irc"}
SNIFF_BYTES = 65536


def open_reader(
    fmt: str, path: Path, options: ReadOptions, checkpoint: dict[str, Any] | None = None
) -> Reader:
    return FORMATS[fmt](path, options, checkpoint)


def detect_format(path: Path) -> str | None:
    """The format of an export from its first 64 KiB, or ``None``."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    encoding = sniff_encoding(head)
    text = head.decode(encoding if encoding != UTF8 else "utf-8-sig", errors="ignore")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return "telegram_json" if _looks_like_telegram(stripped) else None
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return None
    if all(column in lines[0] for column in REQUIRED):
        return "wechat_csv"
    if any(
        line.startswith(("消息分组:", "消息对象:", "消息分组：", "消息对象：")) for line in lines
    ) or any(parse_header(line) for line in lines):
        return "qq_text"
    recognised = [parse_line(line) for line in lines]
    if sum(1 for p in recognised if p is not None and p.kind != "blank") >= max(1, len(lines) // 2):
        return "irc"
    return None


def _looks_like_telegram(text: str) -> bool:
    try:
        json.loads(text)
        complete = True
    except ValueError:
        complete = False
    head = text[:4096]
    if complete:
        return '"messages"' in text or '"chats"' in text
    return '"messages"' in head or '"chats"' in head or '"about"' in head
