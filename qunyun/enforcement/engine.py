"""The enforcement engine: judges every live message by its group's effective rule
book and carries the decisions out; keeps banned people out; checks nicknames; turns
report replies into review-queue entries.

One :class:`Enforcer` per process holds what outlives a batch: the effective books and
their compiled matchers (rebuilt when a version changes) and a flood tracker per group.
A batch is loaded in a handful of queries (:class:`~.loading.BatchView`); a member's
warnings given earlier in the batch count for their later messages.

Nobody is special: the member's role and whether the platform calls them an admin are
passed to evaluate and written in the audit log, and evaluate consults neither. Only
an exemption written in the rule book spares anyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qunyun.community.models import Group
from qunyun.db.base import utcnow
from qunyun.moderation import audit
from qunyun.moderation.bans import is_banned
from qunyun.moderation.evaluate import MemberContext, evaluate
from qunyun.moderation.flood import FloodTracker
from qunyun.moderation.images import checks_images, image_references, qr_matches
from qunyun.moderation.ladder import PastWarning
from qunyun.moderation.rulebook import GroupRole
from qunyun.moderation.text import Match
from qunyun.platforms.actions import ActionKind
from qunyun.platforms.models import PlatformConnection
from qunyun.platforms.outbox import enqueue
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import RecordKind

from . import nicknames, quiet, reports
from .carry import Citation, Subject, carry_out
from .env import EnforcementEnv
from .loading import BatchView, BookCache
from .notices import rule_notice
from .reading import is_edit, message_context, platform_admin, record_language

KINDS = (RecordKind.message_posted, RecordKind.member_joined, RecordKind.nickname_changed)
MAX_PREFETCHED = 1000
ADMIN_ROLES = frozenset({GroupRole.owner.value, GroupRole.secretary.value})


def _role(value: str | None) -> GroupRole:
    try:
        return GroupRole(value or "member")
    except ValueError:
        return GroupRole.member


def own_link_hosts(base_url: str) -> tuple[str, ...]:
    """The host short links are served on (always allowed unless links are "none")."""
    host = urlsplit(base_url).hostname
    return (host.lower(),) if host else ()


class Enforcer:
    def __init__(self, env: EnforcementEnv) -> None:
        self.env = env
        self.books = BookCache()
        self.own_hosts = own_link_hosts(env.base_url)
        self._flood: dict[int, FloodTracker] = {}
        # Messages a member sent before, per (group, member), counted once per batch.
        self._sent: dict[tuple[int, int], int] = {}
        # What the QR check found in a message's images, read ahead of the batch.
        self._qr: dict[int, tuple[Match, ...]] = {}

    def flood(self, group_id: int) -> FloodTracker:
        tracker = self._flood.get(group_id)
        if tracker is None:
            tracker = self._flood[group_id] = FloodTracker()
        return tracker

    def handle(self, session: Session, records: Sequence[StreamRecord]) -> None:
        """The follower's handler: everything in the caller's transaction."""
        wanted = {k.value for k in KINDS}
        batch = [
            r
            for r in records
            if r.kind in wanted and r.group_id is not None and r.member_id is not None
        ]
        if not batch:
            return
        now = utcnow()
        view = BatchView.load(session, batch, now, self.books)
        self._sent = {}
        for record in batch:
            group = view.groups.get(record.group_id or 0)
            if group is None or view.bot_ids.get(group.id) == record.platform_user_id:
                continue
            if record.kind == RecordKind.message_posted.value:
                self._message(session, view, record, now)
            elif record.kind == RecordKind.member_joined.value:
                self._joined(session, view, record, now)
            else:
                self._renamed(session, view, record)

    # --- messages -------------------------------------------------------------------

    def _messages_before(self, session: Session, record: StreamRecord, limit: int) -> int:
        """Messages the member sent in the group before this one, counted up to
        ``limit`` (all the newcomer rule needs, so a long history costs nothing)."""
        key = (int(record.group_id or 0), int(record.member_id or 0))
        if key in self._sent:
            self._sent[key] += 1
            return self._sent[key]
        earlier = (
            select(StreamRecord.id)
            .where(
                StreamRecord.group_id == record.group_id,
                StreamRecord.member_id == record.member_id,
                StreamRecord.kind == RecordKind.message_posted.value,
                StreamRecord.id < record.id,
            )
            .limit(limit)
            .subquery()
        )
        count = int(session.scalar(select(func.count()).select_from(earlier)) or 0)
        self._sent[key] = count
        return count

    def _message(
        self, session: Session, view: BatchView, record: StreamRecord, now: datetime
    ) -> None:
        group = view.groups[int(record.group_id or 0)]
        member_id = int(record.member_id or 0)
        effective = view.books[group.id]
        book = effective.book
        membership = view.memberships.get((group.id, member_id))
        role = membership.role if membership is not None else "member"
        language = record_language(record, self.env.language)
        member = MemberContext(
            member_id=member_id,
            role=_role(role),
            joined_at=membership.joined_at if membership is not None else None,
            messages_before=(
                self._messages_before(session, record, book.newcomer.messages)
                if book.newcomer.messages
                else 0
            ),
            warnings=tuple(view.warnings[member_id]),
            is_admin=platform_admin(record) or role in ADMIN_ROLES,
        )
        message = message_context(
            record, timezone=view.timezone_of(group), own_link_hosts=self.own_hosts
        )
        matcher = self.books.matchers.matcher(group.community_id, group.id, effective)
        found_in_images = self._image_matches(session, group, record)
        if found_in_images:
            message = replace(message, image_matches=found_in_images)
        decisions = evaluate(
            book,
            message,
            member,
            matcher,
            None if is_edit(record) else self.flood(group.id),
            now,
        )
        if record.reply_to:
            reason = reports.parse_report(book.reports, record.text or "")
            if reason is not None:
                reports.file_report(session, record, reason, now)
        if not decisions:
            return
        known = view.known[(group.id, record.message_id or "")]
        person = view.members.get(member_id)
        subject = Subject(
            community_id=group.community_id,
            group=group,
            member_id=member_id,
            platform_user_id=record.platform_user_id,
            display_name=person.display_name if person is not None else "",
            language=language,
            occurred_at=record.occurred_at,
            record_id=record.id,
            message_id=record.message_id,
            message_text=record.text,
            role=role,
            is_admin=member.is_admin,
        )
        outcome = carry_out(
            session,
            self.env,
            subject,
            decisions,
            book,
            Citation(effective.cited_book_id, effective.cited_version),
            rule_notice(book, self.env),
            now=now,
            known_rules=known,
        )
        known.update(c.rule_id for c in outcome.cases)
        if outcome.warning is not None:
            view.warnings[member_id].append(PastWarning(now, outcome.warning.weight))

    # --- images ---------------------------------------------------------------------

    def prefetch_images(self, session: Session, records: Sequence[StreamRecord]) -> int:
        """Fetch and read the QR codes in these messages' images ahead of judging them.

        Called outside the follower's transaction: on SQLite that transaction holds the
        write lock, and a slow image host must not stall every other writer. Returns how
        many messages had their images read."""
        done = 0
        for record in records:
            if record.kind != RecordKind.message_posted.value or record.id in self._qr:
                continue
            if not image_references(record.data) or record.group_id is None:
                continue
            group = session.get(Group, record.group_id)
            if group is None:
                continue
            self._qr[record.id] = self._read_images(session, group, record)
            done += 1
        while len(self._qr) > MAX_PREFETCHED:
            self._qr.pop(next(iter(self._qr)))
        return done

    def _image_matches(
        self, session: Session, group: Group, record: StreamRecord
    ) -> tuple[Match, ...]:
        prefetched = self._qr.pop(record.id, None)
        if prefetched is not None:
            return prefetched
        # Arrived after the prefetch looked: read now (rare; the follower's next look
        # would have taken it ahead of the lock).
        return self._read_images(session, group, record) if record.data else ()

    def _read_images(
        self, session: Session, group: Group, record: StreamRecord
    ) -> tuple[Match, ...]:
        references = image_references(record.data)
        if not references:
            return ()
        effective = self.books.books(session, [group])[group.id]
        if not checks_images(effective.book):
            return ()
        connection = (
            session.get(PlatformConnection, group.connection_id)
            if group.connection_id is not None
            else None
        )
        return tuple(
            qr_matches(
                effective.book,
                self.books.matchers.matcher(group.community_id, group.id, effective),
                references,
                connection=connection,
                max_bytes=self.env.media_max_bytes,
                allow_private=self.env.media_allow_private,
            )
        )

    # --- joins and nicknames ------------------------------------------------------------

    def _joined(
        self, session: Session, view: BatchView, record: StreamRecord, now: datetime
    ) -> None:
        group = view.groups[int(record.group_id or 0)]
        user = record.platform_user_id
        if user and is_banned(session, group.community_id, group.platform, user, now=now):
            self._keep_out(session, group_id=group.id, view=view, record=record)
            return
        membership = view.memberships.get((group.id, int(record.member_id or 0)))
        nickname = (record.data or {}).get("nickname")
        if membership is not None and membership.nickname:
            nickname = membership.nickname
        self._check_nickname(session, view, record, nickname)

    def _keep_out(
        self, session: Session, *, group_id: int, view: BatchView, record: StreamRecord
    ) -> None:
        """A person on the community's ban list joined: remove them again."""
        group = view.groups[group_id]
        user = str(record.platform_user_id)
        action = enqueue(
            session,
            community_id=group.community_id,
            group=group,
            kind=ActionKind.kick,
            params={"user": user, "reject_rejoin": True},
            reason=f"ban:{group.platform}:{user}"[:200],
            wake=self.env.wake,
        )
        audit.record(
            session,
            group.community_id,
            "ban.enforced",
            summary=f"{group.platform}:{user}",
            group_id=group.id,
            member_id=record.member_id,
            detail={"action": action.id, "record_id": record.id},
        )

    def _renamed(self, session: Session, view: BatchView, record: StreamRecord) -> None:
        self._check_nickname(session, view, record, (record.data or {}).get("new"))

    def _check_nickname(
        self, session: Session, view: BatchView, record: StreamRecord, nickname: object
    ) -> None:
        group = view.groups[int(record.group_id or 0)]
        member_id = int(record.member_id or 0)
        person = view.members.get(member_id)
        nicknames.check(
            session,
            self.env,
            group=group,
            member_id=member_id,
            user=record.platform_user_id,
            name=person.display_name if person is not None else "",
            nickname=str(nickname) if nickname else None,
            since=record.occurred_at,
            language=record_language(record, self.env.language),
            book=view.books[group.id].book,
        )

    def sweep(self, session: Session, now: datetime | None = None) -> int:
        """The periodic work: nickname reminders and actions that came due, and quiet
        hours' whole-group mutes switched on and off. Returns how much it did."""
        moment = now or utcnow()
        groups = {g.id: g for g in session.scalars(select(Group).where(Group.status == "active"))}
        if not groups:
            return 0
        books = self.books.books(session, groups.values())
        opened = nicknames.sweep(session, self.env, groups, books, moment)
        return opened + quiet.sweep(session, self.env, groups, books, moment)
