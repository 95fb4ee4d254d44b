"""Build the text matcher for a rule book's enabled categories. Pure (reads shipped lists)."""

from __future__ import annotations

from qunyun.moderation.rulebook import DATA_DIR, RuleBook
from qunyun.moderation.text.matcher import Category as MatchCategory
from qunyun.moderation.text.matcher import Matcher
from qunyun.moderation.text.words import WordEntry, load_word_file


def matcher_categories(book: RuleBook) -> dict[str, MatchCategory]:
    """Each enabled category's words (inline and from lists), patterns and detectors.

    Patterns get stable rule ids ``<category>:p<n>`` so decisions can cite them.
    """
    out: dict[str, MatchCategory] = {}
    for name, category in book.categories.items():
        if not category.enabled:
            continue
        words: list[str | WordEntry] = list(category.words)
        for list_name in category.words_from:
            words.extend(load_word_file(DATA_DIR / f"{list_name}.txt", name))
        patterns = [(f"{name}:p{i + 1}", p) for i, p in enumerate(category.patterns)]
        out[name] = MatchCategory(
            words=tuple(words), patterns=tuple(patterns), detectors=frozenset(category.detectors)
        )
    return out


def matcher_for(book: RuleBook) -> Matcher:
    """Compile once per book revision and share it (``scan`` is thread-safe)."""
    return Matcher(matcher_categories(book))
