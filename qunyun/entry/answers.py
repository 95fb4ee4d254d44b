"""Reading what an applicant or a newcomer wrote. Pure: no web, no database.

Join answers are checked with a *light* normalisation (NFKC, invisible characters
dropped, case folded, spaces collapsed), not the moderation matcher's heavy one: an
answer is something the applicant wants us to understand, so look-alike and pinyin
folding would only make wrong answers pass. A keyword passes when it appears in the
answer (spaces ignored on both sides); a pattern when it matches the light form or the
form without spaces.

QQ hands over a question-and-answer request as ``问题：…\\n答案：…``; only the answer
lines are checked there, or a keyword that the question itself contains would always pass.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from qunyun.moderation.rulebook import JoinQuestion
from qunyun.moderation.text.matcher import MAX_PATTERN_INPUT, safe_regex

_SPACES = re.compile(r"\s+")
_ANSWER_LINE = re.compile(r"^\s*(?:答案|回答|answer)\s*[:：]\s*(.*)$", re.IGNORECASE)
# A code as people type it: letters, digits, '-' and '_' (full-width forms fold by NFKC).
_CODE_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{2,31}")
_MENTION = re.compile(r"^(?:\s*@\S+)+\s*")
MAX_CODE_CANDIDATES = 20


def light(text: str) -> str:
    """NFKC, invisible (format) characters dropped, case folded, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text)
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return _SPACES.sub(" ", visible.casefold()).strip()


def _without_spaces(text: str) -> str:
    return _SPACES.sub("", text)


def answer_part(answers: str) -> str:
    """The applicant's own words: the ``答案：`` lines when the platform quoted the
    question too, else everything."""
    found = [m.group(1) for line in answers.splitlines() if (m := _ANSWER_LINE.match(line))]
    return "\n".join(found) if found else answers


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    # The rule book validated the pattern (safe shape, bounded length) already.
    return safe_regex(pattern)


def question_passes(question: JoinQuestion, answers: str) -> bool:
    """Whether ``answers`` answer ``question``; a question with neither keywords nor
    patterns takes any answer that is not empty."""
    text = light(answer_part(answers))[:MAX_PATTERN_INPUT]
    if not question.keywords and not question.patterns:
        return bool(text)
    compact = _without_spaces(text)
    for keyword in question.keywords:
        wanted = _without_spaces(light(keyword))
        if wanted and wanted in compact:
            return True
    return any(
        _compiled(pattern).search(text) or _compiled(pattern).search(compact)
        for pattern in question.patterns
    )


def failed_questions(questions: Sequence[JoinQuestion], answers: str) -> list[int]:
    """Indexes of the questions ``answers`` do not answer (empty: all passed)."""
    return [i for i, q in enumerate(questions) if not question_passes(q, answers)]


def code_candidates(text: str) -> list[str]:
    """Words in ``text`` that could be invite codes, upper-cased, in order, at most
    :data:`MAX_CODE_CANDIDATES`."""
    seen: dict[str, None] = {}
    for token in _CODE_TOKEN.findall(unicodedata.normalize("NFKC", text)):
        seen.setdefault(token.upper(), None)
        if len(seen) >= MAX_CODE_CANDIDATES:
            break
    return list(seen)


@dataclass(frozen=True)
class AcceptWords:
    """The keywords that accept the rules, folded once."""

    folded: frozenset[str]

    @classmethod
    def of(cls, keywords: Sequence[str]) -> AcceptWords:
        return cls(frozenset(k for k in (fold_reply(w) for w in keywords) if k))

    def accepts(self, message: str) -> bool:
        """The whole message is one of the keywords (mentions in front, spaces and
        punctuation aside): "同意！" accepts, "不同意" and "我不同意这条" do not."""
        return fold_reply(message) in self.folded


def _is_edge(char: str) -> bool:
    # Punctuation, symbols (emoji included), their variation selectors and spaces
    # around a keyword: "同意！", "【同意】", "同意✔️".
    return unicodedata.category(char)[0] in ("P", "S", "Z", "M")


def fold_reply(message: str) -> str:
    text = _without_spaces(_MENTION.sub("", light(message)))
    start, end = 0, len(text)
    while start < end and _is_edge(text[start]):
        start += 1
    while end > start and _is_edge(text[end - 1]):
        end -= 1
    return text[start:end]
