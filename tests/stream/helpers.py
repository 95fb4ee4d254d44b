"""Small builders of records for the stream's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from qunyun.stream.records import (
    JoinHow,
    LeaveHow,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    NicknameChanged,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def message(n: int, user: str = "u1", group: str = "g1", **kw: Any) -> MessagePosted:
    return MessagePosted(
        platform="qq",
        platform_record_id=f"msg:{group}:{n}",
        platform_group_id=group,
        occurred_at=at(n),
        platform_user_id=user,
        user_name=kw.pop("user_name", f"name-{user}"),
        message_id=str(n),
        text=kw.pop("text", f"hello {n}"),
        **kw,
    )


def joined(n: int, user: str, group: str = "g1", **kw: Any) -> MemberJoined:
    return MemberJoined(
        platform="qq",
        platform_record_id=f"join:{group}:{user}:{n}",
        platform_group_id=group,
        occurred_at=at(n),
        platform_user_id=user,
        how=kw.pop("how", JoinHow.approved),
        **kw,
    )


def left(n: int, user: str, group: str = "g1", how: LeaveHow = LeaveHow.left) -> MemberLeft:
    return MemberLeft(
        platform="qq",
        platform_record_id=f"leave:{group}:{user}:{n}",
        platform_group_id=group,
        occurred_at=at(n),
        platform_user_id=user,
        how=how,
    )


def renamed(n: int, user: str, new: str, group: str = "g1") -> NicknameChanged:
    return NicknameChanged(
        platform="qq",
        platform_record_id=f"card:{group}:{user}:{n}",
        platform_group_id=group,
        occurred_at=at(n),
        platform_user_id=user,
        new=new,
    )
