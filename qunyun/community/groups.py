"""Groups: create, change, archive; the tree; how full each one is. Services never commit.

Viewers read; operators create and change groups; admins archive and restore them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.defaults import GROUP_STATUSES
from qunyun.community.models import Community, Group, MembershipChange
from qunyun.community.service import get_community, group_kinds, validate_timezone
from qunyun.community.tree import Node, build_tree, creates_cycle
from qunyun.errors import Conflict, DomainError, NotFound

MIN_CAPACITY = 1
MAX_CAPACITY = 100_000
MAX_NAME = 200
MAX_TEXT = 5000
_PLATFORM_RE = re.compile(r"^[a-z0-9_]{1,32}$")
GROUP_FIELDS = frozenset(
    {
        "name",
        "platform",
        "platform_group_id",
        "kind",
        "standing",
        "ends_on",
        "capacity",
        "parent_id",
        "introduction",
        "announcement",
        "timezone",
    }
)


def get_group(session: Session, principal: Principal, community_id: int, group_id: int) -> Group:
    get_community(session, principal, community_id)
    group = session.get(Group, group_id)
    if group is None or group.community_id != community_id:
        raise NotFound("group.not_found")
    return group


def list_groups(
    session: Session, principal: Principal, community_id: int, *, include_archived: bool = True
) -> list[Group]:
    get_community(session, principal, community_id)
    query = select(Group).where(Group.community_id == community_id)
    if not include_archived:
        query = query.where(Group.status == "active")
    return list(session.scalars(query.order_by(Group.name, Group.id)))


def group_tree(
    session: Session, principal: Principal, community_id: int, *, include_archived: bool = True
) -> list[Node[Group]]:
    return build_tree(
        list_groups(session, principal, community_id, include_archived=include_archived)
    )


def capacity_use(group: Group) -> float:
    """How full the group is, 0.0 .. 1.0 (more when over capacity)."""
    return group.member_count / group.capacity if group.capacity > 0 else 0.0


# --- validation ----------------------------------------------------------------------


def _text(value: Any, code: str, limit: int) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if "\x00" in text or len(text) > limit:
        raise DomainError(code, max=limit)
    return text or None


def _capacity(value: Any) -> int:
    try:
        capacity = int(value)
    except (TypeError, ValueError):
        raise DomainError("group.capacity_range", min=MIN_CAPACITY, max=MAX_CAPACITY) from None
    if isinstance(value, bool) or not MIN_CAPACITY <= capacity <= MAX_CAPACITY:
        raise DomainError("group.capacity_range", min=MIN_CAPACITY, max=MAX_CAPACITY)
    return capacity


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise DomainError("group.invalid_date") from None


def _apply(session: Session, community: Community, group: Group, fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - GROUP_FIELDS
    if unknown:
        raise DomainError("group.unknown_field", field=sorted(unknown)[0])
    if "name" in fields:
        name = _text(fields["name"], "group.invalid_name", MAX_NAME)
        if not name:
            raise DomainError("group.invalid_name", max=MAX_NAME)
        group.name = name
    if "platform" in fields:
        platform = str(fields["platform"] or "").strip().lower()
        if not _PLATFORM_RE.match(platform):
            raise DomainError("group.invalid_platform")
        group.platform = platform
    if "platform_group_id" in fields:
        gid = _text(fields["platform_group_id"], "group.invalid_platform_id", 128)
        if not gid:
            raise DomainError("group.invalid_platform_id", max=128)
        group.platform_group_id = gid
    if "kind" in fields:
        kind = str(fields["kind"] or "").strip()
        allowed = group_kinds(community)
        if kind not in allowed:
            raise DomainError("group.invalid_kind", kind=kind[:40], kinds=", ".join(allowed))
        group.kind = kind
    if "capacity" in fields:
        group.capacity = _capacity(fields["capacity"])
    if "standing" in fields:
        group.standing = bool(fields["standing"])
    if "ends_on" in fields:
        group.ends_on = _date(fields["ends_on"])
    if group.standing:
        group.ends_on = None
    elif group.ends_on is None:
        raise DomainError("group.ends_on_required")
    for key in ("introduction", "announcement"):
        if key in fields:
            setattr(group, key, _text(fields[key], "group.text_too_long", MAX_TEXT))
    if "timezone" in fields:
        zone = str(fields["timezone"] or "").strip()
        group.timezone = validate_timezone(zone) if zone else None
    if "parent_id" in fields:
        group.parent_id = _parent(session, community.id, group, fields["parent_id"])


def _parent(session: Session, community_id: int, group: Group, value: Any) -> int | None:
    if value is None or value == "" or value == 0:
        return None
    try:
        parent_id = int(value)
    except (TypeError, ValueError):
        raise DomainError("group.parent_not_found") from None
    parent = session.get(Group, parent_id)
    if parent is None or parent.community_id != community_id:
        raise DomainError("group.parent_not_found")
    if group.id is not None:
        parents = dict(
            session.execute(
                select(Group.id, Group.parent_id).where(Group.community_id == community_id)
            ).all()
        )
        if creates_cycle(parents, group.id, parent_id):
            raise DomainError("group.parent_cycle")
    return parent_id


# --- changes -------------------------------------------------------------------------


def create_group(
    session: Session, principal: Principal, community_id: int, fields: Mapping[str, Any]
) -> Group:
    community = get_community(session, principal, community_id)
    principal.require(community_id, Role.operator)
    group = Group(
        community_id=community_id,
        platform="manual",
        platform_group_id=secrets.token_hex(6),
        kind=group_kinds(community)[0],
        standing=True,
        capacity=500,
        status="active",
        member_count=0,
    )
    values = dict(fields)
    values.setdefault("name", "")
    if not values.get("platform_group_id"):
        values.pop("platform_group_id", None)
    _apply(session, community, group, values)
    _unique(session, group)
    session.add(group)
    session.flush()
    return group


def update_group(
    session: Session,
    principal: Principal,
    community_id: int,
    group_id: int,
    fields: Mapping[str, Any],
) -> Group:
    group = get_group(session, principal, community_id, group_id)
    principal.require(community_id, Role.operator)
    community = get_community(session, principal, community_id)
    _apply(session, community, group, fields)
    if "platform" in fields or "platform_group_id" in fields:
        _unique(session, group)
    session.flush()
    return group


def _unique(session: Session, group: Group) -> None:
    clash = session.scalar(
        select(Group.id).where(
            Group.community_id == group.community_id,
            Group.platform == group.platform,
            Group.platform_group_id == group.platform_group_id,
        )
    )
    if clash is not None and clash != group.id:
        raise Conflict("group.exists", platform=group.platform, id=group.platform_group_id)


def set_status(
    session: Session, principal: Principal, community_id: int, group_id: int, status: str
) -> Group:
    group = get_group(session, principal, community_id, group_id)
    principal.require(community_id, Role.admin)
    if status not in GROUP_STATUSES:
        raise DomainError("group.invalid_status")
    group.status = status
    session.flush()
    return group


# --- what happened -------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: date
    joined: int
    left: int


def joins_per_day(session: Session, group: Group, zone: str, days: int = 30) -> list[DayCount]:
    """Joins and departures per local day over the last ``days`` days (oldest first)."""
    tz = ZoneInfo(zone)
    today = datetime.now(tz).date()
    start_day = today - timedelta(days=days - 1)
    since = datetime.combine(start_day, datetime.min.time(), tz)
    rows = session.execute(
        select(MembershipChange.change, MembershipChange.occurred_at).where(
            MembershipChange.group_id == group.id, MembershipChange.occurred_at >= since
        )
    )
    counts = {start_day + timedelta(days=i): [0, 0] for i in range(days)}
    for change, at in rows:
        day = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(tz).date()
        if day in counts:
            counts[day][0 if change == "joined" else 1] += 1
    return [DayCount(day, j, left) for day, (j, left) in counts.items()]
