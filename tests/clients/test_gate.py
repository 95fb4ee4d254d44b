"""Each cheap word test must let through every string its regular expression matches."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qunyun.clients import apps, bots, platform
from qunyun.clients.gate import Gated

CORPORA = Path(__file__).resolve().parents[1] / "fixtures" / "ua_corpora"
RULES: list[Gated] = [*apps.RULES, *bots.RULES, *platform.RULES]


def _corpus_uas() -> list[str]:
    uas: list[str] = []
    for path in sorted(CORPORA.glob("*.jsonl")):
        uas += [json.loads(line)["ua"] for line in path.read_text(encoding="utf-8").splitlines()]
    return uas


def test_no_corpus_string_slips_past_a_gate() -> None:
    slipped = [
        (rule.pattern.pattern[:40], ua)
        for ua in _corpus_uas()
        for rule in RULES
        if rule.pattern.search(ua) and not rule.opens(ua.lower())
    ]
    assert slipped == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.pattern.pattern[:30])
def test_strings_built_from_the_pattern_open_the_gate(rule: Gated) -> None:
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(rule.pattern))
    def check(text: str) -> None:
        if rule.pattern.search(text):
            assert rule.opens(text.lower()), text

    check()


def test_gate_words_are_lower_case() -> None:
    for rule in RULES:
        assert all(word == word.lower() and word for word in rule.words)
        assert rule.pattern.flags & re.ASCII
