"""What judging a batch of stream records needs, loaded in a handful of queries: the
groups and their communities, the memberships, the members' unexpired warnings, the
cases already recorded for these messages, and each group's effective rule book
(rebuilt only when a stored version changed)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from qunyun.community.models import Community, Group, GroupMembership, Member
from qunyun.moderation.books import EffectiveBook, MatcherCache, effective_book
from qunyun.moderation.ladder import PastWarning
from qunyun.moderation.models import MemberWarning, ModerationCase, StoredRuleBook
from qunyun.platforms.models import PlatformConnection
from qunyun.stream.models import StreamRecord

CHUNK = 500


class BookCache:
    """Each group's effective book, kept while the stored versions stay the same."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._books: dict[int, tuple[tuple[int, int], EffectiveBook]] = {}
        self.matchers = MatcherCache()

    def books(self, session: Session, groups: Iterable[Group]) -> dict[int, EffectiveBook]:
        """The effective book of each group: one query for the versions in force, and
        the documents only for groups whose versions changed."""
        wanted = list(groups)
        communities = {g.community_id for g in wanted}
        versions: dict[tuple[int, int | None], int] = {
            (cid, gid): version
            for cid, gid, version in session.execute(
                select(
                    StoredRuleBook.community_id, StoredRuleBook.group_id, StoredRuleBook.version
                ).where(StoredRuleBook.community_id.in_(communities))
            )
        }
        out: dict[int, EffectiveBook] = {}
        for group in wanted:
            key = (
                versions.get((group.community_id, None), 0),
                versions.get((group.community_id, group.id), 0),
            )
            with self._lock:
                cached = self._books.get(group.id)
            if cached is not None and cached[0] == key:
                out[group.id] = cached[1]
                continue
            found = effective_book(session, group.community_id, group.id)
            with self._lock:
                self._books[group.id] = (key, found)
            out[group.id] = found
        return out


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


@dataclass
class BatchView:
    groups: dict[int, Group] = field(default_factory=dict)
    communities: dict[int, Community] = field(default_factory=dict)
    # The platform user id of each group's bot (its own messages are never judged).
    bot_ids: dict[int, str] = field(default_factory=dict)
    memberships: dict[tuple[int, int], GroupMembership] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    warnings: dict[int, list[PastWarning]] = field(default_factory=lambda: defaultdict(list))
    # Rules already recorded per (group, message id).
    known: dict[tuple[int, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    books: dict[int, EffectiveBook] = field(default_factory=dict)

    @classmethod
    def load(
        cls, session: Session, records: Sequence[StreamRecord], now: datetime, cache: BookCache
    ) -> BatchView:
        view = cls()
        group_ids = sorted({r.group_id for r in records if r.group_id is not None})
        member_ids = sorted({r.member_id for r in records if r.member_id is not None})
        view.groups = {
            g.id: g for g in session.scalars(select(Group).where(Group.id.in_(group_ids)))
        }
        community_ids = {g.community_id for g in view.groups.values()}
        view.communities = {
            c.id: c
            for c in session.scalars(select(Community).where(Community.id.in_(community_ids)))
        }
        connection_ids = {g.connection_id for g in view.groups.values() if g.connection_id}
        if connection_ids:
            bots = dict(
                session.execute(
                    select(PlatformConnection.id, PlatformConnection.self_id).where(
                        PlatformConnection.id.in_(connection_ids)
                    )
                ).all()
            )
            view.bot_ids = {
                g.id: str(bots[g.connection_id])
                for g in view.groups.values()
                if g.connection_id and bots.get(g.connection_id)
            }
        for chunk in _chunks(member_ids):
            view.members.update(
                (m.id, m) for m in session.scalars(select(Member).where(Member.id.in_(chunk)))
            )
            for membership in session.scalars(
                select(GroupMembership).where(
                    GroupMembership.member_id.in_(chunk), GroupMembership.group_id.in_(group_ids)
                )
            ):
                view.memberships[(membership.group_id, membership.member_id)] = membership
            for member_id, given_at, weight in session.execute(
                select(MemberWarning.member_id, MemberWarning.given_at, MemberWarning.weight)
                .where(
                    MemberWarning.member_id.in_(chunk),
                    MemberWarning.revoked_at.is_(None),
                    MemberWarning.expires_at > now,
                )
                .order_by(MemberWarning.given_at)
            ):
                view.warnings[member_id].append(PastWarning(given_at, weight))
        pairs = sorted({(r.group_id, r.message_id) for r in records if r.group_id and r.message_id})
        for start in range(0, len(pairs), CHUNK):
            for group_id, message_id, rule_id in session.execute(
                select(
                    ModerationCase.group_id, ModerationCase.message_id, ModerationCase.rule_id
                ).where(
                    tuple_(ModerationCase.group_id, ModerationCase.message_id).in_(
                        pairs[start : start + CHUNK]
                    )
                )
            ):
                if group_id is not None and message_id is not None:
                    view.known[(group_id, message_id)].add(rule_id)
        view.books = cache.books(session, view.groups.values())
        return view

    def timezone_of(self, group: Group) -> str | None:
        community = self.communities.get(group.community_id)
        return group.timezone or (community.timezone if community is not None else None)
