"""Storing records: idempotent, in batches, and keeping groups and members up to date.

One :class:`Ingestor` serves one community and one source (a connection, an import
job). It remembers which group and member ids it has resolved, so a long import asks
the database only about people it has not met yet. The caller owns the transaction:
``ingest`` never commits, and ids learnt in a transaction that rolls back are
forgotten with it.

Idempotency rests on the unique key (community, platform, platform record id): a
record already stored is skipped by ``INSERT ... ON CONFLICT DO NOTHING`` and has no
side effects the second time. Out-of-order delivery is harmless because membership
status follows the platform's time (``status_at``), not the arrival order, and the
stream is read in ``occurred_at`` order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from qunyun.community.models import (
    Community,
    Group,
    GroupMembership,
    Member,
    MemberIdentity,
    MembershipChange,
)
from qunyun.db.base import utcnow
from qunyun.db.engine import after_commit, after_rollback
from qunyun.stream.bulk import Bulk
from qunyun.stream.dispatcher import Dispatcher
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import (
    JoinHow,
    LeaveHow,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    NicknameChanged,
    Record,
    StoredRecord,
    UnknownPayload,
)

_RECORDS: Table = StreamRecord.__table__  # type: ignore[assignment]
_MEMBERSHIPS: Table = GroupMembership.__table__  # type: ignore[assignment]
_MEMBERS: Table = Member.__table__  # type: ignore[assignment]


@dataclass
class IngestResult:
    added: list[StoredRecord] = field(default_factory=list)
    duplicates: int = 0
    unknown: int = 0

    def merge(self, other: IngestResult) -> None:
        self.added.extend(other.added)
        self.duplicates += other.duplicates
        self.unknown += other.unknown


def _later(current: datetime | None, moment: datetime) -> bool:
    return current is None or moment >= current


class Ingestor:
    """Stores records for one community from one source."""

    def __init__(
        self,
        community_id: int,
        *,
        source: str,
        connection_id: int | None = None,
        dispatcher: Dispatcher | None = None,
        group_kind: str = "main",
    ) -> None:
        self.community_id = community_id
        self.source = source
        self.connection_id = connection_id
        self.dispatcher = dispatcher
        self.group_kind = group_kind
        self._groups: dict[tuple[str, str], int] = {}
        self._members: dict[tuple[str, str], int] = {}
        self._memberships: dict[tuple[int, int], int] = {}

    # --- the one entry point ----------------------------------------------------------

    def ingest(self, session: Session, records: Sequence[Record]) -> IngestResult:
        """Store ``records`` (any order, duplicates allowed) in the caller's transaction."""
        result = IngestResult()
        unique: dict[tuple[str, str], Record] = {}
        for record in records:
            key = (record.platform, record.platform_record_id)
            if key in unique:
                result.duplicates += 1
            else:
                unique[key] = record
        if not unique:
            return result
        batch = list(unique.values())
        # Ids learnt in a transaction that rolls back may name rows that never existed.
        after_rollback(session, self.forget)
        self._resolve_groups(session, batch)
        self._resolve_members(session, batch)
        stored = self._insert(session, batch)
        result.duplicates += len(batch) - len(stored)
        result.unknown = sum(1 for s in stored if isinstance(s.record, UnknownPayload))
        result.added = stored
        if stored:
            self._apply(session, stored)
        if self.dispatcher is not None and stored:
            dispatcher = self.dispatcher
            after_commit(session, lambda: dispatcher.publish(stored))
        return result

    def forget(self) -> None:
        """Drop every remembered id (after a rollback the caller could not see)."""
        self._groups.clear()
        self._members.clear()
        self._memberships.clear()

    # --- resolving groups and members -------------------------------------------------

    def _resolve_groups(self, session: Session, batch: Sequence[Record]) -> None:
        wanted: dict[tuple[str, str], str | None] = {}
        for record in batch:
            if record.platform_group_id is None:
                continue
            key = (record.platform, record.platform_group_id)
            if key not in self._groups and (key not in wanted or wanted[key] is None):
                wanted[key] = record.group_name
        if wanted:
            self._load_groups(session, wanted.keys())
            missing = [k for k in wanted if k not in self._groups]
            if missing:
                bulk = Bulk(session)
                now = bulk.ts(utcnow())
                bulk.insert(
                    "groups",
                    _GROUP_COLUMNS,
                    [
                        (
                            self.community_id,
                            platform,
                            gid,
                            (wanted[(platform, gid)] or f"{platform} {gid}")[:200],
                            self.group_kind,
                            self.connection_id,
                            True,
                            500,
                            "active",
                            0,
                            now,
                            now,
                        )
                        for platform, gid in missing
                    ],
                    conflict=("community_id", "platform", "platform_group_id"),
                )
                self._load_groups(session, missing)

    def _load_groups(self, session: Session, keys: Iterable[tuple[str, str]]) -> None:
        by_platform: dict[str, list[str]] = defaultdict(list)
        for platform, gid in keys:
            by_platform[platform].append(gid)
        for platform, gids in by_platform.items():
            rows = session.execute(
                select(Group.id, Group.platform_group_id).where(
                    Group.community_id == self.community_id,
                    Group.platform == platform,
                    Group.platform_group_id.in_(gids),
                )
            )
            for gid_row, pgid in rows:
                self._groups[(platform, pgid)] = gid_row

    def _resolve_members(self, session: Session, batch: Sequence[Record]) -> None:
        names: dict[tuple[str, str], str | None] = {}
        known = self._members
        for record in batch:
            uid = record.platform_user_id
            if uid is not None and (record.platform, uid) not in known:
                key = (record.platform, uid)
                if names.get(key) is None:
                    names[key] = record.user_name
            operator = getattr(record, "operator_user_id", None) or getattr(
                record, "inviter_user_id", None
            )
            if operator and (record.platform, operator) not in known:
                names.setdefault((record.platform, operator), None)
        if names:
            self._load_members(session, names.keys())
            missing = [k for k in names if k not in self._members]
            if missing:
                self._create_members(session, missing, names)

    def _load_members(self, session: Session, keys: Iterable[tuple[str, str]]) -> None:
        by_platform: dict[str, list[str]] = defaultdict(list)
        for platform, uid in keys:
            by_platform[platform].append(uid)
        for platform, uids in by_platform.items():
            for start in range(0, len(uids), 500):
                rows = session.execute(
                    select(MemberIdentity.member_id, MemberIdentity.platform_user_id).where(
                        MemberIdentity.community_id == self.community_id,
                        MemberIdentity.platform == platform,
                        MemberIdentity.platform_user_id.in_(uids[start : start + 500]),
                    )
                )
                for member_id, uid in rows:
                    self._members[(platform, uid)] = member_id

    def _create_members(
        self,
        session: Session,
        missing: list[tuple[str, str]],
        names: dict[tuple[str, str], str | None],
    ) -> None:
        now = utcnow()
        created = session.execute(
            _MEMBERS.insert().returning(_MEMBERS.c.id, sort_by_parameter_order=True),
            [
                {
                    "community_id": self.community_id,
                    "display_name": (names[key] or key[1])[:200],
                    "source": "imported" if self.source.startswith("import") else "unknown",
                    "titles": [],
                    "message_count": 0,
                    "created_at": now,
                }
                for key in missing
            ],
        ).scalars()
        member_ids = list(created)
        bulk = Bulk(session)
        taken: set[tuple[str, str]] = set()
        by_platform: dict[str, list[tuple[str, int, str | None]]] = defaultdict(list)
        for key, member_id in zip(missing, member_ids, strict=True):
            by_platform[key[0]].append((key[1], member_id, names[key]))
        for platform, entries in by_platform.items():
            inserted = bulk.insert(
                "member_identities",
                ("community_id", "member_id", "platform", "platform_user_id", "display_name",
                 "created_at"),
                [
                    (self.community_id, member_id, platform, uid, name, bulk.ts(now))
                    for uid, member_id, name in entries
                ],
                conflict=("community_id", "platform", "platform_user_id"),
                returning=("platform_user_id",),
            )  # fmt: skip
            won = {uid for (uid,) in inserted}
            for uid, member_id, _ in entries:
                if uid in won:
                    self._members[(platform, uid)] = member_id
                else:
                    taken.add((platform, uid))
        if taken:
            # Another writer created these people first: drop our duplicates, use theirs.
            losers = [
                member_id
                for key, member_id in zip(missing, member_ids, strict=True)
                if key in taken
            ]
            session.execute(delete(Member).where(Member.id.in_(losers)))
            self._load_members(session, taken)

    # --- storing ----------------------------------------------------------------------

    def _insert(self, session: Session, batch: Sequence[Record]) -> list[StoredRecord]:
        bulk = Bulk(session)
        now = bulk.ts(utcnow())
        rows: list[tuple[Any, ...]] = []
        targets: list[tuple[int | None, int | None]] = []
        groups, members = self._groups, self._members
        for record in batch:
            group_id = groups.get((record.platform, record.platform_group_id))  # type: ignore[arg-type]
            member_id = members.get((record.platform, record.platform_user_id))  # type: ignore[arg-type]
            targets.append((group_id, member_id))
            posted = record if isinstance(record, MessagePosted) else None
            rows.append(
                (
                    self.community_id,
                    group_id,
                    member_id,
                    record.platform,
                    record.platform_record_id,
                    record.kind.value,
                    bulk.ts(record.occurred_at),
                    now,
                    record.platform_user_id,
                    getattr(record, "message_id", None),
                    posted.message_kind.value if posted else None,
                    posted.text if posted else None,
                    posted.reply_to if posted else None,
                    bulk.json(record.data()),
                    bulk.json(dict(record.raw)) if record.raw is not None else None,
                    self.source,
                )
            )
        inserted = bulk.insert(
            "stream_records",
            _RECORD_COLUMNS,
            rows,
            conflict=("community_id", "platform", "platform_record_id"),
            returning=("id", "platform", "platform_record_id"),
            json_columns=frozenset({"data", "raw"}),
        )
        ids = {(p, rid): row_id for row_id, p, rid in inserted}
        stored: list[StoredRecord] = []
        for record, (group_id, member_id) in zip(batch, targets, strict=True):
            row_id = ids.get((record.platform, record.platform_record_id))
            if row_id is not None:
                stored.append(
                    StoredRecord(
                        id=row_id,
                        community_id=self.community_id,
                        group_id=group_id,
                        member_id=member_id,
                        source=self.source,
                        record=record,
                    )
                )
        return stored

    # --- what the records change ------------------------------------------------------

    def _apply(self, session: Session, stored: list[StoredRecord]) -> None:
        activity: dict[tuple[int, int], list[Any]] = {}
        changes: list[tuple[StoredRecord, int | None]] = []
        for item in stored:
            record, group_id, member_id = item.record, item.group_id, item.member_id
            if group_id is None or member_id is None:
                continue
            if isinstance(record, MessagePosted):
                if record.edited:
                    continue
                slot = activity.get((group_id, member_id))
                if slot is None:
                    activity[(group_id, member_id)] = [1, record.occurred_at, record.nickname]
                else:
                    slot[0] += 1
                    if record.occurred_at >= slot[1]:
                        slot[1] = record.occurred_at
                        slot[2] = record.nickname or slot[2]
            elif isinstance(record, MemberJoined | MemberLeft):
                operator = record.operator_user_id
                by = self._members.get((record.platform, operator)) if operator else None
                changes.append((item, by))
            elif isinstance(record, NicknameChanged):
                changes.append((item, None))
        pairs = {(i.group_id, i.member_id) for i, _ in changes} | set(activity)
        self._ensure_memberships(session, pairs)  # type: ignore[arg-type]
        if changes:
            self._membership_changes(session, changes)
        if activity:
            self._record_activity(session, activity)

    def _ensure_memberships(self, session: Session, pairs: set[tuple[int, int]]) -> None:
        missing = [key for key in pairs if key not in self._memberships]
        if not missing:
            return
        self._load_memberships(session, missing)
        absent = [key for key in missing if key not in self._memberships]
        if absent:
            Bulk(session).insert(
                "group_memberships",
                ("group_id", "member_id", "role", "status", "message_count"),
                [(g, m, "member", "active", 0) for g, m in absent],
                conflict=("group_id", "member_id"),
            )
            self._load_memberships(session, absent)
            _recount(session, {g for g, _ in absent})

    def _membership_changes(
        self, session: Session, changes: list[tuple[StoredRecord, int | None]]
    ) -> None:
        """Joins, leaves and nickname changes, in the platform's order; a late delivery
        of an older change is recorded in the history but does not overturn a newer one."""
        changes.sort(key=lambda c: (c[0].record.occurred_at, c[0].id))
        ids = {self._memberships[(i.group_id, i.member_id)] for i, _ in changes}  # type: ignore[index]
        memberships = {
            (m.group_id, m.member_id): m
            for m in session.scalars(select(GroupMembership).where(GroupMembership.id.in_(ids)))
        }
        member_ids = {i.member_id for i, _ in changes if isinstance(i.record, MemberJoined)}
        people = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(member_ids)))}
        numbering = _JoinNumbering(session, self.community_id)
        touched: set[int] = set()
        history: list[MembershipChange] = []
        for item, by in changes:
            record = item.record
            membership = memberships[(item.group_id, item.member_id)]  # type: ignore[index]
            at = record.occurred_at
            newer = _later(membership.status_at, at)
            if isinstance(record, NicknameChanged):
                if newer or membership.nickname is None:
                    membership.nickname = record.new[:200]
                continue
            touched.add(membership.group_id)
            if isinstance(record, MemberJoined):
                change, how = "joined", record.how.value
                if newer:
                    membership.status, membership.status_at = "active", at
                    membership.joined_at, membership.left_at = at, None
                    if record.nickname:
                        membership.nickname = record.nickname[:200]
                _note_first_join(people[membership.member_id], at, record.how, by, numbering)
            else:
                assert isinstance(record, MemberLeft)
                change = record.how.value
                how = "self" if record.how == LeaveHow.left else "unknown"
                if newer:
                    membership.status, membership.status_at = record.how.value, at
                    membership.left_at = at
            history.append(
                MembershipChange(
                    group_id=membership.group_id,
                    member_id=membership.member_id,
                    change=change,
                    how=how,
                    by_member_id=by,
                    occurred_at=at,
                    record_id=item.id,
                )
            )
        session.add_all(history)
        session.flush()
        if touched:
            _recount(session, touched)

    def _record_activity(
        self, session: Session, activity: dict[tuple[int, int], list[Any]]
    ) -> None:
        bulk = Bulk(session)
        bulk.execute_many(
            "UPDATE group_memberships SET message_count = message_count + ?, "
            "last_active_at = CASE WHEN last_active_at IS NULL OR last_active_at < ? "
            "THEN ? ELSE last_active_at END, nickname = COALESCE(?, nickname) WHERE id = ?",
            [
                (n, bulk.ts(at), bulk.ts(at), nick[:200] if nick else None, self._memberships[key])
                for key, (n, at, nick) in activity.items()
            ],
        )
        per_member: dict[int, list[Any]] = {}
        for (_, member_id), (n, at, _) in activity.items():
            slot = per_member.get(member_id)
            if slot is None:
                per_member[member_id] = [n, at]
            else:
                slot[0] += n
                slot[1] = max(slot[1], at)
        bulk.execute_many(
            "UPDATE members SET message_count = message_count + ?, "
            "last_active_at = CASE WHEN last_active_at IS NULL OR last_active_at < ? "
            "THEN ? ELSE last_active_at END WHERE id = ?",
            [(n, bulk.ts(at), bulk.ts(at), mid) for mid, (n, at) in per_member.items()],
        )

    def _load_memberships(self, session: Session, keys: list[tuple[int, int]]) -> None:
        by_group: dict[int, list[int]] = defaultdict(list)
        for g, m in keys:
            by_group[g].append(m)
        for group_id, member_ids in by_group.items():
            for start in range(0, len(member_ids), 500):
                rows = session.execute(
                    select(GroupMembership.id, GroupMembership.member_id).where(
                        GroupMembership.group_id == group_id,
                        GroupMembership.member_id.in_(member_ids[start : start + 500]),
                    )
                )
                for membership_id, member_id in rows:
                    self._memberships[(group_id, member_id)] = membership_id


