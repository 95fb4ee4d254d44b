"""Text matching that evasion does not beat: normalisation with a map back to the original,
word lists in one Aho-Corasick automaton (with pinyin and homophone forms), safe regexes and
contact detectors. Pure: no web layer, no database."""

from qunyun.moderation.text.detect import SHORTENER_DOMAINS, Detection, detect_card, detect_qr
from qunyun.moderation.text.matcher import (
    DETECTOR_NAMES,
    Category,
    Match,
    Matcher,
    UnsafePattern,
    check_regex,
    safe_regex,
)
from qunyun.moderation.text.normalize import Normalized, normalize
from qunyun.moderation.text.starter import starter_categories
from qunyun.moderation.text.words import WordEntry, WordList

__all__ = [
    "DETECTOR_NAMES",
    "SHORTENER_DOMAINS",
    "Category",
    "Detection",
    "Match",
    "Matcher",
    "Normalized",
    "UnsafePattern",
    "WordEntry",
    "WordList",
    "check_regex",
    "detect_card",
    "detect_qr",
    "normalize",
    "safe_regex",
    "starter_categories",
]
