"""Read the labelled QQ-group corpus (`text==label` lines) used for quality numbers."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_labelled", "read_lines"]


def read_labelled(path: Path) -> list[tuple[str, bool]]:
    """(text, is_ad) pairs; lines whose label is not 0 or 1 are skipped."""
    pairs: list[tuple[str, bool]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, sep, label = line.rpartition("==")
        if sep and label.strip() in ("0", "1") and text.strip():
            pairs.append((text, label.strip() == "1"))
    return pairs


def read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
