"""Reading cases: the filtered, paginated list, its CSV export, and one case with its
evidence, platform actions (and what became of them), appeals and audit trail.
Viewers read; the CSV export is for operators."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Community, Group, Member
from qunyun.errors import DomainError, NotFound
from qunyun.moderation.models import Appeal, AuditEntry, MemberWarning, ModerationCase
from qunyun.paging import Page
from qunyun.platforms.models import PlatformAction

STATUSES = ("applied", "dry_run", "exempt", "overturned")
SOURCES = ("auto", "report", "operator")
MAX_PER_PAGE = 200
MAX_PAGE = 100_000
MAX_EXPORT = 100_000
EXPORT_COLUMNS = (
    "id",
    "created_at",
    "occurred_at",
    "group",
    "member_id",
    "member",
    "rule_id",
    "label",
    "severity",
    "status",
    "source",
    "step",
    "step_seconds",
    "grave",
    "deleted",
    "message_id",
    "message_text",
    "matched",
    "normalized",
    "rule_book_version",
)


@dataclass(frozen=True)
class CaseQuery:
    group_id: int | None = None
    member_id: int | None = None
    # An exact rule id ("category:ads", "links"), or "category:" for every category.
    rule: str | None = None
    status: str | None = None
    source: str | None = None
    # Days in the community's time zone, both included.
    since: date | None = None
    until: date | None = None
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class CaseRow:
    case: ModerationCase
    group_name: str | None
    member_name: str | None


def _zone(session: Session, community_id: int) -> ZoneInfo:
    community = session.get(Community, community_id)
    try:
        return ZoneInfo(community.timezone if community is not None else "Asia/Shanghai")
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Shanghai")


_Rows = Select[ModerationCase, str | None, str | None]


def _filtered(session: Session, community_id: int, query: CaseQuery) -> _Rows:
    t = ModerationCase
    stmt: _Rows = (
        select(t, Group.name, Member.display_name)
        .outerjoin(Group, Group.id == t.group_id)
        .outerjoin(Member, Member.id == t.member_id)
        .where(t.community_id == community_id)
    )
    if query.group_id is not None:
        stmt = stmt.where(t.group_id == query.group_id)
    if query.member_id is not None:
        stmt = stmt.where(t.member_id == query.member_id)
    if query.rule:
        rule = query.rule.strip()[:80]
        stmt = stmt.where(t.rule_id.startswith(rule) if rule.endswith(":") else t.rule_id == rule)
    if query.status:
        if query.status not in STATUSES:
            raise DomainError("enforcement.bad_status", state=query.status[:20])
        stmt = stmt.where(t.status == query.status)
    if query.source:
        if query.source not in SOURCES:
            raise DomainError("enforcement.bad_source", source=query.source[:20])
        stmt = stmt.where(t.source == query.source)
    if query.since is not None or query.until is not None:
        zone = _zone(session, community_id)
        if query.since is not None:
            stmt = stmt.where(t.created_at >= datetime.combine(query.since, time(), zone))
        if query.until is not None:
            end = datetime.combine(query.until + timedelta(days=1), time(), zone)
            stmt = stmt.where(t.created_at < end)
    return stmt


def list_cases(
    session: Session, principal: Principal, community_id: int, query: CaseQuery
) -> Page[CaseRow]:
    principal.require(community_id, Role.viewer)
    stmt = _filtered(session, community_id, query)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    per_page = max(1, min(query.per_page, MAX_PER_PAGE))
    page = max(1, min(query.page, MAX_PAGE))
    rows = session.execute(
        stmt.order_by(ModerationCase.created_at.desc(), ModerationCase.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page([CaseRow(*row) for row in rows], total, page, per_page)


def rule_ids(session: Session, community_id: int) -> list[str]:
    """Every rule the community's cases cite (for the filter)."""
    return list(
        session.scalars(
            select(ModerationCase.rule_id)
            .where(ModerationCase.community_id == community_id)
            .group_by(ModerationCase.rule_id)
            .order_by(ModerationCase.rule_id)
        )
    )


