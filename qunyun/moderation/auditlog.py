"""Reading the audit log: filter, page, export. Writing is :func:`qunyun.moderation.audit.record`.

Viewers read the log (it is how a team checks itself); the CSV export, personal data
in bulk, needs an operator, like the member directory's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from qunyun.accounts.models import User
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Group, Member
from qunyun.community.service import get_community
from qunyun.errors import DomainError
from qunyun.moderation.models import AuditEntry
from qunyun.paging import Page

MAX_PER_PAGE = 200
MAX_PAGE = 100_000
MAX_ACTION = 40
EXPORT_COLUMNS = (
    "id",
    "at",
    "action",
    "actor_kind",
    "actor_user",
    "actor_member_id",
    "group_id",
    "group",
    "member_id",
    "member",
    "case_id",
    "summary",
)


@dataclass(frozen=True)
class AuditQuery:
    # An exact action ("ban.added") or a family ending with a dot ("ban.").
    action: str = ""
    group_id: int | None = None
    member_id: int | None = None
    actor_user_id: int | None = None
    # Inclusive local dates in the community's time zone.
    since: date | None = None
    until: date | None = None
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    actor: str
    group: str
    member: str


def _filtered(community_id: int, zone: str, query: AuditQuery) -> Select[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.community_id == community_id)
    action = query.action.strip()[:MAX_ACTION]
    if action.endswith("."):
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    elif action:
        stmt = stmt.where(AuditEntry.action == action)
    if query.group_id is not None:
        stmt = stmt.where(AuditEntry.group_id == query.group_id)
    if query.member_id is not None:
        stmt = stmt.where(AuditEntry.member_id == query.member_id)
    if query.actor_user_id is not None:
        stmt = stmt.where(AuditEntry.actor_user_id == query.actor_user_id)
    tz = ZoneInfo(zone)
    if query.since is not None:
        stmt = stmt.where(
            AuditEntry.at >= datetime.combine(query.since, time(), tz).astimezone(UTC)
        )
    if query.until is not None:
        end = datetime.combine(query.until + timedelta(days=1), time(), tz).astimezone(UTC)
        stmt = stmt.where(AuditEntry.at < end)
    return stmt


def _check(query: AuditQuery) -> None:
    if query.since is not None and query.until is not None and query.since > query.until:
        raise DomainError("audit.bad_range")


def entries(
    session: Session, principal: Principal, community_id: int, query: AuditQuery
) -> Page[AuditRow]:
    """One page of the log, newest first."""
    community = get_community(session, principal, community_id)
    principal.require(community_id, Role.viewer)
    _check(query)
    stmt = _filtered(community_id, community.timezone, query)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    per_page = max(1, min(query.per_page, MAX_PER_PAGE))
    page = max(1, min(query.page, MAX_PAGE))
    found = list(
        session.scalars(
            stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return Page(items=_rows(session, found), total=total, page=page, per_page=per_page)


def _user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return dict(rows.all())


def _group_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Group.id, Group.name).where(Group.id.in_(wanted)))
    return dict(rows.all())


def _member_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Member.id, Member.display_name).where(Member.id.in_(wanted)))
    return dict(rows.all())


def _rows(session: Session, found: list[AuditEntry]) -> list[AuditRow]:
    users = _user_names(session, (e.actor_user_id for e in found))
    groups = _group_names(session, (e.group_id for e in found))
    members = _member_names(
        session, [e.member_id for e in found] + [e.actor_member_id for e in found]
    )
    out: list[AuditRow] = []
    for e in found:
        if e.actor_user_id is not None:
            actor = users.get(e.actor_user_id, f"#{e.actor_user_id}")
        elif e.actor_member_id is not None:
            actor = members.get(e.actor_member_id, f"#{e.actor_member_id}")
        else:
            actor = ""
        out.append(
            AuditRow(
                e,
                actor,
                groups.get(e.group_id, "") if e.group_id is not None else "",
                members.get(e.member_id, "") if e.member_id is not None else "",
            )
        )
    return out


def actions(session: Session, principal: Principal, community_id: int) -> list[str]:
    """The actions the log holds, for the filter's choices."""
    principal.require(community_id, Role.viewer)
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.community_id == community_id)
            .distinct()
            .order_by(AuditEntry.action)
        )
    )


def actors(session: Session, principal: Principal, community_id: int) -> list[tuple[int, str]]:
    """The users who appear as actors, for the filter's choices."""
    principal.require(community_id, Role.viewer)
    ids = select(AuditEntry.actor_user_id).where(
        AuditEntry.community_id == community_id, AuditEntry.actor_user_id.is_not(None)
    )
    return [
        (uid, name)
        for uid, name in session.execute(
            select(User.id, User.name).where(User.id.in_(ids)).order_by(User.name)
        )
    ]


def check_export(
    session: Session, principal: Principal, community_id: int, query: AuditQuery
) -> None:
    """Refuse before a streamed response starts (a refusal cannot follow its first byte)."""
    get_community(session, principal, community_id)
    principal.require(community_id, Role.operator)
    _check(query)


def export_csv(
    session: Session, principal: Principal, community_id: int, query: AuditQuery
) -> Iterator[str]:
    """Every entry the query matches, oldest first, as CSV chunks (BOM first)."""
    check_export(session, principal, community_id, query)
    community = get_community(session, principal, community_id)
    stmt = _filtered(community_id, community.timezone, query).order_by(AuditEntry.id)
    yield "\ufeff" + _line(EXPORT_COLUMNS)
    batch: list[AuditEntry] = []
    for entry in session.scalars(stmt.execution_options(yield_per=500)):
        batch.append(entry)
        if len(batch) == 500:
            yield "".join(_export_rows(session, batch))
            batch = []
    if batch:
        yield "".join(_export_rows(session, batch))


def _export_rows(session: Session, batch: list[AuditEntry]) -> Iterator[str]:
    for row in _rows(session, batch):
        e = row.entry
        yield _line(
            [
                str(e.id),
                e.at.isoformat(),
                e.action,
                e.actor_kind,
                _cell(row.actor),
                str(e.actor_member_id or ""),
                str(e.group_id or ""),
                _cell(row.group),
                str(e.member_id or ""),
                _cell(row.member),
                str(e.case_id or ""),
                _cell(e.summary),
            ]
        )


def _cell(text: str) -> str:
    # A cell starting like a formula would run in the spreadsheet that opens it.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _line(cells: Iterable[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(list(cells))
    return out.getvalue()
