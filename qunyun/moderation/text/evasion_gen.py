"""Generate the evasion test set: every technique the normaliser claims to undo, applied to
advertising messages of the corpus. ``python -m qunyun.moderation.text.evasion_gen IN OUT``."""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

from opencc import OpenCC

from qunyun.moderation.text.corpus import read_labelled

__all__ = ["TECHNIQUES", "evade", "main"]

_FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in map(chr, range(0x21, 0x7F))}
_CIRCLED = {chr(ord("a") + i): chr(0x24D0 + i) for i in range(26)}
_CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}
_DIGIT_FORMS = [
    "⓿①②③④⑤⑥⑦⑧⑨",
    "⁰¹²³⁴⁵⁶⁷⁸⁹",
    "洞幺二三四五六七八九",
    "零壹贰叁肆伍陆柒捌玖",
    "⓪❶❷❸❹❺❻❼❽❾",
]
_SEPARATORS = [".", " ", "🌸", "·", "_", "✨", "-"]
_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
_T2S = OpenCC("s2t")


def _map(table: dict[str, str]) -> Callable[[str, random.Random], str]:
    return lambda text, _rng: "".join(table.get(c, c) for c in text)


def _digits(text: str, rng: random.Random) -> str:
    forms = rng.choice(_DIGIT_FORMS)
    return "".join(forms[int(c)] if c.isascii() and c.isdigit() else c for c in text)


def _separate(text: str, rng: random.Random) -> str:
    sep = rng.choice(_SEPARATORS)
    return sep.join(text)


def _invisible(text: str, rng: random.Random) -> str:
    return "".join(c + rng.choice(_INVISIBLE) for c in text)


def _case(text: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text)


def _traditional(text: str, _rng: random.Random) -> str:
    return str(_T2S.convert(text))


def _pinyin_contact(text: str, rng: random.Random) -> str:
    spelled = rng.choice(["加vx", "加weixin", "加威信", "加薇信", "加扣扣", "加 V 信", "+wx"])
    return text + f" {spelled}: abc_{rng.randint(1000, 9999)}x"


TECHNIQUES: dict[str, Callable[[str, random.Random], str]] = {
    "full_width": _map(_FULL_WIDTH),
    "circled": _map(_CIRCLED),
    "confusables": _map(_CYRILLIC),
    "invisible": _invisible,
    "separators": _separate,
    "case": _case,
    "traditional": _traditional,
    "digit_forms": _digits,
    "pinyin_contact": _pinyin_contact,
}


def evade(text: str, technique: str, rng: random.Random) -> str:
    return TECHNIQUES[technique](text, rng)


def main(argv: list[str]) -> None:
    source, target = Path(argv[0]), Path(argv[1])
    rng = random.Random(5)  # noqa: S311 - a reproducible test set, not secrets
    ads = [text for text, is_ad in read_labelled(source) if is_ad and len(text) <= 200]
    with target.open("w", encoding="utf-8") as out:
        for text in ads:
            for technique in TECHNIQUES:
                row = {"technique": technique, "source": text, "text": evade(text, technique, rng)}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
