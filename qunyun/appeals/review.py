"""Deciding an appeal: uphold the case, or overturn it and undo what it did.

Overturning revokes the case's warning, reverses its platform actions through the
outbox (a mute is lifted, a ban is unbanned and its shared ban-list entry lifted; an
action not yet carried out is cancelled instead), marks the case "overturned" and
tells the member. A removal has nothing to reverse on the platform (the member is told
they may rejoin) and a deleted message cannot be restored (the member and the reviewer
are told so). Services never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qunyun.accounts.models import CommunityRole, User
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.appeals.notify import Wake, tell_decision
from qunyun.appeals.rules import (
    DONE,
    ActionFacts,
    ReviewRight,
    Undo,
    UndoKind,
    plan_undo,
    review_right,
)
from qunyun.community.models import Group
from qunyun.db.base import utcnow
from qunyun.errors import Conflict, DomainError, Forbidden, NotFound
from qunyun.moderation import audit, bans
from qunyun.moderation.models import Appeal, Ban, MemberWarning, ModerationCase
from qunyun.platforms import outbox
from qunyun.platforms.actions import ActionKind
from qunyun.platforms.models import PlatformAction

OUTCOMES = ("uphold", "overturn")
MAX_NOTE = 2000


def reviewers_in_team(session: Session, community_id: int) -> int:
    """Active users holding an admin or owner role in the community."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(CommunityRole)
            .join(User, User.id == CommunityRole.user_id)
            .where(
                CommunityRole.community_id == community_id,
                CommunityRole.role.in_([Role.admin.value, Role.owner.value]),
                User.is_active.is_(True),
            )
        )
        or 0
    )


def get_appeal(
    session: Session, community_id: int, appeal_id: int, *, lock: bool = False
) -> Appeal:
    found = None
    if 1 <= appeal_id < 2**63:
        found = session.get(Appeal, appeal_id, with_for_update=lock)
    if found is None or found.community_id != community_id:
        raise NotFound("appeal.not_found", id=appeal_id)
    return found


def right_of(
    session: Session, principal: Principal, appeal: Appeal, case: ModerationCase
) -> ReviewRight:
    return review_right(
        reviewer_id=principal.user_id,
        reviewer_role=principal.role_in(appeal.community_id),
        acted_by_id=case.acted_by_id,
        opened_by_id=appeal.opened_by_id,
        reviewers_in_team=reviewers_in_team(session, appeal.community_id),
    )


@dataclass
class Decided:
    appeal: Appeal
    case: ModerationCase
    self_review: bool
    plan: list[Undo] = field(default_factory=list)
    # Outbox rows the undo queued (unmute, unban) or cancelled, and the member's notice.
    queued: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    lifted_bans: list[int] = field(default_factory=list)
    warning_revoked: bool = False
    notice_action_id: int | None = None

    @property
    def message_lost(self) -> bool:
        """A deleted message was part of the case: it cannot be brought back."""
        return any(u.kind is UndoKind.not_restorable for u in self.plan)


def clean_note(note: str) -> str | None:
    text = note.strip()
    if len(text) > MAX_NOTE or "\x00" in text:
        raise DomainError("appeal.bad_note", field="note", max=MAX_NOTE)
    return text or None


