"""Member reports: a reply with one of the book's report keywords (举报, /report) puts
the message it answers into the review queue, once per reporter; operators dismiss
it, delete the message, or apply a rule, which makes a case (source "report") that
steps the ladder and acts like any other."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Group, Member
from qunyun.db.base import utcnow
from qunyun.errors import Conflict, DomainError, NotFound
from qunyun.moderation import audit
from qunyun.moderation.books import effective_book
from qunyun.moderation.models import MemberReport, MemberWarning, ModerationCase
from qunyun.moderation.rulebook import ReportRules
from qunyun.paging import Page
from qunyun.platforms.actions import ActionKind
from qunyun.platforms.outbox import enqueue
from qunyun.stream.models import StreamRecord

from .carry import Citation, Subject, carry_out, recorded_rules
from .decisions import past_warnings, rule_decision
from .env import EnforcementEnv
from .notices import reviewed_notice
from .reading import record_language

STATUSES = ("open", "actioned", "dismissed")
MAX_REASON = 500
MAX_PER_PAGE = 200
_LEADING_MENTIONS = re.compile(r"^(?:@\S+\s*)+")
_COMMAND_BOT = re.compile(r"^@\w+")


def parse_report(rules: ReportRules, text: str) -> str | None:
    """The reason a member gave when ``text`` is a report (may be empty), else None.

    The keyword comes first, after any @-mentions (QQ puts the replied-to sender's
    there); a command keyword (``/report``) may carry the bot's name
    (``/report@qunyun_bot``) and must end there (``/reporting`` is not a report).
    """
    if not rules.enabled:
        return None
    body = _LEADING_MENTIONS.sub("", text.strip())
    folded = body.casefold()
    for keyword in rules.keywords:
        key = keyword.strip()
        if not key or not folded.startswith(key.casefold()):
            continue
        rest = body[len(key) :]
        if key.startswith("/"):
            rest = _COMMAND_BOT.sub("", rest)
        if key[-1:].isascii() and key[-1:].isalnum() and rest[:1].isalnum():
            continue
        return rest.strip(" \t\r\n:：,，.。")[:MAX_REASON]
    return None


def reported_message(session: Session, group_id: int, message_id: str) -> StreamRecord | None:
    """The latest stored version of a message."""
    return session.scalars(
        select(StreamRecord)
        .where(
            StreamRecord.group_id == group_id,
            StreamRecord.message_id == message_id,
            StreamRecord.kind == "message_posted",
        )
        .order_by(StreamRecord.id.desc())
        .limit(1)
    ).first()


def file_report(
    session: Session, report_message: StreamRecord, reason: str, now: datetime
) -> MemberReport | None:
    """Queue the message ``report_message`` replies to; None when this member already
    reported it (a second reply, or a redelivery)."""
    group_id, target = report_message.group_id, report_message.reply_to
    if group_id is None or not target:
        return None
    existing = session.scalar(
        select(MemberReport.id).where(
            MemberReport.group_id == group_id,
            MemberReport.message_id == target,
            MemberReport.reporter_member_id == report_message.member_id,
        )
    )
    if existing is not None:
        return None
    reported = reported_message(session, group_id, target)
    report = MemberReport(
        community_id=report_message.community_id,
        group_id=group_id,
        message_id=target,
        message_text=reported.text if reported is not None else None,
        reported_member_id=reported.member_id if reported is not None else None,
        reporter_member_id=report_message.member_id,
        reason=reason or None,
        status="open",
        created_at=now,
    )
    session.add(report)
    session.flush()
    audit.record(
        session,
        report_message.community_id,
        "report.created",
        summary=(reason or (report.message_text or ""))[:200],
        actor_member_id=report_message.member_id,
        group_id=group_id,
        member_id=report.reported_member_id,
        detail={"report_id": report.id, "message_id": target},
    )
    return report


# --- the review queue -------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRecord:
    """What the queue shows of the reported member."""

    active_warnings: int = 0
    cases: int = 0
    last_case_at: datetime | None = None


@dataclass(frozen=True)
class ReportRow:
    report: MemberReport
    group_name: str
    reported_name: str | None
    reporter_name: str | None
    record: MemberRecord


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(Member.id, Member.display_name).where(Member.id.in_(ids))).all()
    )


def member_records(session: Session, member_ids: set[int]) -> dict[int, MemberRecord]:
    """Active warnings and applied cases of each member (two grouped queries)."""
    if not member_ids:
        return {}
    now = utcnow()
    warnings = dict(
        session.execute(
            select(MemberWarning.member_id, func.coalesce(func.sum(MemberWarning.weight), 0))
            .where(
                MemberWarning.member_id.in_(member_ids),
                MemberWarning.revoked_at.is_(None),
                MemberWarning.expires_at > now,
            )
            .group_by(MemberWarning.member_id)
        ).all()
    )
    cases: dict[int, tuple[int, datetime | None]] = defaultdict(lambda: (0, None))
    for member_id, count, last in session.execute(
        select(ModerationCase.member_id, func.count(), func.max(ModerationCase.created_at))
        .where(ModerationCase.member_id.in_(member_ids), ModerationCase.status == "applied")
        .group_by(ModerationCase.member_id)
    ):
        if member_id is not None:
            cases[member_id] = (int(count), last)
    return {m: MemberRecord(int(warnings.get(m, 0)), cases[m][0], cases[m][1]) for m in member_ids}


def _rows(session: Session, found: list[tuple[MemberReport, str]]) -> list[ReportRow]:
    people = {r.reported_member_id for r, _ in found if r.reported_member_id} | {
        r.reporter_member_id for r, _ in found if r.reporter_member_id
    }
    names = _names(session, people)
    records = member_records(
        session, {r.reported_member_id for r, _ in found if r.reported_member_id}
    )
    return [
        ReportRow(
            report,
            group_name,
            names.get(report.reported_member_id or 0),
            names.get(report.reporter_member_id or 0),
            records.get(report.reported_member_id or 0, MemberRecord()),
        )
        for report, group_name in found
    ]


def report_row(
    session: Session, principal: Principal, community_id: int, report_id: int
) -> ReportRow:
    principal.require(community_id, Role.viewer)
    report = get_report(session, community_id, report_id)
    group = session.get(Group, report.group_id)
    return _rows(session, [(report, group.name if group is not None else "?")])[0]


def list_reports(
    session: Session,
    principal: Principal,
    community_id: int,
    *,
    status: str = "open",
    page: int = 1,
    per_page: int = 50,
) -> Page[ReportRow]:
    principal.require(community_id, Role.viewer)
    if status not in (*STATUSES, "all"):
        raise DomainError("enforcement.bad_status", state=status[:20])
    conditions = [MemberReport.community_id == community_id]
    if status != "all":
        conditions.append(MemberReport.status == status)
    total = int(
        session.scalar(select(func.count()).select_from(MemberReport).where(*conditions)) or 0
    )
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    rows = session.execute(
        select(MemberReport, Group.name)
        .join(Group, Group.id == MemberReport.group_id)
        .where(*conditions)
        .order_by(MemberReport.created_at.desc(), MemberReport.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    items = _rows(session, [(report, name) for report, name in rows])
    return Page(items=items, total=total, page=page, per_page=per_page)


def get_report(session: Session, community_id: int, report_id: int) -> MemberReport:
    report = session.get(MemberReport, report_id) if 1 <= report_id < 2**63 else None
    if report is None or report.community_id != community_id:
        raise NotFound("enforcement.report_not_found", id=report_id)
    return report


def _open(
    session: Session, principal: Principal, community_id: int, report_id: int
) -> MemberReport:
    principal.require(community_id, Role.operator)
    report = get_report(session, community_id, report_id)
    if report.status != "open":
        raise Conflict("enforcement.report_closed", id=report_id, state=report.status)
    return report


def _close(
    session: Session,
    report: MemberReport,
    status: str,
    principal: Principal,
    now: datetime,
    case_id: int | None = None,
) -> list[MemberReport]:
    """Close the report and every other open report of the same message."""
    same = list(
        session.scalars(
            select(MemberReport).where(
                MemberReport.group_id == report.group_id,
                MemberReport.message_id == report.message_id,
                MemberReport.status == "open",
            )
        )
    )
    for item in same:
        item.status = status
        item.case_id = case_id
        item.handled_by_id = principal.user_id or None
        item.handled_at = now
    session.flush()
    return same


def dismiss(
    session: Session, principal: Principal, community_id: int, report_id: int, note: str = ""
) -> MemberReport:
    report = _open(session, principal, community_id, report_id)
    now = utcnow()
    closed = _close(session, report, "dismissed", principal, now)
    audit.record(
        session,
        community_id,
        "report.dismissed",
        summary=note[:200],
        actor_user_id=principal.user_id or None,
        group_id=report.group_id,
        member_id=report.reported_member_id,
        detail={"reports": [r.id for r in closed], "message_id": report.message_id},
    )
    return report


def delete_only(
    session: Session, principal: Principal, env: EnforcementEnv, community_id: int, report_id: int
) -> MemberReport:
    """Delete the reported message without a case (nothing on the member's record)."""
    report = _open(session, principal, community_id, report_id)
    group = session.get(Group, report.group_id)
    assert group is not None
    now = utcnow()
    action = enqueue(
        session,
        community_id=community_id,
        group=group,
        kind=ActionKind.delete_message,
        params={"message_id": report.message_id},
        reason=f"report:{report.id}",
        requested_by_id=principal.user_id or None,
        wake=env.wake,
    )
    closed = _close(session, report, "actioned", principal, now)
    audit.record(
        session,
        community_id,
        "report.deleted",
        actor_user_id=principal.user_id or None,
        group_id=report.group_id,
        member_id=report.reported_member_id,
        detail={
            "reports": [r.id for r in closed],
            "message_id": report.message_id,
            "action": action.id,
        },
    )
    return report


def apply_rule(
    session: Session,
    principal: Principal,
    env: EnforcementEnv,
    community_id: int,
    report_id: int,
    rule_id: str,
) -> ModerationCase:
    """Judge the reported message under ``rule_id``: a case (source "report") that
    steps the ladder, deletes the message when the book says so, and tells the member."""
    report = _open(session, principal, community_id, report_id)
    group = session.get(Group, report.group_id)
    assert group is not None
    if rule_id in recorded_rules(session, group.id, report.message_id):
        raise Conflict("enforcement.case_exists", rule=rule_id[:80])
    effective = effective_book(session, community_id, group.id)
    book = effective.book
    now = utcnow()
    message = reported_message(session, group.id, report.message_id)
    member_id = report.reported_member_id
    decision = rule_decision(
        book,
        rule_id,
        message_id=report.message_id,
        member_id=member_id,
        text=report.message_text or "",
        warnings=past_warnings(session, member_id, now),
        now=now,
        detail={"report": report.id, "reason": report.reason or ""},
    )
    member = session.get(Member, member_id) if member_id else None
    subject = Subject(
        community_id=community_id,
        group=group,
        member_id=member_id,
        platform_user_id=message.platform_user_id if message is not None else None,
        display_name=member.display_name if member is not None else "",
        language=record_language(message, env.language) if message is not None else env.language,
        occurred_at=message.occurred_at if message is not None else report.created_at,
        record_id=message.id if message is not None else None,
        message_id=report.message_id,
        message_text=report.message_text,
    )
    outcome = carry_out(
        session,
        env,
        subject,
        [decision],
        book,
        Citation(effective.cited_book_id, effective.cited_version),
        reviewed_notice(book, env),
        source="report",
        acted_by_id=principal.user_id or None,
        now=now,
    )
    case = outcome.cases[0]
    closed = _close(session, report, "actioned", principal, now, case_id=case.id)
    audit.record(
        session,
        community_id,
        "report.actioned",
        summary=rule_id,
        actor_user_id=principal.user_id or None,
        group_id=group.id,
        member_id=member_id,
        case_id=case.id,
        detail={"reports": [r.id for r in closed], "rule": rule_id},
    )
    return case
