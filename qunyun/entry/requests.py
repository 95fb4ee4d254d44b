"""Join requests: stored as they arrive, judged against the group's book, answered
through the platform, or left for a person. Services never commit.

The answer goes out through the outbox (``answer_join_request``), so a platform that is
down gets it later; a manual group gets a to-do. Viewers read the queue; operators
approve and reject.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Group, Member, MemberIdentity
from qunyun.db.base import utcnow
from qunyun.entry import invites
from qunyun.entry.answers import failed_questions
from qunyun.entry.decide import Outcome, RequestFacts, Verdict, decide
from qunyun.entry.env import EntryEnv
from qunyun.entry.models import InviteCode, JoinRequest
from qunyun.errors import Conflict, DomainError, NotFound
from qunyun.i18n import gettext
from qunyun.moderation import audit
from qunyun.moderation.bans import is_banned
from qunyun.moderation.rulebook import EntryRules
from qunyun.paging import Page
from qunyun.platforms import outbox
from qunyun.platforms.actions import ActionKind
from qunyun.platforms.models import PlatformAction
from qunyun.stream.models import StreamRecord

STATUSES = ("pending", "approved", "rejected")
# Requests older than this when the follower reaches them wait for a person.
STALE_AFTER = timedelta(hours=24)
MAX_REASON = 200
MAX_PER_PAGE = 200
AUDIT_ACTION = {
    Outcome.approve: "join.approved",
    Outcome.reject: "join.rejected",
    Outcome.queue: "join.queued",
}


@dataclass(frozen=True)
class RequestRow:
    request: JoinRequest
    group_name: str
    invite_code: str | None


def is_full(group: Group) -> bool:
    return group.capacity > 0 and group.member_count >= group.capacity


def reason_text(reason: str, language: str) -> str:
    """The polite sentence an applicant reads when refused (``entry.reason.<code>``)."""
    return gettext(f"entry.reason.{reason}", language)


def _identity_name(session: Session, community_id: int, platform: str, user: str) -> str | None:
    row = session.execute(
        select(MemberIdentity.display_name, Member.display_name)
        .join(Member, Member.id == MemberIdentity.member_id)
        .where(
            MemberIdentity.community_id == community_id,
            MemberIdentity.platform == platform,
            MemberIdentity.platform_user_id == user,
        )
    ).first()
    return (row[0] or row[1]) if row is not None else None


def member_of(session: Session, community_id: int, platform: str, user: str) -> int | None:
    found: int | None = session.scalar(
        select(MemberIdentity.member_id).where(
            MemberIdentity.community_id == community_id,
            MemberIdentity.platform == platform,
            MemberIdentity.platform_user_id == user,
        )
    )
    return found


# --- arriving from the stream -----------------------------------------------------------


def on_join_requested(
    session: Session, env: EntryEnv, record: StreamRecord, entry: EntryRules
) -> JoinRequest | None:
    """Store the request (once per record) and act on it as the book says."""
    if record.group_id is None or not record.platform_user_id:
        return None
    if session.scalar(select(JoinRequest.id).where(JoinRequest.record_id == record.id)):
        return None
    group = session.get(Group, record.group_id)
    if group is None:
        return None
    data = record.data or {}
    answers = str(data.get("answers") or "")
    request = JoinRequest(
        community_id=record.community_id,
        group_id=group.id,
        record_id=record.id,
        platform_user_id=record.platform_user_id,
        display_name=_identity_name(
            session, record.community_id, record.platform, record.platform_user_id
        ),
        request_ref=str(data.get("request_id") or record.platform_user_id)[:200],
        answers=answers,
        status="pending",
        verdict={},
        requested_at=record.occurred_at,
    )
    session.add(request)
    session.flush()
    now = utcnow()
    found = invites.code_in_text(session, record.community_id, group.id, answers, now)
    if found is not None:
        request.invite_code_id = found.invite.id
    facts = RequestFacts(
        banned=is_banned(session, record.community_id, record.platform, record.platform_user_id),
        group_full=is_full(group),
        invitation=data.get("request_type") == "invite",
        stale=record.occurred_at < now - STALE_AFTER,
        failed_questions=tuple(failed_questions(entry.questions, answers)),
        code_problem=None if found is None else (found.problem or ""),
    )
    verdict = decide(entry, facts)
    if verdict.outcome is Outcome.approve and found is not None and found.problem is None:
        if not invites.take_use(session, found.invite.id, now):
            # The last use went to someone else since we looked.
            verdict = decide(entry, replace(facts, code_problem="used_up"))
        else:
            invites.record_source(session, record.member_id, found.invite)
    _settle(session, env, request, group, verdict, member_id=record.member_id, user_id=None)
    return request


def on_member_joined(session: Session, record: StreamRecord) -> None:
    """Someone joined: requests of theirs still waiting were answered elsewhere (an
    admin in the chat app), so they leave the queue."""
    if record.group_id is None or not record.platform_user_id:
        return
    session.execute(
        update(JoinRequest)
        .where(
            JoinRequest.group_id == record.group_id,
            JoinRequest.platform_user_id == record.platform_user_id,
            JoinRequest.status == "pending",
        )
        .values(status="approved", decided_at=utcnow(), verdict={"code": "joined"})
        .execution_options(synchronize_session=False)
    )


# --- deciding -------------------------------------------------------------------------


def _settle(
    session: Session,
    env: EntryEnv,
    request: JoinRequest,
    group: Group,
    verdict: Verdict,
    *,
    member_id: int | None,
    user_id: int | None,
    reason: str | None = None,
) -> None:
    request.verdict = verdict.as_json()
    if verdict.outcome is not Outcome.queue:
        approve = verdict.outcome is Outcome.approve
        params: dict[str, object] = {
            "request_id": request.request_ref,
            "approve": approve,
            "user": request.platform_user_id,
        }
        if not approve:
            params["reason"] = (reason or reason_text(verdict.reason, env.language))[:MAX_REASON]
        action = outbox.enqueue(
            session,
            community_id=request.community_id,
            group=group,
            kind=ActionKind.answer_join_request,
            params=params,
            reason=f"entry:join:{request.id}",
            requested_by_id=user_id,
            wake=env.wake,
        )
        request.status = "approved" if approve else "rejected"
        request.action_id = action.id
        request.decided_at = utcnow()
        request.decided_by_id = user_id
    audit.record(
        session,
        request.community_id,
        AUDIT_ACTION[verdict.outcome],
        summary=f"{request.display_name or request.platform_user_id}: {verdict.reason}",
        actor_user_id=user_id,
        group_id=group.id,
        member_id=member_id,
        detail={
            "join_request_id": request.id,
            **verdict.as_json(),
            **({"invite_code_id": request.invite_code_id} if request.invite_code_id else {}),
            **({"reason": reason} if reason else {}),
        },
    )
    session.flush()


def _pending(
    session: Session, principal: Principal, community_id: int, request_id: int
) -> tuple[JoinRequest, Group]:
    principal.require(community_id, Role.operator)
    request = get_request(session, principal, community_id, request_id)
    if request.status != "pending":
        raise Conflict("join.already_decided", id=request.id, state=request.status)
    group = session.get(Group, request.group_id)
    assert group is not None
    return request, group


def approve_request(
    session: Session, env: EntryEnv, principal: Principal, community_id: int, request_id: int
) -> JoinRequest:
    """An operator lets them in (capacity and answers are theirs to judge); a live code
    in the answers counts a use and records the member's source."""
    request, group = _pending(session, principal, community_id, request_id)
    member_id = member_of(session, community_id, group.platform, request.platform_user_id)
    invite = session.get(InviteCode, request.invite_code_id) if request.invite_code_id else None
    if invite is not None and invites.take_use(session, invite.id):
        invites.record_source(session, member_id, invite)
    verdict = Verdict(Outcome.approve, "operator")
    _settle(
        session,
        env,
        request,
        group,
        verdict,
        member_id=member_id,
        user_id=principal.user_id or None,
    )
    return request


