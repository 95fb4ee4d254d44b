"""An operator acting on a member by hand (warn, mute, remove, ban) with a reason: a
case with source "operator", a warning on the member's record, the platform actions
and the notice, exactly as for the rule book's own decisions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Group, GroupMembership, Member, MemberIdentity
from qunyun.db.base import utcnow
from qunyun.errors import DomainError, NotFound
from qunyun.moderation.books import effective_book
from qunyun.moderation.models import ModerationCase

from .carry import Citation, Subject, carry_out
from .decisions import manual_decision, past_warnings
from .env import EnforcementEnv
from .notices import operator_notice

MAX_REASON = 500


def act_on_member(
    session: Session,
    principal: Principal,
    env: EnforcementEnv,
    community_id: int,
    *,
    member_id: int,
    group_id: int,
    action: str,
    reason: str,
    seconds: int = 0,
) -> ModerationCase:
    principal.require(community_id, Role.operator)
    reason = reason.strip()[:MAX_REASON]
    if not reason:
        raise DomainError("enforcement.reason_required", field="reason")
    member = session.get(Member, member_id) if 1 <= member_id < 2**63 else None
    if member is None or member.community_id != community_id:
        raise NotFound("enforcement.member_not_found", id=member_id)
    group = session.get(Group, group_id) if 1 <= group_id < 2**63 else None
    if group is None or group.community_id != community_id:
        raise NotFound("enforcement.group_not_found", id=group_id)
    user = session.scalar(
        select(MemberIdentity.platform_user_id)
        .where(MemberIdentity.member_id == member_id, MemberIdentity.platform == group.platform)
        .order_by(MemberIdentity.id)
        .limit(1)
    )
    if user is None:
        raise DomainError("enforcement.no_identity", group=group.name, field="group")
    role = session.scalar(
        select(GroupMembership.role).where(
            GroupMembership.group_id == group_id, GroupMembership.member_id == member_id
        )
    )
    effective = effective_book(session, community_id, group_id)
    book = effective.book
    now = utcnow()
    decision = manual_decision(
        book,
        action,
        seconds,
        reason,
        member_id=member_id,
        warnings=past_warnings(session, member_id, now),
        now=now,
    )
    subject = Subject(
        community_id=community_id,
        group=group,
        member_id=member_id,
        platform_user_id=user,
        display_name=member.display_name,
        language=env.language,
        occurred_at=now,
        role=role or "member",
    )
    outcome = carry_out(
        session,
        env,
        subject,
        [decision],
        book,
        Citation(effective.cited_book_id, effective.cited_version),
        operator_notice(book, env, reason),
        source="operator",
        acted_by_id=principal.user_id or None,
        now=now,
    )
    return outcome.cases[0]
