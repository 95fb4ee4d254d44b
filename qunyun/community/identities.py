"""Merging members and splitting identities off them, with history and undo.

Admins only: a wrong merge mixes two people's histories. Services never commit.

Merge (``other`` into ``target``): the identities, group memberships (combined when
both are in a group: counts added, the more senior role, the later status), tags,
titles, notes, stream records, membership history and invitees move to the target;
the target keeps the earlier join order; ``other`` stays as a row with
``merged_into_id`` so links to it still resolve.

Split: chosen identities move to a new member, with the stream records they sent,
the membership history those records wrote, and memberships rebuilt from both.

Undo: a merge is undone by splitting the merged identities back into the old member
row; a split by merging the new member back. What cannot be told apart afterwards
stays where it is: tags, titles, notes and invitees gathered by a merge, and
history rows no stream record backs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.defaults import higher_role
from qunyun.community.members import get_member, set_tags, tags_of
from qunyun.community.models import (
    Group,
    GroupMembership,
    IdentityChange,
    Member,
    MemberIdentity,
    MembershipChange,
)
from qunyun.errors import Conflict, DomainError, NotFound
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import RecordKind

MAX_NOTE = 2000
_LEFT_STATUSES = {"left", "removed", "banned"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _live(session: Session, principal: Principal, community_id: int, member_id: int) -> Member:
    member = get_member(session, principal, community_id, member_id)
    if member.merged_into_id is not None:
        raise DomainError("member.merged", status=409, into=member.merged_into_id)
    return member


def _note(note: str | None) -> str | None:
    text = (note or "").strip()
    if len(text) > MAX_NOTE or "\x00" in text:
        raise DomainError("member.notes_too_long", max=MAX_NOTE)
    return text or None


def _by(principal: Principal) -> int | None:
    return principal.user_id if principal.user_id > 0 else None


# --- merge ---------------------------------------------------------------------------


def merge(
    session: Session,
    principal: Principal,
    community_id: int,
    target_id: int,
    other_id: int,
    *,
    note: str | None = None,
) -> IdentityChange:
    """Merge member ``other_id`` into ``target_id``."""
    target = _live(session, principal, community_id, target_id)
    other = _live(session, principal, community_id, other_id)
    principal.require(community_id, Role.admin)
    if target.id == other.id:
        raise DomainError("member.merge_self")
    note = _note(note)
    identity_ids = list(
        session.scalars(select(MemberIdentity.id).where(MemberIdentity.member_id == other.id))
    )
    session.execute(
        update(MemberIdentity)
        .where(MemberIdentity.member_id == other.id)
        .values(member_id=target.id)
    )
    groups = _merge_memberships(session, target, other)
    tags = tags_of(session, [target.id, other.id])
    set_tags(session, other, [])
    set_tags(session, target, sorted(set(tags.get(target.id, [])) | set(tags.get(other.id, []))))
    target.titles = list(dict.fromkeys([*(target.titles or []), *(other.titles or [])]))
    if other.notes:
        target.notes = f"{target.notes}\n{other.notes}" if target.notes else other.notes
    if target.inviter_id is None and other.inviter_id not in (None, target.id):
        target.inviter_id = other.inviter_id
    if target.inviter_id == other.id:
        target.inviter_id = None
    if target.source == "unknown" and other.source != "unknown":
        target.source = other.source
        target.source_live_code_id = other.source_live_code_id
        target.source_channel_id = other.source_channel_id
    for stmt in (
        update(StreamRecord).where(StreamRecord.member_id == other.id).values(member_id=target.id),
        update(MembershipChange)
        .where(MembershipChange.member_id == other.id)
        .values(member_id=target.id),
        update(MembershipChange)
        .where(MembershipChange.by_member_id == other.id)
        .values(by_member_id=target.id),
        update(Member)
        .where(Member.inviter_id == other.id, Member.id != target.id)
        .values(inviter_id=target.id),
        update(Member).where(Member.merged_into_id == other.id).values(merged_into_id=target.id),
    ):
        session.execute(stmt)
    other.merged_into_id = target.id
    other.inviter_id = None
    session.flush()
    return _record_change(
        session, principal, community_id, "merge", (target, other), groups, identity_ids, note
    )


def _record_change(
    session: Session,
    principal: Principal,
    community_id: int,
    kind: str,
    members: tuple[Member, Member],
    groups: set[int],
    identity_ids: list[int],
    note: str | None,
) -> IdentityChange:
    """After a merge or split: both members' summaries, join order and group counts
    brought up to date, and the change recorded."""
    member, other = members
    _refresh_member(session, member)
    _refresh_member(session, other)
    _order_join_numbers(session, member, other)
    _recount(session, groups)
    change = IdentityChange(
        community_id=community_id,
        change=kind,
        member_id=member.id,
        other_member_id=other.id,
        identity_ids=identity_ids,
        by_user_id=_by(principal),
        note=note,
    )
    session.add(change)
    session.flush()
    return change


def _merge_memberships(session: Session, target: Member, other: Member) -> set[int]:
    mine = {
        ms.group_id: ms
        for ms in session.scalars(
            select(GroupMembership).where(GroupMembership.member_id == target.id)
        )
    }
    groups: set[int] = set()
    for theirs in session.scalars(
        select(GroupMembership).where(GroupMembership.member_id == other.id)
    ).all():
        groups.add(theirs.group_id)
        ours = mine.get(theirs.group_id)
        if ours is None:
            theirs.member_id = target.id
            continue
        ours.message_count += theirs.message_count
        ours.last_active_at = _latest(ours.last_active_at, theirs.last_active_at)
        ours.joined_at = _earliest(ours.joined_at, theirs.joined_at)
        ours.nickname = ours.nickname or theirs.nickname
        ours.role = higher_role(ours.role, theirs.role)
        if theirs.status_at is not None and (
            ours.status_at is None or theirs.status_at > ours.status_at
        ):
            ours.status, ours.status_at, ours.left_at = (
                theirs.status,
                theirs.status_at,
                theirs.left_at,
            )
        session.delete(theirs)
    session.flush()
    return groups


# --- split ---------------------------------------------------------------------------


def split(
    session: Session,
    principal: Principal,
    community_id: int,
    member_id: int,
    identity_ids: Sequence[int],
    *,
    display_name: str | None = None,
    note: str | None = None,
) -> IdentityChange:
    """Move ``identity_ids`` off ``member_id`` onto a new member."""
    source = _live(session, principal, community_id, member_id)
    principal.require(community_id, Role.admin)
    moving = _identities(session, source, identity_ids)
    first = moving[0]
    name = (display_name or "").strip() or first.display_name or first.platform_user_id
    if len(name) > 200 or "\x00" in name:
        raise DomainError("member.invalid_name")
    dest = Member(
        community_id=community_id, display_name=name, source="unknown", titles=[], message_count=0
    )
    session.add(dest)
    session.flush()
    return _split_into(session, principal, community_id, source, dest, moving, _note(note))


def _identities(
    session: Session, source: Member, identity_ids: Sequence[int]
) -> list[MemberIdentity]:
    wanted = set(identity_ids)
    if not wanted:
        raise DomainError("member.split_nothing")
    owned = list(
        session.scalars(
            select(MemberIdentity)
            .where(MemberIdentity.member_id == source.id)
            .order_by(MemberIdentity.id)
        )
    )
    moving = [i for i in owned if i.id in wanted]
    if len(moving) != len(wanted):
        raise DomainError("member.split_unknown_identity")
    if len(moving) == len(owned):
        raise DomainError("member.split_all")
    return moving


def _split_into(
    session: Session,
    principal: Principal,
    community_id: int,
    source: Member,
    dest: Member,
    moving: list[MemberIdentity],
    note: str | None,
) -> IdentityChange:
    ids = [i.id for i in moving]
    session.execute(
        update(MemberIdentity).where(MemberIdentity.id.in_(ids)).values(member_id=dest.id)
    )
    sent_by_them = or_(
        *(
            and_(
                StreamRecord.platform == i.platform,
                StreamRecord.platform_user_id == i.platform_user_id,
            )
            for i in moving
        )
    )
    session.execute(
        update(StreamRecord)
        .where(StreamRecord.member_id == source.id, sent_by_them)
        .values(member_id=dest.id)
    )
    their_records = select(StreamRecord.id).where(StreamRecord.member_id == dest.id)
    session.execute(
        update(MembershipChange)
        .where(
            MembershipChange.member_id == source.id, MembershipChange.record_id.in_(their_records)
        )
        .values(member_id=dest.id)
    )
    session.flush()
    groups = _rebuild_memberships(session, source, dest)
    return _record_change(
        session, principal, community_id, "split", (source, dest), groups, ids, note
    )


def _evidence_groups(session: Session, member_id: int) -> set[int]:
    records = session.scalars(
        select(StreamRecord.group_id)
        .where(StreamRecord.member_id == member_id, StreamRecord.group_id.is_not(None))
        .distinct()
    )
    changes = session.scalars(
        select(MembershipChange.group_id).where(MembershipChange.member_id == member_id).distinct()
    )
    return {g for g in records if g is not None} | set(changes)


def _rebuild_memberships(session: Session, source: Member, dest: Member) -> set[int]:
    """Give ``dest`` a membership in every group its records speak of; take the
    source's away where nothing of the source's is left there."""
    dest_groups = _evidence_groups(session, dest.id)
    source_groups = _evidence_groups(session, source.id)
    for group_id in dest_groups:
        theirs = _membership_of(session, source.id, group_id)
        ours = _membership_of(session, dest.id, group_id)
        if ours is None:
            ours = GroupMembership(
                group_id=group_id,
                member_id=dest.id,
                role="member",
                status="active",
                message_count=0,
            )
            session.add(ours)
        if theirs is not None and group_id not in source_groups:
            ours.role, ours.nickname = theirs.role, theirs.nickname
            session.delete(theirs)
        elif theirs is not None:
            _from_evidence(session, theirs)
        _from_evidence(session, ours)
    session.flush()
    return dest_groups


def _membership_of(session: Session, member_id: int, group_id: int) -> GroupMembership | None:
    return session.scalar(
        select(GroupMembership).where(
            GroupMembership.member_id == member_id, GroupMembership.group_id == group_id
        )
    )


def _from_evidence(session: Session, ms: GroupMembership) -> None:
    count, last = session.execute(
        select(func.count(), func.max(StreamRecord.occurred_at)).where(
            StreamRecord.member_id == ms.member_id,
            StreamRecord.group_id == ms.group_id,
            StreamRecord.kind == RecordKind.message_posted.value,
        )
    ).one()
    ms.message_count, ms.last_active_at = int(count or 0), last
    changes = list(
        session.scalars(
            select(MembershipChange)
            .where(
                MembershipChange.member_id == ms.member_id,
                MembershipChange.group_id == ms.group_id,
            )
            .order_by(MembershipChange.occurred_at, MembershipChange.id)
        )
    )
    if not changes:
        return
    latest = changes[-1]
    joins = [c.occurred_at for c in changes if c.change == "joined"]
    ms.status = latest.change if latest.change in _LEFT_STATUSES else "active"
    ms.status_at = latest.occurred_at
    ms.left_at = latest.occurred_at if ms.status != "active" else None
    ms.joined_at = joins[-1] if joins else ms.joined_at


# --- undo ----------------------------------------------------------------------------


def undo(
    session: Session, principal: Principal, community_id: int, change_id: int
) -> IdentityChange:
    """Undo a merge or a split recorded as ``change_id``; returns the new history row."""
    principal.require(community_id, Role.admin)
    change = session.get(IdentityChange, change_id)
    if change is None or change.community_id != community_id:
        raise NotFound("member.change_not_found")
    if change.other_member_id is None:
        raise Conflict("member.undo_stale")
    note = f"undo #{change.id}"
    if change.change == "split":
        source = get_member(session, principal, community_id, change.member_id)
        dest = get_member(session, principal, community_id, change.other_member_id)
        if source.merged_into_id is not None or dest.merged_into_id is not None:
            raise Conflict("member.undo_stale")
        return merge(session, principal, community_id, source.id, dest.id, note=note)
    target = get_member(session, principal, community_id, change.member_id)
    old = get_member(session, principal, community_id, change.other_member_id)
    if old.merged_into_id != target.id or target.merged_into_id is not None:
        raise Conflict("member.undo_stale")
    moving = list(
        session.scalars(
            select(MemberIdentity)
            .where(
                MemberIdentity.member_id == target.id,
                MemberIdentity.id.in_(change.identity_ids or []),
            )
            .order_by(MemberIdentity.id)
        )
    )
    left = session.scalar(
        select(func.count())
        .select_from(MemberIdentity)
        .where(MemberIdentity.member_id == target.id)
    )
    if not moving or len(moving) >= int(left or 0):
        raise Conflict("member.undo_stale")
    old.merged_into_id = None
    session.flush()
    return _split_into(session, principal, community_id, target, old, moving, note)


# --- shared bookkeeping --------------------------------------------------------------


def _refresh_member(session: Session, member: Member) -> None:
    count, last = session.execute(
        select(func.count(), func.max(StreamRecord.occurred_at)).where(
            StreamRecord.member_id == member.id,
            StreamRecord.kind == RecordKind.message_posted.value,
        )
    ).one()
    member.message_count = int(count or 0)
    member.last_active_at = last
    first = session.scalar(
        select(func.min(MembershipChange.occurred_at)).where(
            MembershipChange.member_id == member.id, MembershipChange.change == "joined"
        )
    )
    if first is not None:
        member.first_joined_at = first
    elif member.merged_into_id is None and member.join_order is None:
        member.first_joined_at = None
    session.flush()


def _order_join_numbers(session: Session, a: Member, b: Member) -> None:
    """Whoever joined first holds the smaller join number; a member who joined and
    has none gets the next one."""
    for member in (a, b):
        if member.join_order is None and member.first_joined_at is not None:
            top = session.scalar(
                select(func.max(Member.join_order)).where(
                    Member.community_id == member.community_id
                )
            )
            member.join_order = (top or 0) + 1
            session.flush()
    if a.join_order is None or b.join_order is None:
        return
    live = [m for m in (a, b) if m.merged_into_id is None]
    early, late = sorted((a, b), key=lambda m: m.join_order or 0)
    # The survivor of a merge takes the earlier number; otherwise the earlier joiner.
    should_be_early = live[0] if len(live) == 1 else min((a, b), key=_join_key)
    if should_be_early is early:
        return
    small, big = early.join_order, late.join_order
    early.join_order = None
    session.flush()
    late.join_order = small
    session.flush()
    early.join_order = big
    session.flush()


def _join_key(member: Member) -> tuple[bool, datetime, int]:
    return (member.first_joined_at is None, member.first_joined_at or _EPOCH, member.id)


def _recount(session: Session, group_ids: set[int]) -> None:
    if not group_ids:
        return
    active = (
        select(func.count())
        .select_from(GroupMembership)
        .where(GroupMembership.group_id == Group.id, GroupMembership.status == "active")
        .scalar_subquery()
    )
    session.execute(update(Group).where(Group.id.in_(group_ids)).values(member_count=active))


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)
