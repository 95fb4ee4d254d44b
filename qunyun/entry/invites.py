"""Invite codes: made by operators, handed out by members, typed by applicants.

A code is good for one group or any of the community's groups, optionally with a quota
of uses and an expiry. A use is taken with one conditional UPDATE (``used < quota``), so
two applicants racing for a code's last use cannot both get it. Codes are compared
without regard to case (stored upper-case). Services never commit.

Viewers read; operators create and revoke.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Community, Group, Member
from qunyun.db.base import utcnow
from qunyun.entry.answers import code_candidates
from qunyun.entry.models import InviteCode
from qunyun.errors import Conflict, DomainError, NotFound
from qunyun.moderation import audit
from qunyun.paging import Page

# No 0/O, 1/I/L: a code is read aloud and typed on phones.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GENERATED_LENGTH = 8
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{3,31}$")
_SLUG_RE = re.compile(r"^[a-z0-9-]{1,64}$")
MAX_LABEL = 200
MAX_QUOTA = 1_000_000
MAX_PER_PAGE = 200
STATES = ("live", "expired", "revoked", "used_up")
_DRAWS = 8


@dataclass(frozen=True)
class InviteRow:
    invite: InviteCode
    group_name: str | None
    inviter_name: str | None
    state: str


def state_of(invite: InviteCode, now: datetime | None = None) -> str:
    """``live``, or why the code no longer admits anyone."""
    moment = now or utcnow()
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at is not None and invite.expires_at <= moment:
        return "expired"
    if invite.quota is not None and invite.used >= invite.quota:
        return "used_up"
    return "live"


def clean_code(code: str) -> str:
    value = code.strip().upper()
    if not CODE_RE.match(value):
        raise DomainError("invite.bad_code", field="code")
    return value


def parse_expiry(text: str, zone: str) -> datetime | None:
    """``2026-12-31`` (the end of that day) or ``2026-12-31 18:00`` in ``zone``; empty: none."""
    value = text.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise DomainError("invite.bad_expiry", field="expires_at") from None
    if len(value) <= 10:
        moment += timedelta(days=1)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC)


def _group(session: Session, community_id: int, group_id: int) -> Group:
    group = session.get(Group, group_id) if 1 <= group_id < 2**63 else None
    if group is None or group.community_id != community_id:
        raise NotFound("group.not_found")
    return group


def _member(session: Session, community_id: int, member_id: int) -> Member:
    member = session.get(Member, member_id) if 1 <= member_id < 2**63 else None
    if member is None or member.community_id != community_id:
        raise NotFound("member.not_found")
    return member


def _user_id(principal: Principal) -> int | None:
    # The command line acts as user 0, which is nobody in the users table.
    return principal.user_id or None


def create_invite(
    session: Session,
    principal: Principal,
    community_id: int,
    *,
    code: str | None = None,
    group_id: int | None = None,
    quota: int | None = None,
    expires_at: datetime | None = None,
    label: str | None = None,
    inviter_member_id: int | None = None,
    now: datetime | None = None,
) -> InviteCode:
    """A new code: ``code`` as given (letters, digits, - and _, 4–32) or a random one."""
    principal.require(community_id, Role.operator)
    moment = now or utcnow()
    if group_id is not None:
        _group(session, community_id, group_id)
    if inviter_member_id is not None:
        _member(session, community_id, inviter_member_id)
    if quota is not None and not 1 <= quota <= MAX_QUOTA:
        raise DomainError("invite.bad_quota", field="quota", max=MAX_QUOTA)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise DomainError("invite.bad_expiry", field="expires_at")
        if expires_at <= moment:
            raise DomainError("invite.expiry_in_past", field="expires_at")
    label = (label or "").strip() or None
    if label is not None and (len(label) > MAX_LABEL or "\x00" in label):
        raise DomainError("invite.label_too_long", field="label", max=MAX_LABEL)
    wanted = clean_code(code) if code and code.strip() else None
    for _ in range(1 if wanted else _DRAWS):
        candidate = wanted or "".join(
            secrets.choice(CODE_ALPHABET) for _ in range(GENERATED_LENGTH)
        )
        invite = InviteCode(
            community_id=community_id,
            code=candidate,
            group_id=group_id,
            inviter_member_id=inviter_member_id,
            label=label,
            quota=quota,
            used=0,
            expires_at=expires_at,
            created_by_id=_user_id(principal),
            created_at=moment,
        )
        try:
            with session.begin_nested():
                session.add(invite)
                session.flush()
        except IntegrityError:
            continue
        audit.record(
            session,
            community_id,
            "invite.created",
            summary=candidate,
            actor_user_id=_user_id(principal),
            group_id=group_id,
            member_id=inviter_member_id,
            detail={"invite_code_id": invite.id, "code": candidate, "quota": quota},
        )
        return invite
    raise Conflict("invite.code_taken", value=wanted or "")


def get_invite(
    session: Session, principal: Principal, community_id: int, invite_id: int
) -> InviteCode:
    principal.require(community_id, Role.viewer)
    invite = session.get(InviteCode, invite_id) if 1 <= invite_id < 2**63 else None
    if invite is None or invite.community_id != community_id:
        raise NotFound("invite.not_found")
    return invite


def find_invite(session: Session, principal: Principal, community_id: int, ref: str) -> InviteCode:
    """By id (digits) or by the code itself."""
    principal.require(community_id, Role.viewer)
    found = session.scalar(
        select(InviteCode).where(
            InviteCode.community_id == community_id, InviteCode.code == ref.strip().upper()
        )
    )
    if found is None and ref.strip().isdigit() and len(ref.strip()) <= 18:
        return get_invite(session, principal, community_id, int(ref.strip()))
    if found is None:
        raise NotFound("invite.not_found")
    return found


def revoke_invite(
    session: Session, principal: Principal, community_id: int, invite_id: int
) -> InviteCode:
    principal.require(community_id, Role.operator)
    invite = get_invite(session, principal, community_id, invite_id)
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        audit.record(
            session,
            community_id,
            "invite.revoked",
            summary=invite.code,
            actor_user_id=_user_id(principal),
            group_id=invite.group_id,
            detail={"invite_code_id": invite.id, "code": invite.code, "used": invite.used},
        )
        session.flush()
    return invite


def _state_filter(state: str, now: datetime) -> object:
    t = InviteCode
    expired = and_(t.expires_at.is_not(None), t.expires_at <= now)
    used_up = and_(t.quota.is_not(None), t.used >= t.quota)
    if state == "revoked":
        return t.revoked_at.is_not(None)
    if state == "expired":
        return and_(t.revoked_at.is_(None), expired)
    if state == "used_up":
        return and_(t.revoked_at.is_(None), ~expired, used_up)
    return and_(t.revoked_at.is_(None), ~expired, ~used_up)


def list_invites(
    session: Session,
    principal: Principal,
    community_id: int,
    *,
    state: str | None = None,
    group_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
    now: datetime | None = None,
) -> Page[InviteRow]:
    """The community's codes, newest first, with their group, inviter and state."""
    principal.require(community_id, Role.viewer)
    if state is not None and state not in STATES:
        raise DomainError("invite.bad_state", field="state")
    moment = now or utcnow()
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    conditions: list[object] = [InviteCode.community_id == community_id]
    if state is not None:
        conditions.append(_state_filter(state, moment))
    if group_id is not None:
        conditions.append(InviteCode.group_id == group_id)
    total = int(
        session.scalar(select(func.count()).select_from(InviteCode).where(*conditions)) or 0  # type: ignore[arg-type]
    )
    inviter = aliased(Member)
    rows = session.execute(
        select(InviteCode, Group.name, inviter.display_name)
        .outerjoin(Group, Group.id == InviteCode.group_id)
        .outerjoin(inviter, inviter.id == InviteCode.inviter_member_id)
        .where(*conditions)  # type: ignore[arg-type]
        .order_by(InviteCode.created_at.desc(), InviteCode.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = [InviteRow(code, group, name, state_of(code, moment)) for code, group, name in rows]
    return Page(items, total, page, per_page)


def take_use(session: Session, invite_id: int, now: datetime | None = None) -> bool:
    """Count one use if the code still admits someone; False when it does not (revoked,
    expired, or its last use went to someone else a moment ago)."""
    moment = now or utcnow()
    t = InviteCode
    taken = session.execute(
        update(t)
        .where(
            t.id == invite_id,
            t.revoked_at.is_(None),
            or_(t.expires_at.is_(None), t.expires_at > moment),
            or_(t.quota.is_(None), t.used < t.quota),
        )
        .values(used=t.used + 1)
        .execution_options(synchronize_session=False)
    )
    cached = session.identity_map.get(session.identity_key(InviteCode, invite_id))
    if cached is not None:
        session.expire(cached, ["used"])
    return bool(getattr(taken, "rowcount", 0))


@dataclass(frozen=True)
class FoundCode:
    """The code an applicant typed, and why it does not admit them (None: it does)."""

    invite: InviteCode
    problem: str | None


def code_in_text(
    session: Session, community_id: int, group_id: int, text: str, now: datetime | None = None
) -> FoundCode | None:
    """The best code named in ``text`` for ``group_id``: a live one if any, else the
    first found with its problem (``expired``, ``revoked``, ``used_up``, ``other_group``)."""
    candidates = code_candidates(text)
    if not candidates:
        return None
    moment = now or utcnow()
    found = list(
        session.scalars(
            select(InviteCode).where(
                InviteCode.community_id == community_id, InviteCode.code.in_(candidates)
            )
        )
    )
    if not found:
        return None
    found.sort(key=lambda c: candidates.index(c.code))
    judged = [
        FoundCode(
            code,
            "other_group"
            if code.group_id is not None and code.group_id != group_id
            else (None if (s := state_of(code, moment)) == "live" else s),
        )
        for code in found
    ]
    return next((j for j in judged if j.problem is None), judged[0])


def record_source(session: Session, member_id: int | None, invite: InviteCode) -> None:
    """The member came through ``invite``: their source, and their inviter when the code
    has one (never themselves). A source already known is kept."""
    member = session.get(Member, member_id) if member_id else None
    if member is None or member.source not in ("unknown", "invite"):
        return
    member.source = "invite"
    if invite.inviter_member_id is not None and invite.inviter_member_id != member.id:
        member.inviter_id = invite.inviter_member_id


@dataclass(frozen=True)
class PublicInvite:
    community: Community
    invite: InviteCode
    state: str
    groups: list[Group]


def public_invite(
    session: Session, community_slug: str, code: str, now: datetime | None = None
) -> PublicInvite:
    """What the public invite page shows: the code's state and the groups it opens
    (those not full; every active group of the community for an any-group code)."""
    slug = community_slug.strip().lower()
    community = (
        session.scalar(select(Community).where(Community.slug == slug))
        if _SLUG_RE.match(slug)
        else None
    )
    value = code.strip().upper()
    invite = (
        session.scalar(
            select(InviteCode).where(
                InviteCode.community_id == community.id, InviteCode.code == value
            )
        )
        if community is not None and CODE_RE.match(value)
        else None
    )
    if community is None or invite is None:
        raise NotFound("invite.not_found")
    state = state_of(invite, now)
    query = select(Group).where(Group.community_id == community.id, Group.status == "active")
    if invite.group_id is not None:
        query = query.where(Group.id == invite.group_id)
    groups = list(session.scalars(query.order_by(Group.name, Group.id)))
    return PublicInvite(community, invite, state, groups)


def invite_row(session: Session, invite: InviteCode) -> InviteRow:
    group = session.get(Group, invite.group_id) if invite.group_id else None
    inviter = session.get(Member, invite.inviter_member_id) if invite.inviter_member_id else None
    return InviteRow(
        invite,
        group.name if group is not None else None,
        inviter.display_name if inviter is not None else None,
        state_of(invite),
    )


def community_slug(session: Session, community_id: int) -> str:
    return session.scalar(select(Community.slug).where(Community.id == community_id)) or ""
