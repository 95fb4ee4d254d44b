"""Bringing a group's members up to date from the platform's member list.

What a sync does, and does not:

- Someone the list names who is already an active member of the group: their group
  nickname and their identity's display name are updated; no record is written.
- Someone the list names whom Qunyun has never seen in the group (the bot arrived
  after them), or whose membership says they left: one ``MemberJoined`` record with
  ``how=imported`` at the time of the sync goes through the normal ingestion, which
  creates the member (with a join order), the identity, the membership and the history
  line. The time is the sync's: it is the first moment Qunyun knows of.
- Roles: the platform's owner becomes the group's ``owner``; a platform admin whose
  role is still plain ``member`` becomes ``steward``; finer roles set by operators
  (secretary, key member) are left alone.
- Members missing from the list are NOT marked as gone: some platforms list only part
  of a group (Telegram lists administrators only), and a leave is reported as it
  happens by the live stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session

from qunyun.community.models import Group, GroupMembership, MemberIdentity
from qunyun.db.base import utcnow
from qunyun.errors import DomainError
from qunyun.platforms.actions import ActionKind
from qunyun.platforms.member_list import ListedMember, parse_member_list
from qunyun.stream.ingest import Ingestor
from qunyun.stream.records import JoinHow, MemberJoined

if TYPE_CHECKING:
    from qunyun.web.context import AppContext


@dataclass(frozen=True)
class SyncResult:
    listed: int
    added: int
    updated: int


Known = dict[str, tuple[MemberIdentity, GroupMembership | None]]


def _known(session: Session, group: Group, ids: Sequence[str]) -> Known:
    """The identities of ``group``'s platform among ``ids``, with their membership of it."""
    rows = session.execute(
        select(MemberIdentity, GroupMembership)
        .outerjoin(
            GroupMembership,
            (GroupMembership.member_id == MemberIdentity.member_id)
            & (GroupMembership.group_id == group.id),
        )
        .where(
            MemberIdentity.community_id == group.community_id,
            MemberIdentity.platform == group.platform,
            MemberIdentity.platform_user_id.in_(ids),
        )
    ).all()
    return {identity.platform_user_id: (identity, ms) for identity, ms in rows}


def apply_member_list(
    session: Session, group: Group, listed: Sequence[ListedMember], now: datetime
) -> SyncResult:
    """Apply a parsed member list to ``group`` in the caller's transaction."""
    ids = [m.user_id for m in listed]
    known: Known = {}
    if ids:
        known = _known(session, group, ids)
    newcomers = [
        MemberJoined(
            platform=group.platform,
            platform_record_id=f"sync:{group.id}:{m.user_id}:{int(now.timestamp())}",
            platform_group_id=group.platform_group_id,
            occurred_at=now,
            platform_user_id=m.user_id,
            user_name=m.name or m.nickname,
            group_name=group.name,
            how=JoinHow.imported,
            nickname=m.nickname,
        )
        for m in listed
        if m.user_id not in known
        or known[m.user_id][1] is None
        or known[m.user_id][1].status != "active"  # type: ignore[union-attr]
    ]
    added = 0
    if newcomers:
        ingestor = Ingestor(group.community_id, source=f"sync:{group.id}", group_kind=group.kind)
        added = len(ingestor.ingest(session, newcomers).added)
        session.expire_all()
        known = _known(session, group, ids)
    updated = 0
    for entry in listed:
        identity, membership = known.get(entry.user_id, (None, None))
        if identity is None or membership is None:
            continue
        changed = False
        if entry.name and identity.display_name != entry.name:
            identity.display_name = entry.name
            changed = True
        if entry.nickname and membership.nickname != entry.nickname:
            membership.nickname = entry.nickname
            changed = True
        role = _role(membership.role, entry.role)
        if role != membership.role:
            membership.role = role
            changed = True
        updated += changed
    session.flush()
    return SyncResult(listed=len(listed), added=added, updated=updated)


def _role(current: str, platform_role: str) -> str:
    if platform_role == "owner":
        return "owner"
    if platform_role == "admin" and current == "member":
        return "steward"
    if platform_role != "owner" and current == "owner":
        return "member" if platform_role == "member" else "steward"
    return current


async def sync_members(ctx: AppContext, group: Group) -> SyncResult:
    """Ask the platform for ``group``'s members and apply the answer (see the module)."""
    from qunyun.platforms.outbox import perform_now

    result = await perform_now(ctx, group, ActionKind.get_member_list, {})
    if not result.ok:
        raise DomainError("action.sync_failed", status=502, error=(result.error or "")[:300])
    listed = parse_member_list(result.data)

    def apply() -> SyncResult:
        with ctx.db.transaction() as session:
            fresh = session.get(Group, group.id)
            if fresh is None:
                raise DomainError("action.group_not_found", status=404, id=group.id)
            return apply_member_list(session, fresh, listed, utcnow())

    return await anyio.to_thread.run_sync(apply)
