"""Building a community the way the platforms will: through the Ingestor, from records."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.stream.ingest import Ingestor
from qunyun.stream.records import JoinHow, LeaveHow, MemberJoined, MemberLeft, MessagePosted, Record

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def owner(community_id: int = 1, role: Role = Role.owner, user_id: int = 0) -> Principal:
    return Principal(user_id=user_id, name="t", roles={community_id: role}, via="cli")


def joined(
    gid: str,
    uid: str,
    name: str,
    minutes: int,
    *,
    how: JoinHow = JoinHow.scanned,
    by: str | None = None,
    nickname: str | None = None,
    platform: str = "onebot",
) -> MemberJoined:
    return MemberJoined(
        platform=platform,
        platform_record_id=f"j{next(_ids)}",
        platform_group_id=gid,
        group_name=f"群{gid}",
        occurred_at=T0 + timedelta(minutes=minutes),
        platform_user_id=uid,
        user_name=name,
        how=how,
        operator_user_id=by,
        nickname=nickname,
    )


def left(gid: str, uid: str, minutes: int, how: LeaveHow = LeaveHow.left) -> MemberLeft:
    return MemberLeft(
        platform="onebot",
        platform_record_id=f"l{next(_ids)}",
        platform_group_id=gid,
        occurred_at=T0 + timedelta(minutes=minutes),
        platform_user_id=uid,
        how=how,
    )


def said(
    gid: str, uid: str, text: str, minutes: int, *, platform: str = "onebot", name: str = ""
) -> MessagePosted:
    n = next(_ids)
    return MessagePosted(
        platform=platform,
        platform_record_id=f"m{n}",
        platform_group_id=gid,
        occurred_at=T0 + timedelta(minutes=minutes),
        platform_user_id=uid,
        user_name=name or None,
        message_id=f"msg{n}",
        text=text,
    )


def ingest(db: Database, records: list[Record], community_id: int = 1) -> None:
    with db.transaction() as session:
        Ingestor(community_id, source="live:1").ingest(session, records)


def seed(db: Database, community_id: int = 1) -> None:
    """Two groups (100, 200); 张三 invites 李四; 王五 leaves; some messages."""
    ingest(
        db,
        [
            joined("100", "u1", "张三", 0, nickname="三哥"),
            joined("100", "u2", "李四", 5, how=JoinHow.invited, by="u1"),
            joined("100", "u3", "王五", 10),
            joined("200", "u1", "张三", 20),
            left("100", "u3", 30),
            said("100", "u1", "大家好", 40),
            said("100", "u2", "你好", 41),
            said("200", "u1", "第二个群", 42),
        ],
        community_id,
    )
