"""Decisions, exemptions, explanations and the published rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from qunyun.moderation.book_matcher import matcher_for
from qunyun.moderation.evaluate import (
    MemberContext,
    MessageContext,
    evaluate,
    explain,
)
from qunyun.moderation.flood import FloodTracker
from qunyun.moderation.ladder import PastWarning
from qunyun.moderation.published import render_rules
from qunyun.moderation.rulebook import GroupRole, RuleBook, StepAction, merge_override
from qunyun.moderation.yaml_io import load_rulebook
from qunyun.stream.records import MessageKind

DEFAULT = load_rulebook(
    (
        Path(__file__).resolve().parents[2] / "qunyun/moderation/data/default_rulebook.yaml"
    ).read_text()
)
NOW = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@dataclass(frozen=True)
class StubMatch:
    category: str
    rule_id: str
    kind: str
    original_span: tuple[int, int]
    original_text: str
    normalized_text: str


class StubMatcher:
    """Finds the literal words it was given."""

    def __init__(self, words: Mapping[str, str]) -> None:
        self.words = words

    def scan(
        self,
        text: str,
        *,
        message_kind: MessageKind | str | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> list[StubMatch]:
        out = []
        for word, category in self.words.items():
            at = text.find(word)
            if at >= 0:
                out.append(StubMatch(category, word, "word", (at, at + len(word)), word, word))
        return out


STUB = StubMatcher({"加薇信": "ads", "冰毒": "drugs"})


def message(text: str, **kw: Any) -> MessageContext:
    kw.setdefault("occurred_at", NOW)
    return MessageContext(group_id=1, message_id="m1", text=text, **kw)


def member(**kw: Any) -> MemberContext:
    return MemberContext(member_id=7, joined_at=NOW - timedelta(days=30), **kw)


def test_a_category_match_deletes_and_warns_with_its_evidence() -> None:
    (decision,) = evaluate(DEFAULT, message("你好 加薇信 领资料"), member(), STUB, None, NOW)
    assert (decision.rule_id, decision.category) == ("category:ads", "ads")
    assert decision.evidence[0].span == (3, 6)
    assert decision.delete_message and not decision.exempt
    assert decision.step is not None and decision.step.step.action is StepAction.warn
    zh = explain(decision, "zh-CN", appeal_url="https://q.example/a/1", expiry_days=30)
    en = explain(decision, "en", appeal_url="https://q.example/a/1", expiry_days=30)
    assert "广告与引流" in zh and "“加薇信”" in zh and "第 4–6 个字" in zh
    assert "提醒（第 1 次）" in zh and "https://q.example/a/1" in zh and "30 天" in zh
    assert 'rule "Advertising and contact solicitation"' in en and "characters 4–6" in en
    assert "a warning (number 1)" in en and "appeal here: https://q.example/a/1" in en


def test_one_message_earns_one_step_and_grave_categories_ban() -> None:
    decisions = evaluate(
        DEFAULT, message("加薇信 冰毒 https://evil.example.com"), member(), STUB, None, NOW
    )
    assert decisions[0].rule_id == "category:drugs"
    assert [d.step is not None for d in decisions] == [True, False, False]
    assert decisions[0].step is not None and decisions[0].step.grave
    assert "移出并不再允许加入" in explain(decisions[0], "zh-CN")
    assert {d.rule_id for d in decisions} == {"category:drugs", "category:ads", "links"}


def test_warnings_climb_the_ladder() -> None:
    past = tuple(PastWarning(NOW - timedelta(days=d)) for d in (1, 2))
    (decision,) = evaluate(DEFAULT, message("加薇信"), member(warnings=past), STUB, None, NOW)
    assert decision.step is not None
    assert (decision.step.step.action, decision.step.step.seconds) == (StepAction.mute, 86400)
    assert "禁言 1 天（第 3 次）" in explain(decision, "zh-CN")
    assert "muted for 1 day (number 3)" in explain(decision, "en")


def test_links_media_newcomer_quiet_and_flood() -> None:
    book = merge_override(
        DEFAULT,
        {"quiet_hours": {"enabled": True, "start": "11:00", "end": "13:00"}},
    )
    newcomer = MemberContext(member_id=8, joined_at=NOW - timedelta(hours=1))
    kinds = {
        d.rule_id
        for d in evaluate(
            book,
            message("看 t.cn/abc", kind=MessageKind.red_packet, own_link_hosts=("q.example",)),
            newcomer,
            None,
            None,
            NOW,
        )
    }
    assert kinds == {"links", "media", "newcomer", "quiet_hours"}
    ok = evaluate(
        DEFAULT,
        message("https://q.example/spring", own_link_hosts=("q.example",)),
        member(),
        None,
        None,
        NOW,
    )
    assert ok == []
    tracker = FloodTracker()
    rules = []
    for i in range(11):
        sent = message(f"第{i}条", occurred_at=NOW + timedelta(seconds=i))
        rules = [d.rule_id for d in evaluate(DEFAULT, sent, member(), None, tracker, NOW)]
    assert rules == ["flood.rate"]
    (mention_all,) = evaluate(
        DEFAULT, message("通知", mention_all=True), member(), None, FloodTracker(), NOW
    )
    assert "@所有人" in explain(mention_all, "zh-CN") and "@all" in explain(mention_all, "en")


roles = st.sampled_from(list(GroupRole))
texts = st.sampled_from(["你好", "加薇信", "冰毒 加薇信", "https://x.example.org", "t.cn/x 加薇信"])


@settings(max_examples=60, deadline=None)
@given(texts, roles, st.booleans(), st.sampled_from(list(MessageKind)))
def test_admins_and_owners_are_judged_like_everyone(
    text: str, role: GroupRole, is_admin: bool, kind: MessageKind
) -> None:
    plain = evaluate(DEFAULT, message(text, kind=kind), member(), STUB, None, NOW)
    special = evaluate(
        DEFAULT, message(text, kind=kind), member(role=role, is_admin=is_admin), STUB, None, NOW
    )
    assert [replace(d, member_id=0) for d in plain] == [replace(d, member_id=0) for d in special]


def test_an_explicit_exemption_applies_and_is_cited() -> None:
    book = merge_override(
        DEFAULT,
        {
            "exemptions": [
                {
                    "roles": ["owner"],
                    "rules": ["links", "flood.mentions"],
                    "reason": {
                        "zh-CN": "群主发布官方通知",
                        "en": "The owner posts official notices",
                    },
                }
            ]
        },
    )
    text = "https://evil.example.com 加薇信"
    owner = evaluate(book, message(text), member(role=GroupRole.owner), STUB, None, NOW)
    by_rule = {d.rule_id: d for d in owner}
    assert by_rule["links"].exempt and not by_rule["links"].delete_message
    assert by_rule["links"].step is None
    assert not by_rule["category:ads"].exempt and by_rule["category:ads"].step is not None
    assert "群主发布官方通知" in explain(by_rule["links"], "zh-CN")
    assert "exemption 1" in explain(by_rule["links"], "en")
    steward = evaluate(book, message(text), member(role=GroupRole.steward), STUB, None, NOW)
    assert not any(d.exempt for d in steward)
    published = render_rules(book, "zh-CN")
    assert "群主（链接、过多@提及）：群主发布官方通知" in published


def test_dry_run_marks_everything() -> None:
    book = DEFAULT.model_copy(update={"dry_run": True})
    (decision,) = evaluate(book, message("加薇信"), member(), STUB, None, NOW)
    assert decision.dry_run and decision.step is not None and decision.step.dry_run
    assert explain(decision, "zh-CN").startswith("【试运行")
    assert explain(decision, "en").startswith("[Dry run")
    assert "试运行" in render_rules(book, "zh-CN")


def test_published_rules_in_both_languages() -> None:
    zh = render_rules(DEFAULT, "zh-CN", appeal_url="https://q.example/appeal")
    en = render_rules(DEFAULT, "en")
    assert zh.startswith("# 社群公约") and "## 违规处理" in zh and "第 2 次：禁言 1 小时" in zh
    assert "没有例外" in zh and "https://q.example/appeal" in zh
    assert en.startswith("# Community rules") and "Time 2: muted for 1 hour" in en
    assert "None: owners, admins and newcomers follow the same rules." in en
    assert len(zh.splitlines()) < 60
    quiet = merge_override(
        DEFAULT, {"quiet_hours": {"enabled": True}, "nickname": {"enabled": True}}
    )
    assert "23:30–06:30" in render_rules(quiet, "zh-CN")
    assert "5-1-3305 吕凯" in render_rules(quiet, "en")


def test_with_the_real_matcher() -> None:
    matcher = matcher_for(DEFAULT)
    decisions = evaluate(
        DEFAULT, message("我这有冰 毒，加扣扣 12345678"), member(), matcher, None, NOW
    )
    assert [d.category for d in decisions][:1] == ["drugs"]
    assert any(d.category == "ads" for d in decisions)
    drugs = decisions[0]
    assert drugs.evidence[0].text == "冰 毒" and drugs.evidence[0].normalized == "冰毒"
    assert "识别为“冰毒”" in explain(drugs, "zh-CN")
    assert RuleBook().categories == {}
    assert evaluate(RuleBook(), message("冰毒"), member(), matcher_for(RuleBook()), None, NOW) == []
