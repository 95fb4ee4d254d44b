"""Fixtures for entry control: groups on connections, a rule book with entry rules,
records fed through the real ingest path, and the entry follower draining them."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Group
from qunyun.db.engine import Database
from qunyun.entry.env import EntryEnv
from qunyun.entry.runtime import KINDS, handler
from qunyun.moderation.books import save_community_book, starter_book
from qunyun.moderation.rulebook import RuleBook, merge_data
from qunyun.platforms import connections
from qunyun.platforms.models import PlatformAction
from qunyun.stream import follower as follower_module
from qunyun.stream.follower import StreamFollower
from qunyun.stream.ingest import Ingestor
from qunyun.stream.records import (
    JoinHow,
    JoinRequested,
    MemberJoined,
    MessagePosted,
    Record,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)
ENV = EntryEnv("http://testserver", "zh-CN", "entry-test-secret")


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL followers wait for records to settle; the tests' records are settled.
    monkeypatch.setattr(follower_module, "SETTLE_SECONDS", -60.0)


def operator(role: Role = Role.operator, user_id: int = 0) -> Principal:
    return Principal(user_id=user_id, name="op", roles={1: role}, via="cli")


def make_group(
    db: Database,
    key: str = "100",
    *,
    connection: str | None = "onebot",
    capacity: int = 500,
    member_count: int = 0,
    name: str | None = None,
) -> int:
    """A QQ group (records' platform "qq") on a new connection (None: no connection)."""
    with db.transaction() as session:
        connection_id = None
        if connection is not None:
            connection_id = connections.create_connection(session, 1, connection, f"{key} bot").id
        group = Group(
            community_id=1,
            platform="qq",
            platform_group_id=key,
            name=name or f"测试群{key}",
            connection_id=connection_id,
            capacity=capacity,
            member_count=member_count,
        )
        session.add(group)
        session.flush()
        return group.id


def set_entry(db: Database, **entry: Any) -> None:
    """Save a community book: the starter book with these entry rules."""
    book = RuleBook.model_validate(merge_data(starter_book().to_data(), {"entry": entry}))
    with db.transaction() as session:
        save_community_book(session, 1, book, author_id=None)


def ingest(db: Database, records: Sequence[Record]) -> None:
    with db.transaction() as session:
        Ingestor(1, source="live:1").ingest(session, records)


def drain(db: Database, env: EntryEnv = ENV) -> int:
    return StreamFollower(db, "entry", handler(env), kinds=KINDS).drain()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def request(
    user: str, answers: str = "", *, group: str = "100", minutes: float = 0, **kw: Any
) -> JoinRequested:
    flag = f"flag{next(_ids)}"
    return JoinRequested(
        platform="qq",
        platform_record_id=f"request:{group}:{flag}",
        platform_group_id=group,
        occurred_at=kw.pop("occurred_at", datetime.now(UTC) + timedelta(minutes=minutes)),
        platform_user_id=user,
        user_name=kw.pop("user_name", f"申请人{user}"),
        request_id=f"add:{flag}",
        answers=answers,
        **kw,
    )


def joined(user: str, *, group: str = "100", **kw: Any) -> MemberJoined:
    return MemberJoined(
        platform="qq",
        platform_record_id=f"join:{group}:{user}:{next(_ids)}",
        platform_group_id=group,
        occurred_at=kw.pop("occurred_at", datetime.now(UTC)),
        platform_user_id=user,
        user_name=kw.pop("user_name", f"新人{user}"),
        how=kw.pop("how", JoinHow.approved),
        **kw,
    )


def said(user: str, text: str, *, group: str = "100", **kw: Any) -> MessagePosted:
    n = next(_ids)
    return MessagePosted(
        platform="qq",
        platform_record_id=f"msg:{group}:{n}",
        platform_group_id=group,
        occurred_at=kw.pop("occurred_at", datetime.now(UTC) + timedelta(seconds=1)),
        platform_user_id=user,
        message_id=str(1000 + n),
        text=text,
        **kw,
    )


def actions(db: Database, kind: str | None = None) -> list[PlatformAction]:
    with db.session(write=False) as session:
        query = select(PlatformAction).order_by(PlatformAction.id)
        if kind is not None:
            query = query.where(PlatformAction.kind == kind)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows
