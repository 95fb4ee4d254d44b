"""Rule books from YAML: refusals with exact lines, round trips, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from qunyun.i18n import catalog
from qunyun.moderation.rulebook import RuleBook, merge_override
from qunyun.moderation.yaml_io import (
    PROBLEM_CODES,
    RulebookInvalid,
    dump_rulebook,
    load_override,
    load_rulebook,
    regex_problem,
)

DEFAULT = Path(__file__).resolve().parents[2] / "qunyun/moderation/data/default_rulebook.yaml"


def refuse(text: str) -> RulebookInvalid:
    with pytest.raises(RulebookInvalid) as caught:
        load_rulebook(text)
    return caught.value


def test_default_book_loads_and_round_trips() -> None:
    book = load_rulebook(DEFAULT.read_bytes())
    assert "ads" in book.categories
    assert book.ladder.grave_categories == ("porn", "gambling", "drugs")
    assert book.quiet_hours.start.strftime("%H:%M") == "23:30"
    text = dump_rulebook(book)
    assert load_rulebook(text) == book
    assert dump_rulebook(load_rulebook(text)) == text


def test_bad_yaml_has_its_line() -> None:
    err = refuse("version: 1\ntopic: ok\nflood:\n  max_messages: [1, 2\n")
    assert err.code == "moderation.rulebook.bad_yaml"
    assert err.problems[0].line == 5


def test_unknown_key_has_its_line() -> None:
    err = refuse("version: 1\nflood:\n  max_messages: 5\n  max_mesages: 6\n")
    (problem,) = err.problems
    assert (problem.code, problem.line, problem.path) == ("unknown_key", 4, "flood.max_mesages")
    assert problem.params["key"] == "max_mesages"
    assert "第 4 行" in problem.message("zh-CN")
    assert problem.message("en").startswith("Line 4 (flood.max_mesages): Unknown field")


def test_invalid_pattern_has_its_line() -> None:
    text = "categories:\n  ads:\n    words: [x]\n    patterns:\n      - 'ok'\n      - '(unclosed'\n"
    (problem,) = refuse(text).problems
    assert (problem.code, problem.line) == ("bad_pattern", 6)
    assert "missing )" in problem.params["detail"]


def test_catastrophic_pattern_has_its_line() -> None:
    text = "version: 1\ncategories:\n  spam:\n    patterns: ['(a+)+b']\n"
    (problem,) = refuse(text).problems
    assert (problem.code, problem.line) == ("catastrophic_pattern", 4)
    assert regex_problem("(a+)+b") is not None
    assert regex_problem("加v[0-9]{6}") is None


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("version: 2\n", "bad_version", 1),
        ("a: 1\na: 2\n", "duplicate_key", 2),
        ("- 1\n- 2\n", "not_mapping", 1),
        ("x: &a 1\ny: *a\n", "aliases", 1),
        ("quiet_hours:\n  enabled: true\n  start: '25:00'\n", "bad_clock", 3),
        ("quiet_hours:\n  timezone: Mars/Base\n", "bad_timezone", 2),
        (
            "links:\n  mode: allow_list\n  allow_domains: [ok.com, 'not a domain']\n",
            "bad_domain",
            3,
        ),
        ("ladder:\n  steps:\n    - action: remove\n    - action: warn\n", "ladder_descends", 4),
        ("ladder:\n  steps:\n    - action: mute\n", "mute_seconds", 3),
        ("categories: {}\nladder:\n  grave_categories: [drugs]\n", "unknown_category", 3),
        (
            "exemptions:\n  - roles: [owner]\n    reason: 群主发通知\n    rules: [links, nope]\n",
            "unknown_rule",
            4,
        ),
        ("exemptions:\n  - reason: why\n", "exemption_nobody", 2),
        ("exemptions:\n  - roles: [owner]\n", "missing_key", 2),
        ("categories:\n  ads:\n    words_from: [no_such_list]\n", "unknown_list", 3),
        ("categories:\n  ads:\n    detectors: [telepathy]\n", "unknown_detector", 3),
        (
            "nickname:\n  enabled: true\n  pattern: '[0-9]+'\n  example: abc\n",
            "nickname_example_mismatch",
            4,
        ),
        ("flood:\n  max_messages: many\n", "invalid_value", 2),
        ("", "empty", None),
    ],
)
def test_refusals(text: str, code: str, line: int | None) -> None:
    problem = refuse(text).problems[0]
    assert (problem.code, problem.line) == (code, line)


def test_oversized_and_non_utf8_documents_are_refused() -> None:
    assert refuse("topic: " + "x" * 300_000).problems[0].code == "too_large"
    with pytest.raises(RulebookInvalid) as caught:
        load_rulebook("topic: 群规".encode("gbk"))
    assert caught.value.problems[0].code == "bad_encoding"


def test_clock_times_are_not_base_60_numbers() -> None:
    book = load_rulebook("quiet_hours:\n  start: 22:00\n  end: 07:30\n")
    assert book.quiet_hours.end.strftime("%H:%M") == "07:30"


def test_every_problem_code_has_a_message_in_both_languages() -> None:
    for code in PROBLEM_CODES:
        entry = catalog().messages.get(f"error.moderation.rulebook.{code}")
        assert entry is not None, code
        assert entry.get("zh-CN") and entry.get("en"), code


def test_many_problems_are_reported_together() -> None:
    err = refuse("flood:\n  max_messages: 0\n  window_seconds: -1\nmedia:\n  banned: [smell]\n")
    assert [(p.path, p.line) for p in err.problems] == [
        ("flood.max_messages", 2),
        ("flood.window_seconds", 3),
        ("media.banned[0]", 5),
    ]
    assert len(err.messages("en")) == 3


# --- group overrides -------------------------------------------------------------


def test_override_merges_mappings_and_replaces_lists() -> None:
    base = load_rulebook(DEFAULT.read_bytes())
    data, book = load_override(
        "topic: 只聊装修\n"
        "categories:\n  religion: {enabled: false}\n  ads: {words: [团购]}\n"
        "quiet_hours: {enabled: true}\n"
        "media: {banned: [voice]}\n",
        base,
    )
    assert data["topic"] == "只聊装修"
    assert book.topic.get("en") == "只聊装修"
    assert not book.categories["religion"].enabled
    assert book.categories["religion"].label == base.categories["religion"].label
    assert book.categories["ads"].words == ("团购",)
    assert book.categories["ads"].words_from == base.categories["ads"].words_from
    assert book.quiet_hours.enabled and book.quiet_hours.start == base.quiet_hours.start
    assert book.media.banned == ("voice",)
    assert book.ladder == base.ladder


def test_override_null_resets_to_default_and_empty_override_is_the_base() -> None:
    base = load_rulebook(DEFAULT.read_bytes())
    _, same = load_override("", base)
    assert same == base
    book = merge_override(base, {"links": None, "flood": {"max_messages": None}})
    assert book.links == RuleBook().links
    assert book.flood.max_messages == RuleBook().flood.max_messages
    assert book.flood.window_seconds == base.flood.window_seconds


def test_override_errors_point_at_the_override_lines() -> None:
    base = load_rulebook(DEFAULT.read_bytes())
    with pytest.raises(RulebookInvalid) as caught:
        load_override("topic: x\nflood:\n  max_messages: 5\n  colour: red\n", base)
    problem = caught.value.problems[0]
    assert (problem.code, problem.line) == ("unknown_key", 4)
