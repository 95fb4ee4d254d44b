"""Members: the directory, the profile with its timeline, and operators' edits.

Services take the caller's session and never commit. Viewers read the directory and
profiles; operators edit members and export the directory (it is personal data in
bulk); admins merge and split (see :mod:`qunyun.community.identities`). A member
merged into another stays readable by id but leaves the directory.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from qunyun.accounts.models import User
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community import tiers
from qunyun.community.defaults import GROUP_ROLES, MEMBER_SOURCES, MEMBERSHIP_STATUSES
from qunyun.community.models import (
    Group,
    GroupMembership,
    IdentityChange,
    Member,
    MemberIdentity,
    MembershipChange,
    MemberTag,
)
from qunyun.community.service import get_community, tier_scheme
from qunyun.community.tree import creates_cycle
from qunyun.errors import DomainError, NotFound
from qunyun.paging import Page
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import RecordKind

SORTS = ("join_order", "last_active", "name")
MAX_PER_PAGE = 200
MAX_PAGE = 100_000
MAX_EXPORT = 100_000
MAX_TAGS = 50
MAX_TAG = 64
MAX_TITLES = 20
MAX_TITLE = 64
MAX_NOTES = 10_000
MAX_SEARCH = 100
REFERRAL_DEPTH = 3
REFERRALS_PER_LEVEL = 500
MEMBER_FIELDS = frozenset({"display_name", "titles", "notes", "source", "inviter_id", "tags"})


# --- reading one ---------------------------------------------------------------------


def get_member(session: Session, principal: Principal, community_id: int, member_id: int) -> Member:
    get_community(session, principal, community_id)
    member = session.get(Member, member_id)
    if member is None or member.community_id != community_id:
        raise NotFound("member.not_found")
    return member


def _live_member(
    session: Session, principal: Principal, community_id: int, member_id: int
) -> Member:
    member = get_member(session, principal, community_id, member_id)
    if member.merged_into_id is not None:
        raise DomainError("member.merged", status=409, into=member.merged_into_id)
    return member


# --- the directory -------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryQuery:
    q: str = ""
    group_id: int | None = None
    role: str | None = None
    tier: str | None = None
    tag: str | None = None
    source: str | None = None
    status: str | None = None
    sort: str = "join_order"
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class DirectoryRow:
    member: Member
    tier: str | None
    tags: list[str]
    groups: list[str]


DirectoryPage = Page[DirectoryRow]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _filtered(
    session: Session, principal: Principal, community_id: int, query: DirectoryQuery
) -> tuple[Select[Member], tiers.TierScheme]:
    community = get_community(session, principal, community_id)
    principal.require(community_id, Role.viewer)
    scheme = tier_scheme(community)
    stmt = select(Member).where(
        Member.community_id == community_id, Member.merged_into_id.is_(None)
    )
    conditions: list[ColumnElement[bool]] = []
    q = query.q.strip()[:MAX_SEARCH]
    if q:
        pattern = _like(q)
        conditions.append(
            or_(
                func.lower(Member.display_name).like(pattern, escape="\\"),
                exists().where(
                    MemberIdentity.member_id == Member.id,
                    or_(
                        func.lower(MemberIdentity.display_name).like(pattern, escape="\\"),
                        MemberIdentity.platform_user_id == q,
                    ),
                ),
                exists().where(
                    GroupMembership.member_id == Member.id,
                    func.lower(GroupMembership.nickname).like(pattern, escape="\\"),
                ),
            )
        )
    if query.role is not None and query.role not in GROUP_ROLES:
        raise DomainError("member.invalid_role", role=query.role[:32])
    if query.status is not None and query.status not in MEMBERSHIP_STATUSES:
        raise DomainError("member.invalid_status")
    if query.group_id is not None or query.role or query.status:
        inner: list[ColumnElement[bool]] = [GroupMembership.member_id == Member.id]
        if query.group_id is not None:
            inner.append(GroupMembership.group_id == query.group_id)
        if query.role:
            inner.append(GroupMembership.role == query.role)
        if query.status:
            inner.append(GroupMembership.status == query.status)
        conditions.append(exists().where(and_(*inner)))
    if query.tag:
        conditions.append(
            exists().where(MemberTag.member_id == Member.id, MemberTag.tag == query.tag.strip())
        )
    if query.source:
        if query.source not in MEMBER_SOURCES:
            raise DomainError("member.invalid_source")
        conditions.append(Member.source == query.source)
    if query.tier:
        span = scheme.range_of(query.tier)
        if span is None:
            raise DomainError("member.unknown_tier", tier=query.tier[:32])
        first, last = span
        conditions.append(Member.join_order >= first)
        if last is not None:
            conditions.append(Member.join_order <= last)
    if conditions:
        stmt = stmt.where(and_(*conditions))
    if query.sort not in SORTS:
        raise DomainError("member.invalid_sort")
    return stmt, scheme


def _ordered(stmt: Select[Member], sort: str) -> Select[Member]:
    if sort == "last_active":
        return stmt.order_by(Member.last_active_at.desc().nulls_last(), Member.id.desc())
    if sort == "name":
        return stmt.order_by(Member.display_name, Member.id)
    return stmt.order_by(Member.join_order.asc().nulls_last(), Member.id)


def directory(
    session: Session, principal: Principal, community_id: int, query: DirectoryQuery
) -> DirectoryPage:
    stmt, scheme = _filtered(session, principal, community_id, query)
    page = min(max(1, query.page), MAX_PAGE)
    per_page = min(max(1, query.per_page), MAX_PER_PAGE)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    members = list(
        session.scalars(_ordered(stmt, query.sort).offset((page - 1) * per_page).limit(per_page))
    )
    return DirectoryPage(_rows(session, members, scheme), total, page, per_page)


def _rows(
    session: Session, members: Sequence[Member], scheme: tiers.TierScheme
) -> list[DirectoryRow]:
    ids = [m.id for m in members]
    tags = tags_of(session, ids)
    groups: dict[int, list[str]] = defaultdict(list)
    if ids:
        for member_id, name in session.execute(
            select(GroupMembership.member_id, Group.name)
            .join(Group, Group.id == GroupMembership.group_id)
            .where(GroupMembership.member_id.in_(ids), GroupMembership.status == "active")
            .order_by(Group.name)
        ):
            groups[member_id].append(name)
    return [
        DirectoryRow(m, scheme.tier_of(m.join_order), tags.get(m.id, []), groups.get(m.id, []))
        for m in members
    ]


def tags_of(session: Session, member_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(member_ids)
    out: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        for member_id, tag in session.execute(
            select(MemberTag.member_id, MemberTag.tag)
            .where(MemberTag.member_id.in_(ids[start : start + 500]))
            .order_by(MemberTag.tag)
        ):
            out[member_id].append(tag)
    return out


def all_tags(session: Session, principal: Principal, community_id: int) -> list[str]:
    get_community(session, principal, community_id)
    return list(
        session.scalars(
            select(MemberTag.tag)
            .join(Member, Member.id == MemberTag.member_id)
            .where(Member.community_id == community_id)
            .group_by(MemberTag.tag)
            .order_by(MemberTag.tag)
        )
    )


EXPORT_COLUMNS = (
    "id",
    "join_order",
    "tier",
    "display_name",
    "identities",
    "groups",
    "tags",
    "titles",
    "source",
    "inviter_id",
    "first_joined_at",
    "last_active_at",
    "message_count",
)


def export_csv(
    session: Session, principal: Principal, community_id: int, query: DirectoryQuery
) -> str:
    """Every member the query matches (no paging), as CSV with a BOM for spreadsheets."""
    principal.require(community_id, Role.operator)
    stmt, scheme = _filtered(session, principal, community_id, query)
    members = list(session.scalars(_ordered(stmt, query.sort).limit(MAX_EXPORT)))
    identities: dict[int, list[str]] = defaultdict(list)
    ids = [m.id for m in members]
    for start in range(0, len(ids), 500):
        for member_id, platform, uid in session.execute(
            select(
                MemberIdentity.member_id, MemberIdentity.platform, MemberIdentity.platform_user_id
            )
            .where(MemberIdentity.member_id.in_(ids[start : start + 500]))
            .order_by(MemberIdentity.id)
        ):
            identities[member_id].append(f"{platform}:{uid}")
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for row in _rows(session, members, scheme):
        m = row.member
        writer.writerow(
            [
                m.id,
                m.join_order or "",
                row.tier or "",
                _cell(m.display_name),
                " ".join(identities.get(m.id, [])),
                _cell("; ".join(row.groups)),
                _cell("; ".join(row.tags)),
                _cell("; ".join(m.titles or [])),
                m.source,
                m.inviter_id or "",
                m.first_joined_at.isoformat() if m.first_joined_at else "",
                m.last_active_at.isoformat() if m.last_active_at else "",
                m.message_count,
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    # A cell starting like a formula would run in the spreadsheet that opens it.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- the profile ---------------------------------------------------------------------


@dataclass(frozen=True)
class MembershipView:
    membership: GroupMembership
    group: Group


@dataclass
class Referral:
    member: Member
    children: list[Referral] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryEntry:
    change: IdentityChange
    other_name: str | None
    by_name: str | None


@dataclass(frozen=True)
class Profile:
    member: Member
    tier: str | None
    identities: list[MemberIdentity]
    memberships: list[MembershipView]
    tags: list[str]
    inviter: Member | None
    invitees: list[Referral]
    merged_from: list[Member]
    merged_into: Member | None
    history: list[HistoryEntry]


def profile(session: Session, principal: Principal, community_id: int, member_id: int) -> Profile:
    member = get_member(session, principal, community_id, member_id)
    community = get_community(session, principal, community_id)
    identities = list(
        session.scalars(
            select(MemberIdentity)
            .where(MemberIdentity.member_id == member.id)
            .order_by(MemberIdentity.id)
        )
    )
    memberships = [
        MembershipView(ms, group)
        for ms, group in session.execute(
            select(GroupMembership, Group)
            .join(Group, Group.id == GroupMembership.group_id)
            .where(GroupMembership.member_id == member.id)
            .order_by(Group.name, Group.id)
        )
    ]
    inviter = session.get(Member, member.inviter_id) if member.inviter_id else None
    merged_from = list(
        session.scalars(
            select(Member).where(Member.merged_into_id == member.id).order_by(Member.id)
        )
    )
    merged_into = session.get(Member, member.merged_into_id) if member.merged_into_id else None
    return Profile(
        member=member,
        tier=tier_scheme(community).tier_of(member.join_order),
        identities=identities,
        memberships=memberships,
        tags=tags_of(session, [member.id]).get(member.id, []),
        inviter=inviter,
        invitees=referrals(session, member.id),
        merged_from=merged_from,
        merged_into=merged_into,
        history=identity_history(session, community_id, member.id),
    )


def referrals(session: Session, member_id: int, depth: int = REFERRAL_DEPTH) -> list[Referral]:
    """Whom the member invited, and whom they invited, ``depth`` levels down."""
    roots: list[Referral] = []
    level: dict[int, list[Referral]] = {member_id: roots}
    seen = {member_id}
    for _ in range(depth):
        if not level:
            break
        rows = session.scalars(
            select(Member)
            .where(Member.inviter_id.in_(list(level)), Member.merged_into_id.is_(None))
            .order_by(Member.join_order.asc().nulls_last(), Member.id)
            .limit(REFERRALS_PER_LEVEL)
        )
        following: dict[int, list[Referral]] = {}
        for row in rows:
            if row.id in seen or row.inviter_id is None:
                continue
            seen.add(row.id)
            node = Referral(row)
            level[row.inviter_id].append(node)
            following[row.id] = node.children
        level = following
    return roots


def identity_history(session: Session, community_id: int, member_id: int) -> list[HistoryEntry]:
    rows = list(
        session.scalars(
            select(IdentityChange)
            .where(
                IdentityChange.community_id == community_id,
                or_(
                    IdentityChange.member_id == member_id,
                    IdentityChange.other_member_id == member_id,
                ),
            )
            .order_by(IdentityChange.at.desc(), IdentityChange.id.desc())
        )
    )
    names = _member_names(session, {r.other_member_id for r in rows} | {r.member_id for r in rows})
    users = _user_names(session, {r.by_user_id for r in rows})
    return [
        HistoryEntry(
            r,
            names.get(r.other_member_id if r.member_id == member_id else r.member_id),
            users.get(r.by_user_id),
        )
        for r in rows
    ]


def _member_names(session: Session, ids: Iterable[int | None]) -> dict[int | None, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = session.execute(select(Member.id, Member.display_name).where(Member.id.in_(wanted)))
    return dict(rows.all())


def _user_names(session: Session, ids: Iterable[int | None]) -> dict[int | None, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())


# --- the timeline --------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineItem:
    type: str  # "change" or "message"
    at: datetime
    group_id: int | None
    group_name: str | None
    id: int
    # Changes: joined/left/removed/banned and how; messages: the text and its kind.
    change: str | None = None
    how: str | None = None
    by_member_id: int | None = None
    by_name: str | None = None
    text: str | None = None
    message_kind: str | None = None


TimelinePage = Page[TimelineItem]


def timeline(
    session: Session,
    principal: Principal,
    community_id: int,
    member_id: int,
    *,
    page: int = 1,
    per_page: int = 50,
) -> TimelinePage:
    """Membership changes and messages across every group, newest first."""
    member = get_member(session, principal, community_id, member_id)
    page = min(max(1, page), MAX_PAGE)
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    changes = select(
        literal_column("'change'", String).label("type"),
        MembershipChange.occurred_at.label("at"),
        MembershipChange.group_id.label("group_id"),
        MembershipChange.id.label("ref"),
        cast(MembershipChange.change, String).label("detail"),
        cast(MembershipChange.how, String).label("extra"),
        MembershipChange.by_member_id.label("by_member_id"),
    ).where(MembershipChange.member_id == member.id)
    messages = select(
        literal_column("'message'", String).label("type"),
        StreamRecord.occurred_at.label("at"),
        StreamRecord.group_id.label("group_id"),
        StreamRecord.id.label("ref"),
        cast(StreamRecord.text, String).label("detail"),
        cast(StreamRecord.message_kind, String).label("extra"),
        literal_column("NULL", Integer).label("by_member_id"),
    ).where(
        StreamRecord.member_id == member.id, StreamRecord.kind == RecordKind.message_posted.value
    )
    both = union_all(changes, messages).subquery()
    total = int(session.scalar(select(func.count()).select_from(both)) or 0)
    rows = session.execute(
        select(both)
        .order_by(both.c.at.desc(), both.c.ref.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    group_names = dict(
        session.execute(
            select(Group.id, Group.name).where(
                Group.id.in_({r.group_id for r in rows if r.group_id})
            )
        ).all()
    )
    by_names = _member_names(session, {r.by_member_id for r in rows})
    items: list[TimelineItem] = []
    for r in rows:
        at = r.at if isinstance(r.at, datetime) else datetime.fromisoformat(str(r.at))
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if r.type == "change":
            items.append(
                TimelineItem(
                    "change",
                    at,
                    r.group_id,
                    group_names.get(r.group_id),
                    r.ref,
                    change=r.detail,
                    how=r.extra,
                    by_member_id=r.by_member_id,
                    by_name=by_names.get(r.by_member_id),
                )
            )
        else:
            items.append(
                TimelineItem(
                    "message",
                    at,
                    r.group_id,
                    group_names.get(r.group_id),
                    r.ref,
                    text=r.detail,
                    message_kind=r.extra,
                )
            )
    return TimelinePage(items, total, page, per_page)


# --- edits ---------------------------------------------------------------------------


def _clean_list(values: Any, code: str, limit: int, count: int) -> list[str]:
    if isinstance(values, str):
        values = values.replace("，", ",").replace("\n", ",").split(",")
    if not isinstance(values, list | tuple):
        raise DomainError(code, max=limit)
    out: list[str] = []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        if len(text) > limit or any(ch < " " for ch in text):
            raise DomainError(code, max=limit)
        if text not in out:
            out.append(text)
    if len(out) > count:
        raise DomainError(code, max=limit)
    return out


def update_member(
    session: Session,
    principal: Principal,
    community_id: int,
    member_id: int,
    fields: Mapping[str, Any],
) -> Member:
    member = _live_member(session, principal, community_id, member_id)
    principal.require(community_id, Role.operator)
    unknown = set(fields) - MEMBER_FIELDS
    if unknown:
        raise DomainError("member.unknown_field", field=sorted(unknown)[0])
    if "display_name" in fields:
        name = str(fields["display_name"] or "").strip()
        if not name or len(name) > 200 or "\x00" in name:
            raise DomainError("member.invalid_name")
        member.display_name = name
    if "titles" in fields:
        member.titles = _clean_list(
            fields["titles"] or [], "member.invalid_title", MAX_TITLE, MAX_TITLES
        )
    if "notes" in fields:
        notes = str(fields["notes"] or "").strip()
        if len(notes) > MAX_NOTES or "\x00" in notes:
            raise DomainError("member.notes_too_long", max=MAX_NOTES)
        member.notes = notes or None
    if "source" in fields:
        if fields["source"] not in MEMBER_SOURCES:
            raise DomainError("member.invalid_source")
        member.source = str(fields["source"])
    if "inviter_id" in fields:
        member.inviter_id = _inviter(session, member, fields["inviter_id"])
        if member.inviter_id is not None and member.source == "unknown":
            member.source = "invite"
    if "tags" in fields:
        set_tags(
            session,
            member,
            _clean_list(fields["tags"] or [], "member.invalid_tag", MAX_TAG, MAX_TAGS),
        )
    session.flush()
    return member


def _inviter(session: Session, member: Member, value: Any) -> int | None:
    if value is None or value in ("", 0):
        return None
    try:
        inviter_id = int(value)
    except (TypeError, ValueError):
        raise DomainError("member.inviter_not_found") from None
    inviter = session.get(Member, inviter_id)
    if inviter is None or inviter.community_id != member.community_id or inviter.merged_into_id:
        raise DomainError("member.inviter_not_found")
    chain = dict(
        session.execute(
            select(Member.id, Member.inviter_id).where(
                Member.community_id == member.community_id, Member.inviter_id.is_not(None)
            )
        ).all()
    )
    if creates_cycle(chain, member.id, inviter_id):
        raise DomainError("member.inviter_cycle")
    return inviter_id


def set_tags(session: Session, member: Member, tags: Sequence[str]) -> None:
    current = {
        t.tag: t for t in session.scalars(select(MemberTag).where(MemberTag.member_id == member.id))
    }
    for tag, row in current.items():
        if tag not in tags:
            session.delete(row)
    for tag in tags:
        if tag not in current:
            session.add(MemberTag(member_id=member.id, tag=tag))
    session.flush()


def change_tags(
    session: Session,
    principal: Principal,
    community_id: int,
    member_id: int,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> list[str]:
    member = _live_member(session, principal, community_id, member_id)
    principal.require(community_id, Role.operator)
    current = tags_of(session, [member.id]).get(member.id, [])
    dropped = {t.strip() for t in remove}
    wanted = [t for t in [*current, *add] if t.strip() not in dropped]
    cleaned = _clean_list(wanted, "member.invalid_tag", MAX_TAG, MAX_TAGS)
    set_tags(session, member, cleaned)
    return sorted(cleaned)


def set_group_role(
    session: Session,
    principal: Principal,
    community_id: int,
    member_id: int,
    group_id: int,
    role: str,
) -> GroupMembership:
    member = _live_member(session, principal, community_id, member_id)
    principal.require(community_id, Role.operator)
    if role not in GROUP_ROLES:
        raise DomainError("member.invalid_role", role=role[:32])
    membership = session.scalar(
        select(GroupMembership)
        .join(Group, Group.id == GroupMembership.group_id)
        .where(
            GroupMembership.member_id == member.id,
            GroupMembership.group_id == group_id,
            Group.community_id == community_id,
        )
    )
    if membership is None:
        raise NotFound("member.membership_not_found")
    membership.role = role
    session.flush()
    return membership


def group_members(
    session: Session, principal: Principal, community_id: int, group_id: int, *, limit: int = 500
) -> list[tuple[GroupMembership, Member]]:
    """A group's members, active first, then by join time."""
    get_community(session, principal, community_id)
    return [
        (ms, m)
        for ms, m in session.execute(
            select(GroupMembership, Member)
            .join(Member, Member.id == GroupMembership.member_id)
            .join(Group, Group.id == GroupMembership.group_id)
            .where(GroupMembership.group_id == group_id, Group.community_id == community_id)
            .order_by(
                (GroupMembership.status != "active"),
                GroupMembership.joined_at.asc().nulls_last(),
                GroupMembership.id,
            )
            .limit(limit)
        )
    ]
