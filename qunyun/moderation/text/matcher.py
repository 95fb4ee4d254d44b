"""The text check: normalise once, then run every category's words (one Aho-Corasick
automaton for all of them), patterns and detectors, reporting spans in the original text.

Patterns are Python `re` regexes run on the compact normalised text (lower case, no spaces,
punctuation or emoji, digits in ASCII), so a rule author writes `加v[0-9]{6}` and it also
catches "加 Ｖ：⑥⑥⑥ ⑥⑥⑥". `safe_regex` refuses shapes that backtrack catastrophically
(nested quantifiers, quantified alternations, backreferences, more than two unbounded
repeats) and patterns longer than `MAX_PATTERN_LENGTH`; patterns see at most
`MAX_PATTERN_INPUT` characters of a message, which bounds the polynomial cases left.
"""

from __future__ import annotations

import re
import re._parser as sre  # type: ignore[import-not-found,unused-ignore]
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from qunyun.moderation.text.detect import (
    CARD_DETECTOR,
    QR_DETECTOR,
    TEXT_DETECTORS,
    Detection,
    detect_card,
    detect_qr,
)
from qunyun.moderation.text.normalize import Normalized, normalize
from qunyun.moderation.text.words import WordEntry, WordList
from qunyun.stream.records import MessageKind

__all__ = [
    "DETECTOR_NAMES",
    "MAX_PATTERN_INPUT",
    "MAX_PATTERN_LENGTH",
    "Category",
    "Match",
    "MatchKind",
    "Matcher",
    "UnsafePattern",
    "check_regex",
    "safe_regex",
]

MatchKind = Literal["word", "pattern", "detector"]
MAX_PATTERN_LENGTH = 300
MAX_PATTERN_INPUT = 2000
_MAX_UNBOUNDED = 2
DETECTOR_NAMES = frozenset({*TEXT_DETECTORS, CARD_DETECTOR, QR_DETECTOR})


class UnsafePattern(ValueError):
    """A pattern refused by `safe_regex`; `reason` is a stable code for messages."""

    def __init__(self, reason: str, pattern: str) -> None:
        super().__init__(f"{reason}: {pattern[:80]}")
        self.reason = reason
        self.pattern = pattern


_REPEATS = frozenset(
    getattr(sre, name)
    for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(sre, name)
)
_SINGLE_CHAR_OPS = frozenset({sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY, sre.CATEGORY})


def _is_single_char(branch: Any) -> bool:
    items = list(branch)
    return len(items) == 1 and items[0][0] in _SINGLE_CHAR_OPS


def _children(op: Any, av: Any) -> list[Any]:
    if op == sre.SUBPATTERN:
        return [av[-1]]
    if op == sre.BRANCH:
        return list(av[1])
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [av[1]]
    if hasattr(sre, "ATOMIC_GROUP") and op == sre.ATOMIC_GROUP:
        return [av]
    return []


def _problem(tree: Any, repeated: bool, unbounded: list[int]) -> str | None:
    for op, av in tree:
        if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            return "backreference"
        if op in _REPEATS:
            _low, high, body = av
            many = high > 1
            if many and repeated:
                return "nested_quantifier"
            if high == sre.MAXREPEAT:
                unbounded[0] += 1
                if unbounded[0] > _MAX_UNBOUNDED:
                    return "too_many_unbounded"
            if many:
                for inner_op, inner_av in body:
                    if inner_op == sre.BRANCH and not all(_is_single_char(b) for b in inner_av[1]):
                        return "quantified_alternation"
                    if inner_op == sre.SUBPATTERN:
                        for deep_op, deep_av in inner_av[-1]:
                            if deep_op == sre.BRANCH and not all(
                                _is_single_char(b) for b in deep_av[1]
                            ):
                                return "quantified_alternation"
            found = _problem(body, repeated or many, unbounded)
            if found:
                return found
            continue
        for child in _children(op, av):
            found = _problem(child, repeated, unbounded)
            if found:
                return found
    return None


def check_regex(pattern: str) -> str | None:
    """Why a rule pattern is refused (a reason code), or None when it is acceptable."""
    if not pattern:
        return "empty"
    if len(pattern) > MAX_PATTERN_LENGTH:
        return "too_long"
    try:
        tree = sre.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return "invalid"
    return _problem(tree, False, [0])


