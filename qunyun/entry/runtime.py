"""How the entry wing follows the stream: join requests are judged and answered,
newcomers asked to accept the rules, and their messages read for the keyword."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from qunyun.entry import acceptance, requests
from qunyun.entry.env import EntryEnv
from qunyun.moderation.books import EffectiveBook, effective_book
from qunyun.moderation.rulebook import EntryRules
from qunyun.stream.follower import Handler, StreamFollower
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import RecordKind
from qunyun.web.context import AppContext

KINDS = (RecordKind.join_requested, RecordKind.member_joined, RecordKind.message_posted)


def handler(env: EntryEnv) -> Handler:
    def handle(session: Session, records: Sequence[StreamRecord]) -> None:
        books: dict[tuple[int, int], EffectiveBook] = {}

        def book(community_id: int, group_id: int) -> EffectiveBook:
            key = (community_id, group_id)
            if key not in books:
                books[key] = effective_book(session, community_id, group_id)
            return books[key]

        def rules_of(community_id: int, group_id: int) -> EntryRules:
            return book(community_id, group_id).book.entry

        # Messages are read in runs, so a join and the newcomer's "同意" in one batch
        # are handled in that order.
        run: list[StreamRecord] = []
        for record in records:
            if record.kind == RecordKind.message_posted:
                run.append(record)
                continue
            _flush(session, env, run, rules_of)
            if record.group_id is None:
                continue
            if record.kind == RecordKind.join_requested:
                requests.on_join_requested(
                    session, env, record, rules_of(record.community_id, record.group_id)
                )
            elif record.kind == RecordKind.member_joined:
                requests.on_member_joined(session, record)
                found = book(record.community_id, record.group_id)
                acceptance.on_member_joined(
                    session, env, record, found.book.entry, found.cited_version
                )
        _flush(session, env, run, rules_of)

    return handle


def _flush(
    session: Session,
    env: EntryEnv,
    run: list[StreamRecord],
    rules_of: Callable[[int, int], EntryRules],
) -> None:
    if run:
        acceptance.on_messages(session, env, run, rules_of)
        run.clear()


def follower(ctx: AppContext) -> StreamFollower:
    return StreamFollower(ctx.db, "entry", handler(EntryEnv.of(ctx)), kinds=KINDS)
