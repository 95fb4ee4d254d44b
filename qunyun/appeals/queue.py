"""The appeals queue: open appeals first (oldest waiting first), then decided ones
(latest decision first), with their case, group and member at hand."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy import case as when_
from sqlalchemy.orm import Session

from qunyun.accounts.models import User
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.appeals.review import get_appeal
from qunyun.community.models import Group, Member
from qunyun.errors import DomainError
from qunyun.moderation.models import Appeal, ModerationCase
from qunyun.paging import Page

STATUSES = ("open", "upheld", "overturned")
MAX_PER_PAGE = 200
MAX_PAGE = 100_000


@dataclass(frozen=True)
class AppealRow:
    appeal: Appeal
    case: ModerationCase
    group_name: str | None
    member_name: str | None
    opened_by: str | None
    reviewer: str | None


def _rows() -> Select[Appeal, ModerationCase, str | None, str | None, str | None, str | None]:
    opener = User.__table__.alias("opener")
    reviewer = User.__table__.alias("reviewer")
    return (
        select(
            Appeal, ModerationCase, Group.name, Member.display_name, opener.c.name, reviewer.c.name
        )
        .join(ModerationCase, ModerationCase.id == Appeal.case_id)
        .outerjoin(Group, Group.id == ModerationCase.group_id)
        .outerjoin(Member, Member.id == ModerationCase.member_id)
        .outerjoin(opener, opener.c.id == Appeal.opened_by_id)
        .outerjoin(reviewer, reviewer.c.id == Appeal.reviewer_id)
    )


def list_appeals(
    session: Session,
    principal: Principal,
    community_id: int,
    *,
    status: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page[AppealRow]:
    principal.require(community_id, Role.viewer)
    conditions = [Appeal.community_id == community_id]
    if status:
        if status not in STATUSES:
            raise DomainError("appeal.bad_status", field="status", state=status[:20])
        conditions.append(Appeal.status == status)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, min(page, MAX_PAGE))
    total = int(session.scalar(select(func.count()).select_from(Appeal).where(*conditions)) or 0)
    waiting = Appeal.status == "open"
    found = session.execute(
        _rows()
        .where(*conditions)
        .order_by(
            when_((waiting, 0), else_=1),
            when_((waiting, Appeal.created_at)).asc(),
            Appeal.decided_at.desc(),
            Appeal.id.desc(),
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page([AppealRow(*row) for row in found], total, page, per_page)


def appeal_row(
    session: Session, principal: Principal, community_id: int, appeal_id: int
) -> AppealRow:
    principal.require(community_id, Role.viewer)
    appeal = get_appeal(session, community_id, appeal_id)
    found = session.execute(_rows().where(Appeal.id == appeal.id)).one()
    return AppealRow(*found)


def count_open(session: Session, community_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Appeal)
            .where(Appeal.community_id == community_id, Appeal.status == "open")
        )
        or 0
    )