# --- one case ------------------------------------------------------------------------


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, matched) runs; overlapping spans merge, spans outside
    the text are clipped. The pieces joined give ``text`` back."""
    clipped = sorted(
        (max(0, s), min(len(text), e)) for s, e in spans if min(len(text), e) > max(0, s)
    )
    merged: list[list[int]] = []
    for start, end in clipped:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[tuple[str, bool]] = []
    at = 0
    for start, end in merged:
        if start > at:
            out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    if at < len(text):
        out.append((text[at:], False))
    return out


def spans_of(case: ModerationCase) -> list[tuple[int, int]]:
    out = []
    for item in case.evidence or []:
        span = item.get("span") if isinstance(item, dict) else None
        if isinstance(span, list) and len(span) == 2:
            out.append((int(span[0]), int(span[1])))
    return out


@dataclass
class CaseDetail:
    case: ModerationCase
    group: Group | None
    member: Member | None
    actions: list[PlatformAction] = field(default_factory=list)
    notice: PlatformAction | None = None
    appeals: list[Appeal] = field(default_factory=list)
    warning: MemberWarning | None = None
    trail: list[AuditEntry] = field(default_factory=list)

    @property
    def pieces(self) -> list[tuple[str, bool]]:
        return highlight(self.case.message_text or "", spans_of(self.case))


def get_case(
    session: Session, principal: Principal, community_id: int, case_id: int
) -> ModerationCase:
    principal.require(community_id, Role.viewer)
    case = session.get(ModerationCase, case_id) if 1 <= case_id < 2**63 else None
    if case is None or case.community_id != community_id:
        raise NotFound("enforcement.case_not_found", id=case_id)
    return case


def case_detail(
    session: Session, principal: Principal, community_id: int, case_id: int
) -> CaseDetail:
    case = get_case(session, principal, community_id, case_id)
    wanted = [*case.action_ids] + ([case.notice_action_id] if case.notice_action_id else [])
    actions = {
        a.id: a
        for a in session.scalars(select(PlatformAction).where(PlatformAction.id.in_(wanted)))
    }
    return CaseDetail(
        case=case,
        group=session.get(Group, case.group_id) if case.group_id else None,
        member=session.get(Member, case.member_id) if case.member_id else None,
        actions=[actions[i] for i in case.action_ids if i in actions],
        notice=actions.get(case.notice_action_id or 0),
        appeals=list(
            session.scalars(
                select(Appeal).where(Appeal.case_id == case.id).order_by(Appeal.created_at)
            )
        ),
        warning=session.scalar(select(MemberWarning).where(MemberWarning.case_id == case.id)),
        trail=list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.case_id == case.id)
                .order_by(AuditEntry.at, AuditEntry.id)
            )
        ),
    )


# --- CSV -----------------------------------------------------------------------------


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting like a formula would run in the spreadsheet that opens it.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _line(cells: Iterable[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([_cell(c) for c in cells])
    return out.getvalue()


def export_csv(
    session: Session, principal: Principal, community_id: int, query: CaseQuery, lang: str
) -> Iterator[str]:
    """The cases the query matches (no paging, newest first), as CSV chunks with a BOM."""
    principal.require(community_id, Role.operator)
    stmt = _filtered(session, community_id, query).order_by(
        ModerationCase.created_at.desc(), ModerationCase.id.desc()
    )
    yield "\ufeff" + _line(EXPORT_COLUMNS)
    for case, group_name, member_name in session.execute(
        stmt.limit(MAX_EXPORT).execution_options(yield_per=500)
    ):
        evidence = [e for e in case.evidence or [] if isinstance(e, dict)]
        yield _line(
            [
                case.id,
                case.created_at.isoformat(),
                case.occurred_at.isoformat(),
                group_name,
                case.member_id,
                member_name,
                case.rule_id,
                (case.label or {}).get(lang) or (case.label or {}).get("zh-CN"),
                case.severity,
                case.status,
                case.source,
                case.step_action,
                case.step_seconds,
                int(case.grave),
                int(case.delete_message),
                case.message_id,
                case.message_text,
                " | ".join(str(e.get("text") or "") for e in evidence if e.get("text")),
                " | ".join(str(e.get("normalized") or "") for e in evidence if e.get("normalized")),
                case.rule_book_version,
            ]
        )
