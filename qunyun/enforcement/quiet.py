"""Quiet hours enforced by the platform: for groups whose book asks for it
(``quiet_hours.enforce_whole_mute``), the whole group is muted when a quiet period
starts and unmuted when it ends.

Each switch is an audit entry ("quiet.whole_mute" with ``enable``); the periodic sweep
compares the latest one with what the clock says, so a switch is asked for once, and
one missed while the process was down is made on the next sweep. A group never muted
by Qunyun is not "unmuted" outside quiet hours (its admins may have muted it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from qunyun.community.models import Community, Group
from qunyun.moderation import audit
from qunyun.moderation.books import EffectiveBook
from qunyun.moderation.models import AuditEntry
from qunyun.moderation.quiet import is_quiet, zone_for
from qunyun.platforms.actions import ActionKind
from qunyun.platforms.outbox import enqueue

from .env import EnforcementEnv

SWITCHED = "quiet.whole_mute"


def _last_switch(session: Session, group_ids: list[int]) -> dict[tuple[int, bool], bool]:
    """Whether each group was last muted (True) or unmuted (False) by Qunyun, kept apart
    for dry-run (recorded only) and real switches, keyed (group id, dry run)."""
    last: dict[tuple[int, bool], bool] = {}
    for group_id, detail in session.execute(
        select(AuditEntry.group_id, AuditEntry.detail)
        .where(AuditEntry.action == SWITCHED, AuditEntry.group_id.in_(group_ids))
        .order_by(AuditEntry.at, AuditEntry.id)
    ):
        if group_id is not None:
            data = detail or {}
            last[(group_id, bool(data.get("dry_run")))] = bool(data.get("enable"))
    return last


def sweep(
    session: Session,
    env: EnforcementEnv,
    groups: dict[int, Group],
    books: dict[int, EffectiveBook],
    now: datetime,
) -> int:
    """Switch the groups whose quiet state changed; returns how many were switched."""
    zones = dict(session.execute(select(Community.id, Community.timezone)).all())
    wanted: dict[int, bool] = {}
    for group in groups.values():
        rules = books[group.id].book.quiet_hours
        if rules.enabled and rules.enforce_whole_mute:
            zone = zone_for(rules, group.timezone or zones.get(group.community_id))
            wanted[group.id] = is_quiet(rules, now, zone)
    if not wanted:
        return 0
    last = _last_switch(session, sorted(wanted))
    switched = 0
    for group_id, quiet in wanted.items():
        dry_run = books[group_id].book.dry_run
        previous = last.get((group_id, dry_run))
        if previous == quiet or (previous is None and not quiet):
            continue
        group = groups[group_id]
        action_id = None
        if not dry_run:
            action_id = enqueue(
                session,
                community_id=group.community_id,
                group=group,
                kind=ActionKind.whole_mute,
                params={"enable": quiet},
                reason="quiet_hours",
                wake=env.wake,
            ).id
        audit.record(
            session,
            group.community_id,
            SWITCHED,
            summary="on" if quiet else "off",
            group_id=group_id,
            detail={"enable": quiet, "action": action_id, "dry_run": dry_run},
        )
        switched += 1
    return switched
