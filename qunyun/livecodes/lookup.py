"""The landing's database read: a live code's snapshot, following merges."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from qunyun.db.engine import Database
from qunyun.livecodes.models import LiveCode, LiveCodeMember
from qunyun.livecodes.rotation import PoolMember, Schedule, Strategy
from qunyun.livecodes.snapshot import CodeKind, CodeStatus, LiveCodeSnapshot, MemberCard
from qunyun.livecodes.tokens import Signer, image_version

MAX_MERGE_HOPS = 16


def resolve_code(session: Session, code_id: int) -> LiveCode | None:
    """The code whose pool ``code_id``'s links serve: itself, or where it was merged.

    None for a deleted code, a retired one whose target is gone, or a cycle.
    """
    seen: set[int] = set()
    current: int | None = code_id
    while current is not None and current not in seen and len(seen) <= MAX_MERGE_HOPS:
        seen.add(current)
        code = session.scalar(
            select(LiveCode).options(defer(LiveCode.fallback_image)).where(LiveCode.id == current)
        )
        if code is None or code.status == CodeStatus.deleted:
            return None
        if code.status != CodeStatus.retired:
            return code
        current = code.merged_into_id
    return None


def pool_member(member: LiveCodeMember) -> PoolMember:
    return PoolMember(
        id=member.id,
        position=member.position,
        weight=member.weight,
        threshold=member.scan_threshold or None,
        scans=member.scans,
        expires_at=member.expires_at,
        enabled=member.is_enabled,
        working_hours=Schedule.parse(member.working_hours),
    )


def snapshot_of(code: LiveCode, members: list[LiveCodeMember], signer: Signer) -> LiveCodeSnapshot:
    fallback_image = None
    if code.fallback_image_type:
        fallback_image = signer.fallback_image_url(code.id, image_version(code.updated_at))
    return LiveCodeSnapshot(
        id=code.id,
        community_id=code.community_id,
        name=code.name,
        kind=CodeKind(code.kind),
        strategy=Strategy(code.strategy),
        title=code.title,
        description=code.description,
        sticky_days=code.sticky_days,
        zone=ZoneInfo(code.timezone),
        active_hours=Schedule.parse(code.active_hours),
        status=CodeStatus(code.status),
        members=tuple(pool_member(m) for m in members),
        cards={
            m.id: MemberCard(m.name, signer.member_image_url(m.id, image_version(m.created_at)))
            for m in members
        },
        fallback_message=code.fallback_message,
        fallback_contact=code.fallback_contact,
        fallback_image_url=fallback_image,
    )


def code_members(session: Session, code_id: int) -> list[LiveCodeMember]:
    return list(
        session.scalars(
            select(LiveCodeMember)
            .options(defer(LiveCodeMember.image))
            .where(LiveCodeMember.live_code_id == code_id)
            .order_by(LiveCodeMember.position, LiveCodeMember.id)
        )
    )


def load_live_snapshot(db: Database, code_id: int, signer: Signer) -> LiveCodeSnapshot | None:
    with db.session(write=False) as session:
        code = resolve_code(session, code_id)
        if code is None:
            return None
        return snapshot_of(code, code_members(session, code.id), signer)
