"""The starter rule categories shipped in qunyun/moderation/data (see SOURCES.md there)."""

from __future__ import annotations

from pathlib import Path

from qunyun.moderation.text.matcher import Category
from qunyun.moderation.text.words import load_word_file

__all__ = ["DATA_DIR", "starter_categories"]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def starter_categories() -> dict[str, Category]:
    """``ads``: advertising words and every contact detector; ``contact``: words that ask
    to be added elsewhere (微信, QQ ...). Both from the curated lists."""
    return {
        "ads": Category(
            words=load_word_file(DATA_DIR / "ads.txt", "ads"),
            detectors=frozenset({"phone", "wechat_id", "qq", "url", "card", "qr"}),
        ),
        "contact": Category(words=load_word_file(DATA_DIR / "contact.txt", "contact")),
    }
