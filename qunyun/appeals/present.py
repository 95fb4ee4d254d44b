"""A case and its appeals as people read them: the rule, the matched text, the step
taken and when, in one language and one time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from qunyun.appeals.notify import rule_name
from qunyun.appeals.queue import AppealRow
from qunyun.appeals.rules import is_self_review
from qunyun.appeals.schemas import AppealOut, CaseOut, EvidenceOut
from qunyun.community.models import Community, Group
from qunyun.i18n import gettext
from qunyun.moderation.evaluate import duration_text
from qunyun.moderation.models import Appeal, ModerationCase


@dataclass(frozen=True)
class EvidenceView:
    text: str
    # 1-based first and last character of the match in the message, when known.
    span: tuple[int, int] | None
    # The normalised form, when it differs from the text (an evasion undone).
    normalized: str | None


@dataclass(frozen=True)
class CaseView:
    id: int
    rule: str
    evidence: list[EvidenceView]
    step: str
    when: str
    group_name: str | None
    status: str


def local_time(value: datetime | None, zone: str) -> str:
    if value is None:
        return ""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("Asia/Shanghai")
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def step_text(case: ModerationCase, lang: str) -> str:
    parts = []
    if case.delete_message:
        parts.append(gettext("appeal.step.delete", lang))
    if case.grave and case.step_action in ("ban", "remove"):
        parts.append(gettext("appeal.step.grave", lang))
    elif case.step_action == "mute":
        parts.append(
            gettext("appeal.step.mute", lang, duration=duration_text(case.step_seconds, lang))
        )
    elif case.step_action in ("warn", "remove", "ban"):
        parts.append(gettext(f"appeal.step.{case.step_action}", lang))
    if not parts:
        return gettext("appeal.step.none", lang)
    return ("，" if lang == "zh-CN" else "; ").join(parts)


def _evidence(item: Any) -> EvidenceView | None:
    if not isinstance(item, dict):
        return None
    text = str(item.get("text") or "")
    span = item.get("span")
    where = None
    if isinstance(span, list | tuple) and len(span) == 2 and all(isinstance(n, int) for n in span):
        where = (span[0] + 1, span[1])
    normalized = item.get("normalized")
    shown = str(normalized) if normalized and normalized != text else None
    if not text and shown is None:
        return None
    return EvidenceView(text, where, shown)


def zone_of(session: Session, case: ModerationCase, group: Group | None) -> str:
    if group is not None and group.timezone:
        return group.timezone
    community = session.get(Community, case.community_id)
    return community.timezone if community is not None else "Asia/Shanghai"


def case_view(session: Session, case: ModerationCase, lang: str) -> CaseView:
    group = session.get(Group, case.group_id) if case.group_id is not None else None
    evidence = [v for v in (_evidence(e) for e in case.evidence or []) if v is not None]
    return CaseView(
        id=case.id,
        rule=rule_name(case, lang),
        evidence=evidence,
        step=step_text(case, lang),
        when=local_time(case.occurred_at, zone_of(session, case, group)),
        group_name=group.name if group is not None else None,
        status=case.status,
    )


def self_reviewed(appeal: Appeal, case: ModerationCase) -> bool:
    return appeal.status != "open" and is_self_review(
        appeal.reviewer_id, case.acted_by_id, appeal.opened_by_id
    )


def evidence_out(item: Any) -> EvidenceOut | None:
    if not isinstance(item, dict):
        return None
    span = item.get("span")
    ends = None
    if isinstance(span, list | tuple) and len(span) == 2 and all(isinstance(n, int) for n in span):
        ends = [int(span[0]), int(span[1])]
    return EvidenceOut(
        text=str(item.get("text") or ""),
        span=ends,
        normalized=str(item["normalized"]) if item.get("normalized") else None,
    )


def case_out(case: ModerationCase, group_name: str | None) -> CaseOut:
    return CaseOut(
        id=case.id,
        group_id=case.group_id,
        group_name=group_name,
        member_id=case.member_id,
        rule_id=case.rule_id,
        rule=dict(case.label or {}),
        category=case.category,
        severity=case.severity,
        evidence=[e for e in (evidence_out(i) for i in case.evidence or []) if e is not None],
        step_action=case.step_action,
        step_seconds=case.step_seconds,
        delete_message=case.delete_message,
        status=case.status,
        source=case.source,
        acted_by_id=case.acted_by_id,
        language=case.language,
        occurred_at=case.occurred_at,
    )


def appeal_out(row: AppealRow) -> AppealOut:
    a = row.appeal
    return AppealOut(
        id=a.id,
        case_id=a.case_id,
        via=a.via,
        statement=a.statement,
        status=a.status,
        opened_by_id=a.opened_by_id,
        opened_by=row.opened_by,
        reviewer_id=a.reviewer_id,
        reviewer=row.reviewer,
        decision_note=a.decision_note,
        self_review=self_reviewed(a, row.case),
        member_name=row.member_name,
        created_at=a.created_at,
        decided_at=a.decided_at,
        case=case_out(row.case, row.group_name),
    )
