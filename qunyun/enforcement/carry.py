"""Carrying out decisions: a case per decision, the member's warning, the platform
actions through the outbox, the notice, the shared ban list and the audit log.

The same path serves the rule book (source "auto"), the review queue ("report") and
an operator acting by hand ("operator"). Services never commit: the caller does.

- A case per decision, unique per (group, message, rule): a decision already recorded
  for that message is skipped, so a redelivered or edited message adds nothing.
- Dry-run decisions and exempt ones are recorded and nothing else happens: no action,
  no warning, no notice.
- Otherwise: the message is deleted once (when a decision says so), the stepped
  decision leaves a warning and its ladder step (warn: the notice only; mute; remove;
  ban, which also puts the person on the community's shared ban list), and the member
  is told. Every outbox row names its case in ``reason`` ("moderation:<case id>").
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qunyun.community.models import Group
from qunyun.moderation import audit
from qunyun.moderation.bans import add_ban
from qunyun.moderation.evaluate import Decision
from qunyun.moderation.models import MemberWarning, ModerationCase
from qunyun.moderation.rulebook import LadderStep, LocalText, RuleBook, StepAction
from qunyun.platforms.actions import ActionKind
from qunyun.platforms.models import PlatformAction
from qunyun.platforms.outbox import enqueue

from .env import EnforcementEnv
from .notices import queue_notice

TOKEN_BYTES = 24
MAX_TEXT = 4000


@dataclass(frozen=True)
class Subject:
    """Who and what the decisions are about."""

    community_id: int
    group: Group
    member_id: int | None
    platform_user_id: str | None
    display_name: str
    # The member's language for the notice.
    language: str
    occurred_at: datetime
    record_id: int | None = None
    # The platform's message id (deleted when a decision says so).
    message_id: str | None = None
    message_text: str | None = None
    # What a case without a message is filed under (e.g. "nickname:12:1718000000"),
    # so that repeating the same check records nothing new.
    case_key: str | None = None
    # The member's role in the group and whether the platform calls them an admin:
    # recorded in the audit log, never consulted (an admin is judged like anyone).
    role: str = "member"
    is_admin: bool = False

    @property
    def key(self) -> str | None:
        return self.message_id or self.case_key


@dataclass(frozen=True)
class Citation:
    """The rule book (stored row and version) the decisions came from."""

    rule_book_id: int | None = None
    version: int | None = None


@dataclass
class Outcome:
    cases: list[ModerationCase] = field(default_factory=list)
    warning: MemberWarning | None = None
    actions: list[PlatformAction] = field(default_factory=list)
    notice: PlatformAction | None = None


NoticeText = Callable[[Decision, ModerationCase, bool], str]


def new_appeal_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def local_texts(text: LocalText) -> dict[str, str]:
    return {"zh-CN": text.get("zh-CN"), "en": text.get("en")}


def evidence_rows(decision: Decision) -> list[dict[str, Any]]:
    return [
        {
            "text": e.text,
            "span": list(e.span) if e.span is not None else None,
            "normalized": e.normalized,
            "detail": dict(e.detail),
        }
        for e in decision.evidence
    ]


def recorded_rules(session: Session, group_id: int, key: str) -> set[str]:
    """Rules already decided for this message (or case key) in this group."""
    return set(
        session.scalars(
            select(ModerationCase.rule_id).where(
                ModerationCase.group_id == group_id, ModerationCase.message_id == key
            )
        )
    )


def status_of(decision: Decision) -> str:
    if decision.exempt:
        return "exempt"
    if decision.dry_run:
        return "dry_run"
    return "applied"


def step_actions(step: LadderStep, user: str) -> list[tuple[ActionKind, dict[str, Any]]]:
    """The platform actions of a ladder step (a warning is the notice alone)."""
    if step.action is StepAction.mute:
        return [(ActionKind.mute, {"user": user, "seconds": step.seconds})]
    if step.action is StepAction.remove:
        return [(ActionKind.kick, {"user": user, "reject_rejoin": False})]
    if step.action is StepAction.ban:
        return [(ActionKind.ban, {"user": user})]
    return []


def _case(
    subject: Subject,
    decision: Decision,
    citation: Citation,
    *,
    source: str,
    acted_by_id: int | None,
    now: datetime,
) -> ModerationCase:
    status = status_of(decision)
    step = decision.step
    exemption = decision.exemption
    return ModerationCase(
        community_id=subject.community_id,
        group_id=subject.group.id,
        member_id=subject.member_id,
        record_id=subject.record_id,
        message_id=subject.key,
        message_text=(subject.message_text or None) and subject.message_text[:MAX_TEXT],
        rule_id=decision.rule_id[:80],
        category=decision.category,
        severity=decision.severity.value,
        label=local_texts(decision.label),
        evidence=evidence_rows(decision),
        rule_book_id=citation.rule_book_id,
        rule_book_version=citation.version,
        step_action=step.step.action.value if step is not None else None,
        step_seconds=step.step.seconds if step is not None else 0,
        step_index=step.index if step is not None else None,
        grave=bool(step is not None and step.grave),
        delete_message=decision.delete_message,
        dry_run=decision.dry_run,
        exemption=(
            {"index": exemption.index, "reason": local_texts(exemption.reason)}
            if exemption is not None
            else None
        ),
        status=status,
        source=source,
        acted_by_id=acted_by_id,
        action_ids=[],
        appeal_token=new_appeal_token() if status == "applied" else None,
        language=subject.language,
        occurred_at=subject.occurred_at,
        created_at=now,
    )


def carry_out(
    session: Session,
    env: EnforcementEnv,
    subject: Subject,
    decisions: list[Decision],
    book: RuleBook,
    citation: Citation,
    notice_text: NoticeText,
    *,
    source: str = "auto",
    acted_by_id: int | None = None,
    now: datetime,
    known_rules: Collection[str] | None = None,
) -> Outcome:
    """Record ``decisions`` (gravest first, as evaluate returns them) and act on them.

    ``known_rules``: rules already recorded for this message (the caller loaded them
    for a whole batch); looked up when not given.
    """
    outcome = Outcome()
    key = subject.key
    if key is not None and known_rules is None:
        known_rules = recorded_rules(session, subject.group.id, key)
    fresh = [d for d in decisions if key is None or d.rule_id not in (known_rules or ())]
    if not fresh:
        return outcome
    pairs = [
        (d, _case(subject, d, citation, source=source, acted_by_id=acted_by_id, now=now))
        for d in fresh
    ]
    session.add_all([case for _, case in pairs])
    session.flush()
    outcome.cases = [case for _, case in pairs]
    applied = [(d, c) for d, c in pairs if c.status == "applied"]
    if applied:
        _act(session, env, subject, applied, book, notice_text, outcome, acted_by_id, now)
    for decision, case in pairs:
        _audit(session, subject, decision, case, acted_by_id)
    return outcome


def _queue(
    session: Session,
    env: EnforcementEnv,
    subject: Subject,
    case: ModerationCase,
    kind: ActionKind,
    params: dict[str, Any],
    acted_by_id: int | None,
) -> PlatformAction:
    return enqueue(
        session,
        community_id=subject.community_id,
        group=subject.group,
        kind=kind,
        params=params,
        reason=f"moderation:{case.id}",
        requested_by_id=acted_by_id,
        wake=env.wake,
    )


def _act(
    session: Session,
    env: EnforcementEnv,
    subject: Subject,
    applied: list[tuple[Decision, ModerationCase]],
    book: RuleBook,
    notice_text: NoticeText,
    outcome: Outcome,
    acted_by_id: int | None,
    now: datetime,
) -> None:
    deleting = [c for d, c in applied if d.delete_message]
    deleted = False
    if deleting and subject.message_id:
        action = _queue(
            session,
            env,
            subject,
            deleting[0],
            ActionKind.delete_message,
            {"message_id": subject.message_id},
            acted_by_id,
        )
        outcome.actions.append(action)
        deleted = True
        for case in deleting:
            case.action_ids = [*case.action_ids, action.id]
    stepped = next(((d, c) for d, c in applied if d.step is not None), None)
    if stepped is None:
        return
    decision, case = stepped
    step = decision.step
    assert step is not None
    # A step of weight 0 (the nickname rule's action) leaves nothing on the record.
    if subject.member_id is not None and step.weight > 0:
        outcome.warning = MemberWarning(
            community_id=subject.community_id,
            member_id=subject.member_id,
            case_id=case.id,
            weight=step.weight,
            given_at=now,
            expires_at=now + timedelta(days=book.ladder.warning_expiry_days),
        )
        session.add(outcome.warning)
    user = subject.platform_user_id
    if user:
        for kind, params in step_actions(step.step, user):
            action = _queue(session, env, subject, case, kind, params, acted_by_id)
            outcome.actions.append(action)
            case.action_ids = [*case.action_ids, action.id]
        if step.step.action is StepAction.ban:
            add_ban(
                session,
                subject.community_id,
                subject.group.platform,
                user,
                reason=f"{decision.label.get(subject.language)} (#{case.id})",
                display_name=subject.display_name,
                member_id=subject.member_id,
                case_id=case.id,
                added_by_id=acted_by_id,
                now=now,
            )
        outcome.notice = queue_notice(
            session,
            env,
            subject,
            case,
            book.notice.where,
            notice_text,
            decision,
            reply=not deleted,
            acted_by_id=acted_by_id,
        )
        if outcome.notice is not None:
            case.notice_action_id = outcome.notice.id
    session.flush()


def _audit(
    session: Session,
    subject: Subject,
    decision: Decision,
    case: ModerationCase,
    acted_by_id: int | None,
) -> None:
    step = case.step_action or "-"
    if case.step_action == StepAction.mute.value:
        step = f"mute {case.step_seconds}s"
    audit.record(
        session,
        subject.community_id,
        "case.created",
        summary=f"{case.rule_id} · {step} · {case.status}",
        actor_user_id=acted_by_id,
        group_id=subject.group.id,
        member_id=subject.member_id,
        case_id=case.id,
        detail={
            "rule": case.rule_id,
            "step": case.step_action,
            "seconds": case.step_seconds,
            "status": case.status,
            "source": case.source,
            "severity": case.severity,
            "role": subject.role,
            "is_admin": subject.is_admin,
            "actions": list(case.action_ids),
            "exemption": decision.exemption.index if decision.exemption is not None else None,
        },
    )