def safe_regex(pattern: str) -> re.Pattern[str]:
    """The compiled pattern, or `UnsafePattern` with the reason."""
    reason = check_regex(pattern)
    if reason is not None:
        raise UnsafePattern(reason, pattern)
    return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class Category:
    """What one category of a rule book matches.

    `words`: plain words, ``"word | variant variant"`` strings, or `WordEntry`s; `patterns`:
    regexes, or (rule_id, regex) pairs; `detectors`: names from `DETECTOR_NAMES`.
    """

    words: Sequence[str | WordEntry] = ()
    patterns: Sequence[str | tuple[str, str]] = ()
    detectors: Collection[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Match:
    category: str
    rule_id: str
    kind: MatchKind
    original_span: tuple[int, int]
    original_text: str
    normalized_text: str
    via: str = ""


def _entry(category: str, word: str | WordEntry) -> WordEntry:
    if isinstance(word, WordEntry):
        return WordEntry(word.word, category, word.rule_id, word.variants, word.pinyin)
    text, _, rest = word.partition("|")
    return WordEntry(text.strip(), category, variants=tuple(rest.split()))


class Matcher:
    """Compiled once per rule book; `scan` is safe to call from many threads."""

    def __init__(self, categories: Mapping[str, Category]) -> None:
        entries: list[WordEntry] = []
        patterns: list[tuple[str, str, re.Pattern[str]]] = []
        detectors: dict[str, list[str]] = {}
        for name, category in categories.items():
            entries.extend(_entry(name, word) for word in category.words if word)
            for item in category.patterns:
                rule_id, pattern = item if isinstance(item, tuple) else (item, item)
                patterns.append((name, rule_id, safe_regex(pattern)))
            for detector in category.detectors:
                if detector not in DETECTOR_NAMES:
                    raise ValueError(f"unknown detector {detector!r}")
                detectors.setdefault(detector, []).append(name)
        self.words = WordList(entries)
        self._patterns = tuple(patterns)
        self._text_detectors = tuple(
            (TEXT_DETECTORS[d], tuple(cats)) for d, cats in detectors.items() if d in TEXT_DETECTORS
        )
        self._card_categories = tuple(detectors.get(CARD_DETECTOR, ()))
        self._qr_categories = tuple(detectors.get(QR_DETECTOR, ()))

    def scan(
        self,
        text: str,
        *,
        message_kind: MessageKind | str | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> list[Match]:
        """Every match in a message, deduplicated, ordered by position."""
        normalized = normalize(text)
        compact = normalized.compact()
        found: dict[tuple[str, str, str, tuple[int, int]], Match] = {}

        def add(
            view: Normalized,
            start: int,
            end: int,
            category: str,
            rule_id: str,
            kind: MatchKind,
            via: str = "",
        ) -> None:
            span = view.span(start, end)
            key = (category, rule_id, kind, span)
            if key not in found:
                found[key] = Match(
                    category,
                    rule_id,
                    kind,
                    span,
                    text[span[0] : span[1]],
                    view.text[start:end],
                    via,
                )

        for hit in self.words.find(compact):
            add(compact, hit.start, hit.end, hit.entry.category, hit.entry.id, "word", hit.via)
        if self._patterns and compact.text:
            limited = compact.text[:MAX_PATTERN_INPUT]
            for category, rule_id, pattern in self._patterns:
                for m in pattern.finditer(limited):
                    if m.end() > m.start():
                        add(compact, m.start(), m.end(), category, rule_id, "pattern")
        for detector, categories in self._text_detectors:
            for detection in detector(normalized):
                view = compact if detection.compact else normalized
                for category in categories:
                    add(
                        view,
                        detection.start,
                        detection.end,
                        category,
                        detection.rule_id,
                        "detector",
                        detection.detector,
                    )
        matches = list(found.values())
        if self._card_categories and (message_kind is not None or raw):
            matches.extend(
                self._whole_message(detect_card(message_kind, raw), self._card_categories)
            )
        matches.sort(key=lambda m: (m.original_span, m.category, m.rule_id))
        return matches

    def scan_image(self, image: bytes) -> list[Match]:
        """QR codes in an image, for categories that use the ``qr`` detector."""
        if not self._qr_categories:
            return []
        return self._whole_message(detect_qr(image), self._qr_categories)

    @staticmethod
    def _whole_message(detections: list[Detection], categories: Sequence[str]) -> list[Match]:
        return [
            Match(category, d.rule_id, "detector", (0, 0), "", d.value, d.detector)
            for d in detections
            for category in categories
        ]
