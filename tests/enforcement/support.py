"""Builders for the enforcement tests: records as the platforms deliver them, rule books,
a follower running the engine, and what it left behind."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from qunyun.community.models import Group, GroupMembership, Member
from qunyun.db.engine import Database
from qunyun.enforcement.engine import KINDS, Enforcer
from qunyun.enforcement.env import EnforcementEnv
from qunyun.moderation.books import save_community_book, starter_book
from qunyun.moderation.models import (
    AuditEntry,
    MemberReport,
    MemberWarning,
    ModerationCase,
)
from qunyun.moderation.rulebook import RuleBook, merge_data
from qunyun.platforms.models import PlatformAction
from qunyun.stream.follower import StreamFollower
from qunyun.stream.ingest import Ingestor
from qunyun.stream.records import (
    JoinHow,
    MemberJoined,
    MessagePosted,
    NicknameChanged,
    Record,
)

BASE_URL = "https://qy.example.org"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
# An advertisement with its contact word spelt to dodge filters (薇❤信 for 微信).
AD = "想要资料的加我薇❤信 qunyun2024，私聊领取"
AD_AGAIN = "加微.信 qunyun2024 免费领取"


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def message(
    n: int, text: str, user: str = "10001", group: str = "736584321", **kw: Any
) -> MessagePosted:
    return MessagePosted(
        platform="onebot",
        platform_record_id=kw.pop("record_id", f"msg:{group}:{n}"),
        platform_group_id=group,
        occurred_at=kw.pop("occurred_at", at(n)),
        platform_user_id=user,
        user_name=kw.pop("user_name", f"成员{user}"),
        message_id=str(n),
        text=text,
        **kw,
    )


def joined(n: int, user: str, group: str = "736584321", **kw: Any) -> MemberJoined:
    return MemberJoined(
        platform="onebot",
        platform_record_id=f"join:{group}:{user}:{n}",
        platform_group_id=group,
        occurred_at=kw.pop("occurred_at", at(n)),
        platform_user_id=user,
        user_name=f"成员{user}",
        how=JoinHow.approved,
        **kw,
    )


def renamed(n: int, user: str, new: str, group: str = "736584321") -> NicknameChanged:
    return NicknameChanged(
        platform="onebot",
        platform_record_id=f"card:{group}:{user}:{n}",
        platform_group_id=group,
        occurred_at=at(n),
        platform_user_id=user,
        new=new,
    )


def ingest(db: Database, records: Sequence[Record]) -> None:
    with db.transaction() as session:
        Ingestor(1, source="live:test").ingest(session, records)


def env() -> EnforcementEnv:
    return EnforcementEnv(base_url=BASE_URL, language="zh-CN")


def follower(db: Database, enforcer: Enforcer | None = None) -> StreamFollower:
    return StreamFollower(db, "moderation", (enforcer or Enforcer(env())).handle, kinds=KINDS)


def book_with(changes: dict[str, Any]) -> RuleBook:
    return RuleBook.model_validate(merge_data(starter_book().to_data(), changes))


def save_book(db: Database, changes: dict[str, Any]) -> RuleBook:
    book = book_with(changes)
    with db.transaction() as session:
        save_community_book(session, 1, book, author_id=None)
    return book


def set_role(db: Database, user: str, role: str, group: str = "736584321") -> None:
    with db.transaction() as session:
        from qunyun.community.models import MemberIdentity

        member_id = session.scalar(
            select(MemberIdentity.member_id).where(MemberIdentity.platform_user_id == user)
        )
        group_id = session.scalar(select(Group.id).where(Group.platform_group_id == group))
        membership = session.scalar(
            select(GroupMembership).where(
                GroupMembership.member_id == member_id, GroupMembership.group_id == group_id
            )
        )
        assert membership is not None
        membership.role = role


def cases(db: Database) -> list[ModerationCase]:
    with db.session(write=False) as session:
        rows = list(session.scalars(select(ModerationCase).order_by(ModerationCase.id)))
        session.expunge_all()
        return rows


def actions(db: Database) -> list[PlatformAction]:
    with db.session(write=False) as session:
        rows = list(session.scalars(select(PlatformAction).order_by(PlatformAction.id)))
        session.expunge_all()
        return rows


def warnings(db: Database) -> list[MemberWarning]:
    with db.session(write=False) as session:
        rows = list(session.scalars(select(MemberWarning).order_by(MemberWarning.id)))
        session.expunge_all()
        return rows


def stored_reports(db: Database) -> list[MemberReport]:
    with db.session(write=False) as session:
        rows = list(session.scalars(select(MemberReport).order_by(MemberReport.id)))
        session.expunge_all()
        return rows


def audit_actions(db: Database) -> list[str]:
    with db.session(write=False) as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def member_of(db: Database, user: str) -> Member:
    from qunyun.community.models import MemberIdentity

    with db.session(write=False) as session:
        member = session.scalar(
            select(Member)
            .join(MemberIdentity, MemberIdentity.member_id == Member.id)
            .where(MemberIdentity.platform_user_id == user)
        )
        assert member is not None
        session.expunge(member)
        return member


def group_of(db: Database, group: str = "736584321") -> Group:
    with db.session(write=False) as session:
        found = session.scalar(select(Group).where(Group.platform_group_id == group))
        assert found is not None
        session.expunge(found)
        return found
