"""Pure pieces: the evidence highlight, masking contact details in group notices,
reading languages and admin flags off records, the ladder step's platform actions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from qunyun.enforcement.carry import step_actions
from qunyun.enforcement.engine import own_link_hosts
from qunyun.enforcement.notices import masked, mention_of
from qunyun.enforcement.queries import highlight
from qunyun.enforcement.reading import message_kind, platform_admin, record_language
from qunyun.moderation.evaluate import Decision, Evidence
from qunyun.moderation.rulebook import LadderStep, LocalText, Severity, StepAction
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import MessageKind


def test_highlight_marks_merged_spans() -> None:
    assert highlight("加我薇❤信领取", [(2, 5), (4, 7)]) == [("加我", False), ("薇❤信领取", True)]
    assert highlight("abc", [(5, 9), (-3, 1)]) == [("a", True), ("bc", False)]
    assert highlight("", [(0, 2)]) == []


@given(
    st.text(max_size=40),
    st.lists(st.tuples(st.integers(-5, 50), st.integers(-5, 50)), max_size=6),
)
def test_highlight_gives_the_text_back(text: str, spans: list[tuple[int, int]]) -> None:
    pieces = highlight(text, spans)
    assert "".join(p for p, _ in pieces) == text
    # Runs alternate: two neighbours are never both marked (merged) or both plain.
    assert all(a[1] != b[1] for a, b in itertools.pairwise(pieces))
    assert all(p for p, _ in pieces)


def _decision(*evidence: Evidence) -> Decision:
    return Decision(
        rule_id="category:ads",
        category="ads",
        severity=Severity.medium,
        label=LocalText.model_validate("广告"),
        evidence=evidence,
        message_id="1",
        member_id=1,
    )


def test_group_notices_mask_what_detectors_found() -> None:
    decision = _decision(
        Evidence("薇❤信", (2, 5), "薇信", {"kind": "word"}),
        Evidence("qunyun2024", (6, 16), "qunyun2024", {"kind": "detector"}),
        Evidence("13812345678", (0, 11), "13812345678", {"kind": "detector"}),
        Evidence("https://spam.example/x?id=1", (0, 27), None, {"host": "spam.example"}),
    )
    shown = masked(decision).evidence
    assert shown[0].text == "薇❤信"
    assert (shown[1].text, shown[1].normalized) == ("qu***", "qu***")
    assert shown[2].text == "13***"
    assert shown[3].text == "spam.example"
    assert decision.evidence[1].text == "qunyun2024"  # the case keeps it whole


def test_mentions_per_platform() -> None:
    assert mention_of("qq", "10001", "张三") == "10001"
    assert mention_of("telegram", "42", "张三") == {"user": "42", "name": "张三"}
    assert mention_of("telegram", "42", "") == {"user": "42", "name": "42"}


def _record(raw: dict[str, object] | None) -> StreamRecord:
    return StreamRecord(
        community_id=1,
        platform="x",
        platform_record_id="r",
        kind="message_posted",
        occurred_at=datetime.now(UTC),
        raw=raw,
    )


def test_languages_and_admins_read_off_the_payload() -> None:
    tg = _record({"message": {"from": {"language_code": "en-GB"}}})
    assert record_language(tg, "zh-CN") == "en"
    assert record_language(_record({"message": {"from": {"language_code": "zh-hans"}}}), "en") == (
        "zh-CN"
    )
    assert record_language(_record(None), "zh-CN") == "zh-CN"
    assert record_language(_record({"message": "not a mapping"}), "en") == "en"
    assert platform_admin(_record({"sender": {"role": "owner"}}))
    assert not platform_admin(_record({"sender": {"role": "member"}}))
    assert message_kind("red_packet") is MessageKind.red_packet
    assert message_kind("hologram") is MessageKind.other
    assert message_kind(None) is MessageKind.text


def test_ladder_steps_become_platform_actions() -> None:
    assert step_actions(LadderStep(action=StepAction.warn), "7") == []
    mute = step_actions(LadderStep(action=StepAction.mute, seconds=3600), "7")
    assert [(k.value, p) for k, p in mute] == [("mute", {"user": "7", "seconds": 3600})]
    remove = step_actions(LadderStep(action=StepAction.remove), "7")
    assert [(k.value, p) for k, p in remove] == [("kick", {"user": "7", "reject_rejoin": False})]
    ban = step_actions(LadderStep(action=StepAction.ban), "7")
    assert [(k.value, p) for k, p in ban] == [("ban", {"user": "7"})]


def test_own_short_links_are_the_base_urls_host() -> None:
    assert own_link_hosts("https://Qy.Example.org:8443/x") == ("qy.example.org",)
    assert own_link_hosts("not a url") == ()
