"""Judge one message against a rule book, and explain the judgement. Pure.

:func:`evaluate` returns one :class:`Decision` per rule the message breaks. Nobody is
special: a group owner or a Qunyun admin is judged like a newcomer unless the rule book
names them in an explicit exemption, and then the decision says so and cites it. One
message earns at most one ladder step (on its gravest decision); the others only delete.

Times: rules about the message (quiet hours, flood, newcomer) use the message's own
time; the ladder (which warnings are still active) uses ``now``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from qunyun.i18n import gettext
from qunyun.moderation.flood import FloodTracker
from qunyun.moderation.ladder import LadderOutcome, PastWarning, next_step
from qunyun.moderation.links import FoundLink, find_links, host_of, refused_links
from qunyun.moderation.quiet import is_quiet, zone_for
from qunyun.moderation.rulebook import (
    SEVERITY_RANK,
    GroupRole,
    LocalText,
    NewcomerLimit,
    RuleBook,
    Severity,
    StepAction,
)
from qunyun.stream.records import MessageKind, MessagePosted


class MatchLike(Protocol):
    """What evaluate reads of a text match (qunyun.moderation.text's Match)."""

    @property
    def category(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def original_span(self) -> tuple[int, int]: ...
    @property
    def original_text(self) -> str: ...
    @property
    def normalized_text(self) -> str: ...


class Matcher(Protocol):
    """qunyun.moderation.text.matcher.Matcher, or a stub in tests."""

    def scan(
        self,
        text: str,
        *,
        message_kind: MessageKind | str | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> Sequence[MatchLike]: ...


@dataclass(frozen=True, slots=True)
class MessageContext:
    group_id: int
    message_id: str
    occurred_at: datetime
    text: str = ""
    kind: MessageKind = MessageKind.text
    mentions: int = 0
    mention_all: bool = False
    # Links the platform gave outside the text (a shared link card's URL).
    urls: tuple[str, ...] = ()
    group_timezone: str | None = None
    # The community's own short-link hosts (always allowed unless links are "none").
    own_link_hosts: tuple[str, ...] = ()
    # The platform's payload (lets the matcher recognise contact and mini-program cards).
    raw: Mapping[str, Any] | None = None
    # What the matcher found in the message's images (QR codes), decoded by the caller:
    # fetching images is I/O, and evaluate stays pure.
    image_matches: tuple[MatchLike, ...] = ()

    @classmethod
    def from_record(
        cls,
        record: MessagePosted,
        *,
        group_id: int,
        group_timezone: str | None = None,
        own_link_hosts: tuple[str, ...] = (),
        urls: tuple[str, ...] = (),
    ) -> MessageContext:
        return cls(
            group_id=group_id,
            message_id=record.message_id,
            occurred_at=record.occurred_at,
            text=record.text,
            kind=record.message_kind,
            mentions=len(record.mentions),
            mention_all=record.mention_all,
            urls=urls,
            group_timezone=group_timezone,
            own_link_hosts=own_link_hosts,
            raw=record.raw,
        )


@dataclass(frozen=True, slots=True)
class MemberContext:
    member_id: int
    role: GroupRole = GroupRole.member
    joined_at: datetime | None = None
    # Messages the member sent in this group before this one.
    messages_before: int = 0
    warnings: tuple[PastWarning, ...] = ()
    # A Qunyun admin/owner of the community: recorded, and deliberately never consulted.
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class Evidence:
    text: str = ""
    # Character offsets in the original message text, end exclusive.
    span: tuple[int, int] | None = None
    normalized: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExemptionRef:
    index: int
    reason: LocalText


@dataclass(frozen=True, slots=True)
class Decision:
    rule_id: str
    category: str | None
    severity: Severity
    label: LocalText
    evidence: tuple[Evidence, ...]
    message_id: str
    member_id: int
    delete_message: bool = False
    step: LadderOutcome | None = None
    exemption: ExemptionRef | None = None
    dry_run: bool = False

    @property
    def exempt(self) -> bool:
        return self.exemption is not None


@dataclass(frozen=True, slots=True)
class _Violation:
    rule_id: str
    severity: Severity
    evidence: tuple[Evidence, ...]
    category: str | None = None
    label: LocalText | None = None


def evaluate(
    book: RuleBook,
    message: MessageContext,
    member: MemberContext,
    matcher: Matcher | None,
    flood: FloodTracker | None,
    now: datetime,
) -> list[Decision]:
    """Every rule ``message`` breaks, gravest first; exempt ones last, each with its reason."""
    violations = [
        *_categories(book, message, matcher),
        *_links(book, message),
        *_media(book, message),
        *_newcomer(book, message, member),
        *_quiet(book, message),
        *_flood(book, message, member, flood),
    ]
    judged: list[tuple[_Violation, ExemptionRef | None]] = [
        (v, _exemption(book, v.rule_id, member)) for v in violations
    ]
    grave = set(book.ladder.grave_categories)
    judged.sort(
        key=lambda pair: (
            pair[1] is not None,
            pair[0].category not in grave,
            -SEVERITY_RANK[pair[0].severity],
        )
    )
    decisions: list[Decision] = []
    stepped = False
    for violation, exemption in judged:
        step = None
        if exemption is None and not stepped:
            step = next_step(
                book.ladder,
                member.warnings,
                now,
                severity=violation.severity,
                category=violation.category,
                dry_run=book.dry_run,
            )
            stepped = True
        decisions.append(
            Decision(
                rule_id=violation.rule_id,
                category=violation.category,
                severity=violation.severity,
                label=violation.label or _rule_label(violation.rule_id),
                evidence=violation.evidence,
                message_id=message.message_id,
                member_id=member.member_id,
                delete_message=exemption is None and book.notice.delete_message,
                step=step,
                exemption=exemption,
                dry_run=book.dry_run,
            )
        )
    return decisions


def _exemption(book: RuleBook, rule_id: str, member: MemberContext) -> ExemptionRef | None:
    for index, entry in enumerate(book.exemptions):
        named = member.member_id in entry.member_ids or member.role in entry.roles
        if named and entry.covers_rule(rule_id):
            return ExemptionRef(index, entry.reason)
    return None


def _categories(
    book: RuleBook, message: MessageContext, matcher: Matcher | None
) -> list[_Violation]:
    if matcher is None:
        return []
    by_category: dict[str, list[Evidence]] = defaultdict(list)
    found = [
        *matcher.scan(message.text, message_kind=message.kind, raw=message.raw),
        *message.image_matches,
    ]
    for match in found:
        category = book.categories.get(match.category)
        if category is None or not category.enabled:
            continue
        start, end = int(match.original_span[0]), int(match.original_span[1])
        by_category[match.category].append(
            Evidence(
                text=match.original_text,
                # A whole-message detection (a card, a QR code) has no span in the text.
                span=(start, end) if end > start else None,
                normalized=match.normalized_text,
                detail={"kind": str(match.kind), "matcher_rule": match.rule_id},
            )
        )
    return [
        _Violation(
            f"category:{name}",
            book.categories[name].severity,
            tuple(evidence),
            category=name,
            label=book.categories[name].label or LocalText.model_validate(name),
        )
        for name, evidence in by_category.items()
    ]


def _all_links(message: MessageContext) -> list[FoundLink]:
    links = find_links(message.text)
    for url in message.urls:
        host = host_of(url)
        if host:
            links.append(FoundLink(url, host, (0, 0)))
    return links


def _links(book: RuleBook, message: MessageContext) -> list[_Violation]:
    links = _all_links(message)
    refused = refused_links(book.links, links, message.own_link_hosts)
    evidence = [_link_evidence(link) for link in refused]
    if message.kind is MessageKind.link and not links and book.links.mode.value != "any":
        # A link card whose address the platform did not give: it cannot be checked.
        evidence.append(Evidence(detail={"kind": MessageKind.link.value}))
    if not evidence:
        return []
    return [_Violation("links", book.links.severity, tuple(evidence))]


def _link_evidence(link: FoundLink) -> Evidence:
    span = link.span if link.span != (0, 0) else None
    return Evidence(text=link.url, span=span, detail={"host": link.host})


def _media(book: RuleBook, message: MessageContext) -> list[_Violation]:
    if message.kind not in book.media.banned:
        return []
    evidence = Evidence(detail={"kind": message.kind.value})
    return [_Violation("media", book.media.severity, (evidence,))]


def is_newcomer(book: RuleBook, member: MemberContext, at: datetime) -> bool:
    rules = book.newcomer
    by_time = (
        rules.hours > 0
        and member.joined_at is not None
        and at < member.joined_at + timedelta(hours=rules.hours)
    )
    by_count = rules.messages > 0 and member.messages_before < rules.messages
    return by_time or by_count


_NEWCOMER_KINDS = {
    NewcomerLimit.image: MessageKind.image,
    NewcomerLimit.card: MessageKind.card,
    NewcomerLimit.file: MessageKind.file,
    NewcomerLimit.video: MessageKind.video,
    NewcomerLimit.voice: MessageKind.voice,
}


def _newcomer(book: RuleBook, message: MessageContext, member: MemberContext) -> list[_Violation]:
    rules = book.newcomer
    if not rules.limits or not is_newcomer(book, member, message.occurred_at):
        return []
    used: list[Evidence] = []
    for limit in rules.limits:
        hit = False
        if limit is NewcomerLimit.link:
            hit = message.kind is MessageKind.link or bool(_all_links(message))
        elif limit is NewcomerLimit.mention:
            hit = message.mentions > 0 or message.mention_all
        else:
            hit = message.kind is _NEWCOMER_KINDS[limit]
        if hit:
            used.append(
                Evidence(
                    detail={
                        "limit": limit.value,
                        "hours": rules.hours,
                        "messages": rules.messages,
                    }
                )
            )
    return [_Violation("newcomer", rules.severity, tuple(used))] if used else []


def _quiet(book: RuleBook, message: MessageContext) -> list[_Violation]:
    rules = book.quiet_hours
    zone = zone_for(rules, message.group_timezone)
    if not is_quiet(rules, message.occurred_at, zone):
        return []
    evidence = Evidence(
        detail={
            "start": rules.start.strftime("%H:%M"),
            "end": rules.end.strftime("%H:%M"),
            "timezone": zone.key,
        }
    )
    return [_Violation("quiet_hours", rules.severity, (evidence,))]


def _flood(
    book: RuleBook, message: MessageContext, member: MemberContext, tracker: FloodTracker | None
) -> list[_Violation]:
    rules = book.flood
    if tracker is None or not rules.enabled:
        return []
    verdict = tracker.observe(
        (message.group_id, member.member_id),
        rules,
        message.occurred_at.timestamp(),
        text=message.text,
        mentions=message.mentions,
        mention_all=message.mention_all,
    )
    out = []
    if verdict.rate:
        detail = {
            "count": verdict.messages_in_window,
            "limit": rules.max_messages,
            "seconds": rules.window_seconds,
        }
        out.append(_Violation("flood.rate", rules.severity, (Evidence(detail=detail),)))
    if verdict.repeat:
        detail = {"count": verdict.same_text, "seconds": rules.repeat_window_seconds}
        evidence = Evidence(text=message.text[:200], detail=detail)
        out.append(_Violation("flood.repeat", rules.severity, (evidence,)))
    if verdict.mentions:
        detail = {
            "count": verdict.mentions_in_window,
            "limit": rules.max_mentions,
            "seconds": rules.window_seconds,
            "mention_all": verdict.mention_all,
        }
        out.append(_Violation("flood.mentions", rules.severity, (Evidence(detail=detail),)))
    return out


def _rule_label(rule_id: str) -> LocalText:
    key = f"moderation.rule.{rule_id}"
    return LocalText.model_validate({"zh-CN": gettext(key, "zh-CN"), "en": gettext(key, "en")})


# --- explanations -------------------------------------------------------------------


def duration_text(seconds: int, lang: str) -> str:
    """3600 -> "1 小时" / "1 hour"; whole days, hours or minutes."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            key = f"moderation.unit.{unit}" + ("" if count == 1 else "s")
            return gettext(key, lang, n=count)
    return gettext("moderation.unit.seconds", lang, n=seconds)


def _evidence_text(decision: Decision, evidence: Evidence, lang: str) -> str:
    d = evidence.detail
    rule = decision.rule_id
    if decision.category is not None and evidence.span is not None:
        key = "moderation.evidence.match"
        if evidence.normalized and evidence.normalized != evidence.text:
            key = "moderation.evidence.match_normalized"
        return gettext(
            key,
            lang,
            text=evidence.text,
            start=evidence.span[0] + 1,
            end=evidence.span[1],
            normalized=evidence.normalized or "",
        )
    if decision.category is not None:
        return gettext("moderation.evidence.detected", lang, value=evidence.normalized or "")
    if rule == "links":
        if "host" in d:
            return gettext("moderation.evidence.link", lang, url=evidence.text, host=d["host"])
        return gettext("moderation.evidence.link_card", lang)
    if rule == "media":
        return gettext("moderation.evidence.media", lang, kind=_kind_text(str(d["kind"]), lang))
    if rule == "newcomer":
        key = "moderation.evidence.newcomer"
        if not d["messages"]:
            key += "_hours"
        elif not d["hours"]:
            key += "_messages"
        return gettext(
            key,
            lang,
            what=gettext(f"moderation.newcomer.{d['limit']}", lang),
            hours=d["hours"],
            messages=d["messages"],
        )
    if rule == "quiet_hours":
        return gettext("moderation.evidence.quiet", lang, **d)
    if rule == "flood.rate":
        return gettext("moderation.evidence.flood_rate", lang, **d)
    if rule == "flood.repeat":
        return gettext("moderation.evidence.flood_repeat", lang, **d)
    if rule == "flood.mentions":
        if d.get("mention_all"):
            return gettext("moderation.evidence.mention_all", lang)
        return gettext("moderation.evidence.flood_mentions", lang, **d)
    return evidence.text


def _kind_text(kind: str, lang: str) -> str:
    return gettext(f"moderation.kind.{kind}", lang)


def _step_text(step: LadderOutcome, lang: str) -> str:
    if step.grave:
        return gettext("moderation.step.grave_ban", lang)
    action = step.step.action
    n = step.active_weight + step.weight
    if action is StepAction.warn:
        return gettext("moderation.step.warn", lang, n=n)
    if action is StepAction.mute:
        return gettext(
            "moderation.step.mute", lang, n=n, duration=duration_text(step.step.seconds, lang)
        )
    return gettext(f"moderation.step.{action.value}", lang, n=n)


def explain(
    decision: Decision,
    lang: str,
    *,
    appeal_url: str = "",
    appeal_text: LocalText | None = None,
    expiry_days: int | None = None,
) -> str:
    """A polite explanation for the member (and the log): rule, evidence, step, appeal."""
    lines: list[str] = []
    if decision.dry_run:
        lines.append(gettext("moderation.explain.dry_run", lang))
    rule = decision.label.get(lang)
    if decision.exempt and decision.exemption is not None:
        lines.append(
            gettext(
                "moderation.explain.exempt",
                lang,
                rule=rule,
                reason=decision.exemption.reason.get(lang),
                n=decision.exemption.index + 1,
            )
        )
    else:
        lines.append(gettext("moderation.explain.broke", lang, rule=rule))
    lines.extend("· " + _evidence_text(decision, e, lang) for e in decision.evidence)
    if decision.exempt:
        return "\n".join(lines)
    actions = []
    if decision.delete_message:
        actions.append(gettext("moderation.step.delete", lang))
    if decision.step is not None:
        actions.append(_step_text(decision.step, lang))
    if actions:
        joiner = "，" if lang == "zh-CN" else "; "
        lines.append(gettext("moderation.explain.action", lang, actions=joiner.join(actions)))
    if decision.step is not None and not decision.step.grave and expiry_days:
        lines.append(gettext("moderation.explain.expiry", lang, days=expiry_days))
    if appeal_url:
        lines.append(gettext("moderation.explain.appeal_url", lang, url=appeal_url))
    elif appeal_text:
        lines.append(appeal_text.get(lang))
    else:
        lines.append(gettext("moderation.explain.appeal", lang))
    return "\n".join(lines)
