"""The community (the tenant), its groups, and its members with their identities on
each platform, their place in each group and the history of both."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from qunyun.db.base import Base, BigIntKey, utcnow

DEFAULT_COMMUNITY_SLUG = "default"


class Community(Base):
    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # Anti-block (防红) defaults for the community's links: the mode, and which apps'
    # in-app browsers get the "open in your browser" guide in guide mode.
    anti_block_mode: Mapped[str] = mapped_column(String(16), default="guide")
    guide_apps: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # The kinds a group may have; None means community.defaults.GROUP_KINDS.
    group_kinds: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # Tier bands by join order: [{"name": "founder", "upto": 10}, ...], ascending;
    # None means no tiers. tier_cap closes the last band (nobody after it gets a tier).
    tier_bands: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Group(Base):
    """A chat group on one platform (a QQ group, a Telegram supergroup, a WeChat group)."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("community_id", "platform", "platform_group_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    # "onebot", "telegram", "webhook" (any bridge), "wechat", "qq", "irc", "manual"...
    platform: Mapped[str] = mapped_column(String(32))
    platform_group_id: Mapped[str] = mapped_column(String(128))
    # The connection that hears this group and carries its actions; None: none yet.
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_connections.id", ondelete="SET NULL"), default=None, index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # One of the community's group kinds: main, branch, topic, lecturer, student, ...
    kind: Mapped[str] = mapped_column(String(32), default="main")
    # Standing groups last; temporary ones (a camp, a trial) end on ends_on.
    standing: Mapped[bool] = mapped_column(Boolean, default=True)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)
    capacity: Mapped[int] = mapped_column(Integer, default=500)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), default=None, index=True
    )
    introduction: Mapped[str | None] = mapped_column(Text, default=None)
    announcement: Mapped[str | None] = mapped_column(Text, default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    # Filled in by the moderation wing.
    rule_book_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # "active" or "archived".
    status: Mapped[str] = mapped_column(String(16), default="active")
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Member(Base):
    """One person in the community, across its groups and platforms."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("community_id", "join_order"),
        Index("ix_members_community_last_active", "community_id", "last_active_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    display_name: Mapped[str] = mapped_column(String(200))
    first_joined_at: Mapped[datetime | None] = mapped_column(default=None)
    # 1, 2, 3 ... in the order people first joined any of the community's groups.
    join_order: Mapped[int | None] = mapped_column(Integer, default=None)
    # "live_code", "invite", "imported" or "unknown".
    source: Mapped[str] = mapped_column(String(16), default="unknown")
    source_live_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("live_codes.id", ondelete="SET NULL"), default=None
    )
    source_channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("live_code_channels.id", ondelete="SET NULL"), default=None
    )
    inviter_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None, index=True
    )
    # Free-text honorary titles, e.g. 首席整理官.
    titles: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    # Set when an operator merged this member into another; the row stays for history.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    last_active_at: Mapped[datetime | None] = mapped_column(default=None)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberIdentity(Base):
    """Who a member is on one platform."""

    __tablename__ = "member_identities"
    __table_args__ = (UniqueConstraint("community_id", "platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    platform_user_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberTag(Base):
    __tablename__ = "member_tags"
    __table_args__ = (UniqueConstraint("member_id", "tag"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(64), index=True)


class GroupMembership(Base):
    """A member's current standing in one group."""

    __tablename__ = "group_memberships"
    __table_args__ = (UniqueConstraint("group_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    # The group nickname (群昵称 / group card).
    nickname: Mapped[str | None] = mapped_column(String(200), default=None)
    # "owner", "secretary", "steward", "key_member" or "member".
    role: Mapped[str] = mapped_column(String(16), default="member")
    # "active", "left", "removed" or "banned".
    status: Mapped[str] = mapped_column(String(16), default="active")
    joined_at: Mapped[datetime | None] = mapped_column(default=None)
    left_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the platform said the latest thing about this membership: a late delivery
    # of an older join or leave must not overturn a newer one.
    status_at: Mapped[datetime | None] = mapped_column(default=None)
    last_active_at: Mapped[datetime | None] = mapped_column(default=None)
    message_count: Mapped[int] = mapped_column(Integer, default=0)


class MembershipChange(Base):
    """History: joined, left, removed, banned; when, how and by whom."""

    __tablename__ = "membership_changes"
    __table_args__ = (Index("ix_membership_changes_member_at", "member_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # "joined", "left", "removed", "banned", "unbanned".
    change: Mapped[str] = mapped_column(String(16))
    # "approved", "invited", "scanned", "imported", "self", "unknown".
    how: Mapped[str] = mapped_column(String(16), default="unknown")
    by_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    occurred_at: Mapped[datetime] = mapped_column()
    # The stream record that said so, when one did (unique: a redelivery adds nothing).
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("stream_records.id", ondelete="SET NULL"), default=None, unique=True
    )


class IdentityChange(Base):
    """History of operators merging members and splitting identities off them."""

    __tablename__ = "identity_changes"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    # "merge" (other_member_id merged into member_id) or "split" (identities moved
    # from member_id to the new other_member_id).
    change: Mapped[str] = mapped_column(String(8))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    other_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    identity_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    note: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
