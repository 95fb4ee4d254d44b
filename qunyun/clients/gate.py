"""A regular expression behind a cheap substring test.

Python's ``re`` tries every branch of a long alternation at every position of the
string, which costs hundreds of microseconds per User-Agent. Most rules are only worth
running when one of a few words is present, and ``word in text`` is nearly free, so each
costly pattern is paired with the lower-case words that any match must contain.
tests/clients/test_gate.py checks that promise against every corpus string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Gated:
    pattern: re.Pattern[str]
    # Lower-case substrings; every match of ``pattern`` contains at least one of them.
    words: tuple[str, ...]

    def opens(self, lowered: str) -> bool:
        # A plain loop: twice as fast as any() over a generator expression.
        for word in self.words:  # noqa: SIM110
            if word in lowered:
                return True
        return False

    def search(self, ua: str, lowered: str) -> re.Match[str] | None:
        """``pattern.search(ua)``, skipped when none of the words is in ``lowered``."""
        if not self.opens(lowered):
            return None
        return self.pattern.search(ua)


def gated(pattern: str, words: str, flags: int = re.I) -> Gated:
    """``words`` is a space-separated list; ``~`` stands for a space inside a word.

    Patterns are ASCII-only, so that case-insensitive matching agrees with ``str.lower``
    (under Unicode rules ``s`` would also match the long s, which lowers to itself).
    """
    return Gated(
        re.compile(pattern, flags | re.ASCII), tuple(w.replace("~", " ") for w in words.split())
    )


def any_word(rules: tuple[Gated, ...]) -> Gated:
    """One gate for a whole group of rules: when it stays shut, none of them can match."""
    words = tuple(dict.fromkeys(word for rule in rules for word in rule.words))
    return Gated(re.compile(r"(?!)"), words)