def decide(
    session: Session,
    principal: Principal,
    community_id: int,
    appeal_id: int,
    outcome: str,
    note: str = "",
    *,
    wake: Wake | None = None,
    now: datetime | None = None,
) -> Decided:
    """``outcome`` is "uphold" or "overturn"; the reviewer is ``principal`` (see
    :func:`~qunyun.appeals.rules.review_right`)."""
    if outcome not in OUTCOMES:
        raise DomainError("appeal.bad_outcome", field="outcome")
    principal.require(community_id, Role.viewer)
    text = clean_note(note)
    appeal = get_appeal(session, community_id, appeal_id, lock=True)
    if appeal.status != "open":
        raise Conflict("appeal.already_decided", state=appeal.status)
    case = session.get(ModerationCase, appeal.case_id, with_for_update=True)
    if case is None:
        raise NotFound("appeal.case_not_found", id=appeal.case_id)
    right = right_of(session, principal, appeal, case)
    if not right.allowed:
        raise Forbidden(right.refusal or "appeal.reviewer_role")
    when = now or utcnow()
    reviewer = principal.user_id or None
    appeal.status = "upheld" if outcome == "uphold" else "overturned"
    appeal.reviewer_id = reviewer
    appeal.decision_note = text
    appeal.decided_at = when
    decided = Decided(appeal, case, right.self_review)
    if outcome == "overturn":
        _overturn(session, decided, reviewer, when, wake)
    notice = tell_decision(
        session,
        case,
        appeal,
        decided.plan,
        warning_revoked=decided.warning_revoked,
        requested_by_id=reviewer,
        wake=wake,
    )
    decided.notice_action_id = notice.id if notice is not None else None
    detail = {
        "appeal_id": appeal.id,
        "note": text or "",
        "self_review": right.self_review,
        "undo": [u.kind.value for u in decided.plan],
        "queued_action_ids": decided.queued,
        "cancelled_action_ids": decided.cancelled,
        "lifted_ban_ids": decided.lifted_bans,
        "warning_revoked": decided.warning_revoked,
        "notice_action_id": decided.notice_action_id,
    }
    audit.record(
        session,
        community_id,
        f"appeal.{appeal.status}",
        summary=f"appeal {appeal.id} on case {case.id}" + (f" — {text}" if text else ""),
        actor_user_id=reviewer,
        group_id=case.group_id,
        member_id=case.member_id,
        case_id=case.id,
        detail=detail,
    )
    if outcome == "overturn":
        audit.record(
            session,
            community_id,
            "case.overturned",
            summary=f"case {case.id} overturned on appeal {appeal.id}",
            actor_user_id=reviewer,
            group_id=case.group_id,
            member_id=case.member_id,
            case_id=case.id,
            detail={"appeal_id": appeal.id},
        )
    session.flush()
    return decided


def _overturn(
    session: Session, decided: Decided, reviewer: int | None, when: datetime, wake: Wake | None
) -> None:
    case = decided.case
    case.status = "overturned"
    warning = session.scalar(select(MemberWarning).where(MemberWarning.case_id == case.id))
    if warning is not None and warning.revoked_at is None:
        warning.revoked_at = when
        decided.warning_revoked = True
    ids = [*case.action_ids, *([case.notice_action_id] if case.notice_action_id else [])]
    rows = {
        row.id: row
        for row in session.scalars(select(PlatformAction).where(PlatformAction.id.in_(ids)))
        if row.community_id == case.community_id
    }
    facts = [
        ActionFacts(r.id, r.kind, r.status, r.group_id, dict(r.params or {}))
        for r in (rows[i] for i in dict.fromkeys(ids) if i in rows)
    ]
    for undo in plan_undo(facts):
        decided.plan.append(
            _carry_out(session, decided, undo, rows[undo.action_id], reviewer, wake)
        )
    for ban in session.scalars(
        select(Ban).where(Ban.case_id == case.id, Ban.lifted_at.is_(None)).order_by(Ban.id)
    ):
        bans.lift_ban(
            session,
            case.community_id,
            ban.id,
            lifted_by_id=reviewer,
            note=f"appeal {decided.appeal.id}",
            now=when,
        )
        decided.lifted_bans.append(ban.id)


def _carry_out(
    session: Session,
    decided: Decided,
    undo: Undo,
    original: PlatformAction,
    reviewer: int | None,
    wake: Wake | None,
) -> Undo:
    """Do one step of the plan; returns the step as actually done (a cancel that lost
    the race to the delivery worker becomes a reversal)."""
    if undo.kind is UndoKind.cancel:
        try:
            outbox.cancel(session, original.community_id, original.id)
        except Conflict:
            session.refresh(original)
            facts = ActionFacts(
                original.id, original.kind, "sent", original.group_id, dict(original.params)
            )
            redone = plan_undo([facts]) if original.status in DONE else []
            if not redone:
                return undo
            undo = redone[0]
        else:
            decided.cancelled.append(original.id)
            return undo
    reverse: tuple[ActionKind, dict[str, object]] | None = None
    if undo.kind is UndoKind.unmute:
        reverse = (ActionKind.mute, {"user": undo.user, "seconds": 0})
    elif undo.kind is UndoKind.unban:
        reverse = (ActionKind.unban, {"user": undo.user})
    group = session.get(Group, undo.group_id) if undo.group_id is not None else None
    if reverse is not None and group is not None and undo.user is not None:
        row = outbox.enqueue(
            session,
            community_id=original.community_id,
            group=group,
            kind=reverse[0],
            params=reverse[1],
            reason=f"appeal:{decided.appeal.id}",
            requested_by_id=reviewer,
            wake=wake,
        )
        decided.queued.append(row.id)
    return undo
