"""Word lists compiled into one Aho-Corasick automaton over normalised forms.

Every listed word contributes forms, each matched against the compact normalised text:

- ``exact``: the word itself, normalised (so 微信, 微 信, 微信 in full width all hit);
- ``variant``: homophone or split spellings listed beside the word (威信, 薇信, 君羊 for 群);
- ``pinyin``: for words of two or more syllables only, the full pinyin, and spellings that
  replace some syllables by their pinyin or its initial (weixin, wei信, w信, 微x); the all-initials
  form (wx) only for three syllables or more, or when listed as a variant.

Over-normalising guard: nothing is matched by sound except through these forms. A one-syllable
word has no pinyin form, so a rule for 傻 cannot fire on 长沙 ('sha'), and pinyin forms are Latin
letters, so they only ever match text that was written in Latin letters (or look-alikes of them).
A Latin edge of three letters or fewer must sit on a word boundary in the compact text, so vx
does not fire inside "dev x" and sb not inside "is big".
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import ahocorasick
from pypinyin import Style, lazy_pinyin

from qunyun.moderation.text.normalize import Normalized, normalize

__all__ = ["WordEntry", "WordHit", "WordList", "forms_of", "load_word_file"]

Via = Literal["exact", "variant", "pinyin"]

_MAX_MIXED_SYLLABLES = 3
_MIN_INITIALS_SYLLABLES = 4
_SHORT_LATIN_EDGE = 3


@dataclass(frozen=True, slots=True)
class WordEntry:
    """One listed word of a category; `rule_id` defaults to the word."""

    word: str
    category: str
    rule_id: str = ""
    variants: tuple[str, ...] = ()
    pinyin: bool = True

    @property
    def id(self) -> str:
        return self.rule_id or self.word


@dataclass(frozen=True, slots=True)
class WordHit:
    entry: WordEntry
    form: str
    via: Via
    start: int
    end: int


def _compact_form(text: str) -> str:
    return normalize(text).compact().text


def _is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\U00020000" <= char <= "\U0003134f"


def _pinyin_forms(word: str) -> set[str]:
    if len(word) < 2 or not all(_is_cjk(c) for c in word):
        return set()
    full = lazy_pinyin(word, errors="ignore")
    initials = lazy_pinyin(word, style=Style.FIRST_LETTER, errors="ignore")
    if len(full) != len(word) or not all(s.isascii() and s.isalpha() for s in full):
        return set()
    forms = {"".join(full)}
    if len(word) >= _MIN_INITIALS_SYLLABLES:
        forms.add("".join(initials))
    if len(word) <= _MAX_MIXED_SYLLABLES:
        options = [(c, f, i) for c, f, i in zip(word, full, initials, strict=True)]
        for combo in itertools.product(*options):
            if any(_is_cjk(part) for part in combo) and not all(_is_cjk(p) for p in combo):
                forms.add("".join(combo))
    return forms


def forms_of(entry: WordEntry) -> Iterator[tuple[str, Via]]:
    """Every normalised form of a listed word with how it was derived."""
    exact = _compact_form(entry.word)
    if not exact:
        return
    yield exact, "exact"
    for variant in entry.variants:
        form = _compact_form(variant)
        if form and form != exact:
            yield form, "variant"
    if entry.pinyin:
        for form in sorted(_pinyin_forms(exact)):
            yield form, "pinyin"


def _latin_edges(form: str) -> tuple[bool, bool]:
    """Whether the form's leading/trailing ASCII letter run is short enough to need a boundary."""
    lead = len(form) - len(form.lstrip("abcdefghijklmnopqrstuvwxyz"))
    trail = len(form) - len(form.rstrip("abcdefghijklmnopqrstuvwxyz"))
    return 0 < lead <= _SHORT_LATIN_EDGE, 0 < trail <= _SHORT_LATIN_EDGE


def _is_latin_letter(char: str) -> bool:
    return "a" <= char <= "z"


_Target = tuple[int, str, Via, bool, bool]


class WordList:
    """All listed words of all categories in one automaton."""

    def __init__(self, entries: Iterable[WordEntry]) -> None:
        self.entries: tuple[WordEntry, ...] = tuple(entries)
        targets: dict[str, list[_Target]] = {}
        for index, entry in enumerate(self.entries):
            for form, via in forms_of(entry):
                lead, trail = _latin_edges(form)
                targets.setdefault(form, []).append((index, form, via, lead, trail))
        self.form_count = len(targets)
        self._automaton = ahocorasick.Automaton()
        for form, found in targets.items():
            self._automaton.add_word(form, (len(form), tuple(found)))
        self._empty = not targets
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, compact: Normalized) -> list[WordHit]:
        """Every hit in compact normalised text, positions in that text."""
        if self._empty:
            return []
        text = compact.text
        size = len(text)
        hits: list[WordHit] = []
        for end_index, (length, found) in self._automaton.iter(text):
            end = end_index + 1
            start = end - length
            before_latin = start > 0 and _is_latin_letter(text[start - 1])
            after_latin = end < size and _is_latin_letter(text[end])
            for index, form, via, lead, trail in found:
                if (lead and before_latin) or (trail and after_latin):
                    continue
                hits.append(WordHit(self.entries[index], form, via, start, end))
        return hits


def load_word_file(path: Path, category: str) -> list[WordEntry]:
    """Read a word file: one word a line, optional ``| variant variant``, ``#`` comments."""
    entries: list[WordEntry] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        word, _, rest = line.partition("|")
        entries.append(
            WordEntry(word=word.strip(), category=category, variants=tuple(rest.split()))
        )
    return entries
