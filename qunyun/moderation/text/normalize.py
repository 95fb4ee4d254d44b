"""Normalise chat text before matching, keeping a map back to the original.

Layers, applied per character and iterated to a fixed point so that normalising the output
again changes nothing: invisible and combining characters dropped, NFKC (full-width, circled,
superscript, mathematical letters), case folded, Unicode confusables mapped to ASCII (from the
`confusable-homoglyphs` table), a small curated table of Chinese look-alikes, Traditional to
Simplified by OpenCC's character table, and digit forms (❶, ⓿, 𝟗 ...) to ASCII digits.
Then Chinese numerals (一 二 幺 洞 两 ...) become digits, but only inside runs of at least
four digit-like characters, so 一起 stays 一起 while 幺三八幺二三四 becomes 1381234.

`compact()` drops everything that is not a letter or digit (spaces, punctuation, emoji,
underscores): 微.信 / 加 V / 学🌸生 read as 微信 / 加v / 学生.

Phrase-level OpenCC conversion is left out on purpose: it can change the length of a phrase,
and the per-character map back to the original is worth more than the rare phrase.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from importlib import resources
from pathlib import Path

__all__ = ["Normalized", "normalize", "normalize_char"]

_DATA = Path(__file__).resolve().parent.parent / "data"

# Characters that render as nothing (or as blank space that looks like nothing) but are
# not category Cf/Mn/Me, so NFKC and the category test keep them.
_INVISIBLE = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u180e\u034f\u17b4\u17b5\u061c\u200b\u200c\u200d\u2060\ufeff"
)
_DROP_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Cc", "Cs", "Co", "Cn"})
_KEEP_CONTROL = frozenset("\n\t\r ")

_CHINESE_DIGITS = {
    "零": "0",
    "〇": "0",
    "洞": "0",
    "一": "1",
    "幺": "1",
    "壹": "1",
    "二": "2",
    "两": "2",
    "贰": "2",
    "三": "3",
    "叁": "3",
    "四": "4",
    "肆": "4",
    "五": "5",
    "伍": "5",
    "六": "6",
    "陆": "6",
    "七": "7",
    "柒": "7",
    "八": "8",
    "捌": "8",
    "九": "9",
    "玖": "9",
}
_MIN_NUMERAL_RUN = 4
_MIN_CHINESE_NUMERALS = 2
_DIGIT_LIKE = "[0-9" + "".join(_CHINESE_DIGITS) + "]"
_NUMERAL_RUN = re.compile(
    f"(?:{_DIGIT_LIKE}[\\s\\-.·_,，、/|]*){{{_MIN_NUMERAL_RUN - 1},}}{_DIGIT_LIKE}"
)
_HAS_NUMERAL = re.compile("[" + "".join(_CHINESE_DIGITS) + "]")
_NUMERAL_TABLE = str.maketrans(_CHINESE_DIGITS)
_NOT_WORD = re.compile(r"[\W_]")
_WORD_CHAR = re.compile(r"[^\W_]")


def _load_confusables() -> dict[str, str]:
    """Non-ASCII characters that the Unicode confusables table pairs with an ASCII letter
    or digit; letters are preferred, so Cyrillic о reads as o rather than 0."""
    source = resources.files("confusable_homoglyphs").joinpath("confusables.json")
    table: dict[str, list[dict[str, str]]] = json.loads(source.read_text(encoding="utf-8"))
    mapped: dict[str, str] = {}
    for char, homoglyphs in table.items():
        if len(char) != 1 or char.isascii():
            continue
        targets = [h["c"].lower() for h in homoglyphs if len(h["c"]) == 1 and h["c"].isascii()]
        targets = [t for t in targets if t.isalnum()]
        if targets:
            targets.sort(key=lambda t: (not t.isalpha(), t))
            mapped[char] = targets[0]
    return mapped


def _load_pairs(path: Path) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        source, target = line.split()[:2]
        pairs[source] = target
    return pairs


def _load_t2s() -> dict[str, str]:
    source = resources.files("opencc").joinpath("dictionary", "TSCharacters.txt")
    table: dict[str, str] = {}
    for line in source.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1:
            first = parts[1].split(" ")[0]
            if len(first) == 1:
                table[parts[0]] = first
    return table


_CONFUSABLES = _load_confusables()
_LOOKALIKES = _load_pairs(_DATA / "lookalikes.txt")
_T2S = _load_t2s()


def _step(char: str) -> str:
    if char in _INVISIBLE:
        return ""
    if unicodedata.category(char) in _DROP_CATEGORIES and char not in _KEEP_CONTROL:
        return ""
    out: list[str] = []
    for c in unicodedata.normalize("NFKC", char).lower():
        if unicodedata.category(c) in _DROP_CATEGORIES and c not in _KEEP_CONTROL:
            continue
        c = _LOOKALIKES.get(c, c)
        c = _CONFUSABLES.get(c, c)
        c = _T2S.get(c, c)
        if not c.isascii():
            digit = unicodedata.digit(c, None)
            if digit is not None:
                c = str(digit)
        out.append(c)
    return "".join(out)


@cache
def normalize_char(char: str) -> str:
    """What one original character becomes (possibly nothing or several characters)."""
    current = _step(char)
    for _ in range(6):
        following = "".join(_step(c) for c in current)
        if following == current:
            break
        current = following
    return current


def _char_class(chars: list[str]) -> str:
    return "".join(re.escape(c) for c in chars)


def _build_bmp_table() -> tuple[dict[int, str], re.Pattern[str], re.Pattern[str]]:
    """Every Basic Multilingual Plane character whose normal form differs from itself, and
    a pattern finding characters that do not map one to one (those need the slow path)."""
    table: dict[int, str] = {}
    irregular: list[str] = []
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        value = normalize_char(char)
        if value != char:
            table[code] = value
            if len(value) != 1:
                irregular.append(char)
    mapped = _char_class([chr(code) for code in table])
    return (
        table,
        re.compile(f"[{_char_class(irregular)}\\U00010000-\\U0010ffff]"),
        re.compile(f"[{mapped}]"),
    )


_TABLE, _IRREGULAR, _MAPPED = _build_bmp_table()


class Normalized:
    """A normalised string and, for each of its characters, the original span it came from.

    The map back is built only when a span is asked for: most messages match nothing, and
    the common case (every character maps to one character) needs no map at all.
    """

    __slots__ = ("_compact", "_ends", "_kept", "_parent", "_starts", "original", "text")

    def __init__(
        self,
        original: str,
        text: str,
        starts: tuple[int, ...] | None = None,
        ends: tuple[int, ...] | None = None,
        *,
        parent: Normalized | None = None,
    ) -> None:
        self.original = original
        self.text = text
        self._starts = starts
        self._ends = ends
        self._parent = parent
        self._kept: list[int] | None = None
        self._compact: Normalized | None = None

    def __repr__(self) -> str:
        return f"Normalized({self.text!r})"

    def _parent_index(self, index: int) -> int:
        assert self._parent is not None
        if self._kept is None:
            kept = [m.start() for m in _WORD_CHAR.finditer(self._parent.text)]
            self._kept = kept
        return self._kept[index]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original [start, end) covering normalised characters [start, end)."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError("span out of range")
        if self._parent is not None:
            first = self._parent.span(self._parent_index(start), self._parent_index(start) + 1)
            last = self._parent.span(self._parent_index(end - 1), self._parent_index(end - 1) + 1)
            return first[0], last[1]
        if self._starts is None or self._ends is None:
            return start, end
        return self._starts[start], self._ends[end - 1]

    @property
    def origin(self) -> tuple[tuple[int, int], ...]:
        """For every normalised character, its [start, end) in the original."""
        return tuple(self.span(i, i + 1) for i in range(len(self.text)))

    def with_text(self, text: str) -> Normalized:
        """The same map back with characters replaced one for one."""
        if len(text) != len(self.text):
            raise ValueError("with_text needs a text of the same length")
        return Normalized(self.original, text, self._starts, self._ends, parent=self._parent)

    def compact(self) -> Normalized:
        """The same text with every non letter/digit dropped (separators, emoji, spaces)."""
        if self._compact is None:
            if _NOT_WORD.search(self.text) is None:
                self._compact = self
            else:
                self._compact = Normalized(self.original, _NOT_WORD.sub("", self.text), parent=self)
        return self._compact


def _replace_mapped(found: re.Match[str]) -> str:
    return _TABLE[ord(found.group())]


def normalize(text: str) -> Normalized:
    """Normalise `text` for matching; see the module docstring for the layers."""
    if _IRREGULAR.search(text) is None:
        result = Normalized(text, _MAPPED.sub(_replace_mapped, text))
    else:
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        for index, char in enumerate(text):
            value = normalize_char(char)
            if value:
                chars.append(value)
                starts.extend([index] * len(value))
                ends.extend([index + 1] * len(value))
        result = Normalized(text, "".join(chars), tuple(starts), tuple(ends))
    if _HAS_NUMERAL.search(result.text) is not None:
        result = _numerals_to_digits(result)
    return result


def _convert_run(run: re.Match[str]) -> str:
    # One Chinese numeral after ASCII digits is prose ("1615726686一样"), not a digit form.
    found = run.group()
    if len(_HAS_NUMERAL.findall(found)) < _MIN_CHINESE_NUMERALS:
        return found
    return found.translate(_NUMERAL_TABLE)


def _numerals_to_digits(normalized: Normalized) -> Normalized:
    text = normalized.text
    if _NUMERAL_RUN.search(text) is None:
        return normalized
    converted = _NUMERAL_RUN.sub(_convert_run, text)
    if converted == text:
        return normalized
    return normalized.with_text(converted)