def reject_request(
    session: Session,
    env: EntryEnv,
    principal: Principal,
    community_id: int,
    request_id: int,
    reason: str | None = None,
) -> JoinRequest:
    """An operator turns them away, with the reason they will read (or a polite default)."""
    reason = (reason or "").strip() or None
    if reason is not None and (len(reason) > MAX_REASON or "\x00" in reason):
        raise DomainError("join.reason_too_long", field="reason", max=MAX_REASON)
    request, group = _pending(session, principal, community_id, request_id)
    member_id = member_of(session, community_id, group.platform, request.platform_user_id)
    verdict = Verdict(Outcome.reject, "operator")
    _settle(
        session,
        env,
        request,
        group,
        verdict,
        member_id=member_id,
        user_id=principal.user_id or None,
        reason=reason or reason_text("operator", env.language),
    )
    return request


# --- reading --------------------------------------------------------------------------


def get_request(
    session: Session, principal: Principal, community_id: int, request_id: int
) -> JoinRequest:
    principal.require(community_id, Role.viewer)
    request = session.get(JoinRequest, request_id) if 1 <= request_id < 2**63 else None
    if request is None or request.community_id != community_id:
        raise NotFound("join.not_found")
    return request


def list_requests(
    session: Session,
    principal: Principal,
    community_id: int,
    *,
    status: str | None = "pending",
    group_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page[RequestRow]:
    """Requests newest first (the queue: ``status="pending"``)."""
    principal.require(community_id, Role.viewer)
    if status is not None and status not in STATUSES:
        raise DomainError("join.bad_status", field="status")
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    conditions = [JoinRequest.community_id == community_id]
    if status is not None:
        conditions.append(JoinRequest.status == status)
    if group_id is not None:
        conditions.append(JoinRequest.group_id == group_id)
    total = int(
        session.scalar(select(func.count()).select_from(JoinRequest).where(*conditions)) or 0
    )
    rows = session.execute(
        select(JoinRequest, Group.name, InviteCode.code)
        .join(Group, Group.id == JoinRequest.group_id)
        .outerjoin(InviteCode, InviteCode.id == JoinRequest.invite_code_id)
        .where(*conditions)
        .order_by(JoinRequest.requested_at.desc(), JoinRequest.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page([RequestRow(r, g, c) for r, g, c in rows], total, page, per_page)


def action_status(session: Session, request: JoinRequest) -> str | None:
    """Where the platform answer stands (pending, sent, failed, todo …)."""
    if request.action_id is None:
        return None
    status: str | None = session.scalar(
        select(PlatformAction.status).where(PlatformAction.id == request.action_id)
    )
    return status


def request_row(session: Session, request: JoinRequest) -> RequestRow:
    group = session.get(Group, request.group_id)
    invite = session.get(InviteCode, request.invite_code_id) if request.invite_code_id else None
    return RequestRow(
        request, group.name if group is not None else "", invite.code if invite else None
    )
