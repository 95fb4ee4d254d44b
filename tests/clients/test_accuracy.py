"""Accuracy against the labelled corpora stays at or above what the rules reach today.

The floors sit just under the figures in docs/ua-accuracy.md (regenerate it with
``python tests/clients/ua_accuracy.py``); a drop below them means a rule regressed.
"""

from __future__ import annotations

import pytest

from .ua_accuracy import CORPORA, FIELDS, Score, evaluate

FLOORS: dict[str, dict[str, float]] = {
    "uap_core": {"os": 0.99, "browser": 0.99, "device": 0.89, "bot": 0.99},
    "ua_parser_js": {"os": 0.87, "browser": 0.69, "device": 0.94, "form": 0.95},
    "whichbrowser": {"os": 0.90, "browser": 0.67, "device": 0.89, "form": 0.91, "bot": 0.99},
    "bowser": {"os": 0.96, "browser": 0.82, "device": 0.97, "form": 0.97, "bot": 0.98},
    "woothee": {"os": 0.97, "browser": 0.60, "device": 0.92, "form": 0.93, "bot": 0.93},
}


@pytest.fixture(scope="module")
def scores() -> dict[str, dict[str, Score]]:
    return evaluate()


@pytest.mark.parametrize(
    ("corpus", "field"),
    [(corpus, field) for corpus in CORPORA for field in FIELDS if field in FLOORS[corpus]],
)
def test_accuracy_floor(scores: dict[str, dict[str, Score]], corpus: str, field: str) -> None:
    score = scores[corpus][field]
    assert score.total >= 5
    assert score.accuracy >= FLOORS[corpus][field], f"{corpus}/{field}: {score}"