_GROUP_COLUMNS = (
    "community_id",
    "platform",
    "platform_group_id",
    "name",
    "kind",
    "connection_id",
    "standing",
    "capacity",
    "status",
    "member_count",
    "created_at",
    "updated_at",
)

_RECORD_COLUMNS = (
    "community_id",
    "group_id",
    "member_id",
    "platform",
    "platform_record_id",
    "kind",
    "occurred_at",
    "received_at",
    "platform_user_id",
    "message_id",
    "message_kind",
    "text",
    "reply_to",
    "data",
    "raw",
    "source",
)


class _JoinNumbering:
    """Hands out join order numbers (1, 2, 3 ...) for one community, in one transaction."""

    def __init__(self, session: Session, community_id: int) -> None:
        self._session = session
        self._community_id = community_id
        self._next: int | None = None

    def take(self) -> int:
        if self._next is None:
            # Serialise numbering per community (SQLite is serialised already).
            self._session.execute(
                select(Community.id).where(Community.id == self._community_id).with_for_update()
            )
            top = self._session.scalar(
                select(func.max(Member.join_order)).where(Member.community_id == self._community_id)
            )
            self._next = (top or 0) + 1
        number, self._next = self._next, self._next + 1
        return number


def _note_first_join(
    member: Member, at: datetime, how: JoinHow, by: int | None, numbering: _JoinNumbering
) -> None:
    if member.first_joined_at is None or at < member.first_joined_at:
        member.first_joined_at = at
    if member.join_order is None:
        member.join_order = numbering.take()
    if member.source in ("unknown", "imported"):
        if how == JoinHow.invited and by is not None and by != member.id:
            member.source, member.inviter_id = "invite", by
        elif how == JoinHow.imported:
            member.source = "imported"


def _recount(session: Session, group_ids: set[int]) -> None:
    active = (
        select(func.count())
        .select_from(GroupMembership)
        .where(GroupMembership.group_id == Group.id, GroupMembership.status == "active")
        .scalar_subquery()
    )
    session.execute(
        update(Group)
        .where(Group.id.in_(group_ids))
        .values(member_count=active)
        .execution_options(synchronize_session=False)
    )
