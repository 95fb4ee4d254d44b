"""Entry control: join requests and their answers, invite codes, and newcomers who
have yet to accept the group's rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qunyun.db.base import Base, BigIntKey, utcnow


class InviteCode(Base):
    __tablename__ = "invite_codes"
    __table_args__ = (UniqueConstraint("community_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    # None: good for any of the community's groups.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    # The member who hands it out (their newcomers count as their invitees).
    inviter_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    label: Mapped[str | None] = mapped_column(String(200), default=None)
    # None: no limit.
    quota: Mapped[int | None] = mapped_column(Integer, default=None)
    used: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JoinRequest(Base):
    """A request to join a group, as the platform delivered it, and what became of it."""

    __tablename__ = "join_requests"
    __table_args__ = (
        UniqueConstraint("record_id"),
        Index("ix_join_requests_community_status", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("stream_records.id", ondelete="SET NULL"), default=None
    )
    platform_user_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(200), default=None)
    # What the platform needs to answer it (OneBot flag, Telegram user id).
    request_ref: Mapped[str] = mapped_column(String(200))
    answers: Mapped[str] = mapped_column(Text, default="")
    invite_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("invite_codes.id", ondelete="SET NULL"), default=None
    )
    # "pending" (waiting for a person), "approved", "rejected".
    status: Mapped[str] = mapped_column(String(12), default="pending")
    # Why: {"code": "answer_missing", ...} for the page and the audit log.
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_actions.id", ondelete="SET NULL"), default=None
    )
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)


class RuleAcceptance(Base):
    """A newcomer who must accept the group's rules before speaking, and whether they did."""

    __tablename__ = "rule_acceptances"
    __table_args__ = (UniqueConstraint("group_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # "pending" or "accepted".
    status: Mapped[str] = mapped_column(String(12), default="pending")
    # "mute" (muted until they accept) or "watch" (where muting is impossible).
    mode: Mapped[str] = mapped_column(String(8), default="mute")
    rule_book_version: Mapped[int | None] = mapped_column(Integer, default=None)
    # "keyword", "button", "operator".
    accepted_via: Mapped[str | None] = mapped_column(String(12), default=None)
    required_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
