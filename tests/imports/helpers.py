"""Shared bits of the import tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qunyun.imports.readers import Reader, ReadOptions, open_reader

CHAT = Path(__file__).resolve().parents[1] / "fixtures" / "chat"


def read_all(
    fmt: str,
    path: Path,
    options: ReadOptions | None = None,
    checkpoint: dict[str, Any] | None = None,
) -> tuple[list[tuple[int | None, Any]], Reader]:
    reader = open_reader(fmt, path, options or ReadOptions(filename=path.name), checkpoint)
    return list(reader), reader


def generate_qq(path: Path, messages: int, *, group: str = "12345") -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(f"消息分组:我的群聊\n{'=' * 64}\n消息对象:测试群({group})\n{'=' * 64}\n\n")
        for i in range(messages):
            fh.write(
                f"2024-01-{1 + i // 86400 % 28:02d} {(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:"
                f"{i % 60:02d} 成员{i % 97}({20000 + i % 97})\n消息 {i}\n\n"
            )
