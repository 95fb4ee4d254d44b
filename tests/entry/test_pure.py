"""Pure logic: reading answers and replies, and deciding what to do with a request."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qunyun.entry.answers import (
    AcceptWords,
    answer_part,
    code_candidates,
    failed_questions,
    light,
    question_passes,
)
from qunyun.entry.decide import Outcome, RequestFacts, decide
from qunyun.moderation.rulebook import EntryRules, JoinQuestion

STUDY = JoinQuestion.model_validate(
    {"question": "为什么加入？", "keywords": ["学习", "Python 入门"], "patterns": [r"学号\s*\d{6}"]}
)
ANYTHING = JoinQuestion.model_validate({"question": "介绍一下自己"})
WORDS = AcceptWords.of(("同意", "我同意", "agree"))


@pytest.mark.parametrize(
    ("answer", "passes"),
    [
        ("我想来学习", True),
        ("PYTHON入门", True),  # case and spaces do not matter
        ("ｐｙｔｈｏｎ　入门", True),  # full-width
        ("学\u200b习", True),  # a zero-width space inside
        ("学号 202401", True),
        ("学号2024", False),
        ("随便看看", False),
        ("", False),
        ("问题：为什么加入？想学习吗\n答案：随便", False),  # the question is not the answer
        ("问题：为什么加入？\n答案：学习", True),
    ],
)
def test_answers_are_checked_after_light_normalisation(answer: str, passes: bool) -> None:
    assert question_passes(STUDY, answer) is passes


def test_a_question_without_keywords_takes_any_answer() -> None:
    assert question_passes(ANYTHING, "我是张三")
    assert not question_passes(ANYTHING, "  \u200b ")
    assert failed_questions([STUDY, ANYTHING], "学习") == []
    assert failed_questions([STUDY, ANYTHING], "") == [0, 1]


def test_answer_lines_are_picked_out_of_a_quoted_question() -> None:
    assert answer_part("问题：你好\n答案：我来学习") == "我来学习"
    assert answer_part("Answer: yes\nanswer：再说") == "yes\n再说"
    assert answer_part("just text") == "just text"


@pytest.mark.parametrize(
    ("reply", "accepts"),
    [
        ("同意", True),
        (" 同意！", True),
        ("【我同意】", True),
        ("AGREE.", True),
        ("@群运助手 同意", True),
        ("同意👍", True),
        ("同意✔️", True),
        ("不同意", False),
        ("我不同意这条", False),
        ("同意吗？", False),
        ("", False),
    ],
)
def test_only_the_keyword_itself_accepts(reply: str, accepts: bool) -> None:
    assert WORDS.accepts(reply) is accepts


def _stays_an_edge(char: str) -> bool:
    # Some symbols fold to letters (⒜ is "(a)" after NFKC): those are not edges.
    return all(unicodedata.category(c)[0] in "PSZ" for c in unicodedata.normalize("NFKC", char))


edges = st.text(
    alphabet=st.characters(categories=["P", "S", "Zs"], exclude_characters="@").filter(
        _stays_an_edge
    ),
    max_size=6,
)


@given(edges, edges)
def test_punctuation_symbols_and_spaces_around_the_keyword_are_ignored(
    before: str, after: str
) -> None:
    assert WORDS.accepts(f"{before}同意{after}")
    assert not WORDS.accepts(f"{before}不同意{after}")


def test_code_candidates_fold_width_and_case() -> None:
    assert code_candidates("邀请码：ｃａｍｐ－２０２６，谢谢 abc12") == ["CAMP-2026", "ABC12"]
    assert code_candidates("ab 中文") == []
    assert len(code_candidates(" ".join(f"code{i}" for i in range(50)))) == 20


@given(st.text(max_size=200))
def test_light_is_idempotent_and_never_raises(text: str) -> None:
    once = light(text)
    assert light(once) == once
    code_candidates(text)
    question_passes(STUDY, text)


# --- deciding -------------------------------------------------------------------------------

entries = st.builds(
    EntryRules,
    auto_approve=st.booleans(),
    unanswered=st.sampled_from(["reject", "queue"]),
    invite_required=st.booleans(),
)
facts = st.builds(
    RequestFacts,
    banned=st.booleans(),
    group_full=st.booleans(),
    invitation=st.booleans(),
    stale=st.booleans(),
    failed_questions=st.lists(st.integers(0, 9), max_size=3).map(tuple),
    code_problem=st.sampled_from([None, "", "expired", "revoked", "used_up", "other_group"]),
)


@given(entries, facts)
def test_decisions_follow_the_book(entry: EntryRules, fact: RequestFacts) -> None:
    verdict = decide(entry, fact)
    if fact.invitation or fact.stale:
        assert verdict.outcome is Outcome.queue
        return
    if fact.banned:
        assert (verdict.outcome, verdict.reason) == (Outcome.reject, "banned")
        return
    flawed = (
        fact.group_full
        or bool(fact.failed_questions)
        or (entry.invite_required and not fact.has_live_code)
    )
    if flawed:
        expected = Outcome.reject if entry.unanswered == "reject" else Outcome.queue
        assert verdict.outcome is expected
        assert verdict.reason != "answers_ok"
    elif entry.auto_approve:
        assert (verdict.outcome, verdict.reason) == (Outcome.approve, "answers_ok")
    else:
        assert (verdict.outcome, verdict.reason) == (Outcome.queue, "manual_review")


def test_reasons_name_what_went_wrong_first() -> None:
    strict = EntryRules(unanswered="reject", invite_required=True)
    assert decide(strict, RequestFacts(group_full=True)).reason == "group_full"
    assert decide(strict, RequestFacts(code_problem="expired")).reason == "invite_expired"
    assert decide(strict, RequestFacts()).reason == "invite_missing"
    wrong = decide(strict, RequestFacts(code_problem="", failed_questions=(1,)))
    assert (wrong.reason, wrong.as_json()) == (
        "answers_wrong",
        {"code": "answers_wrong", "failed_questions": [1]},
    )
