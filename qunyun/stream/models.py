"""Where stream records are kept: one row each, never updated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qunyun.db.base import Base, BigIntKey, utcnow


class StreamRecord(Base):
    __tablename__ = "stream_records"
    __table_args__ = (
        # Idempotency: a platform's record is stored once per community.
        UniqueConstraint("community_id", "platform", "platform_record_id"),
        # Order within a group is the platform's time, whatever the arrival order.
        Index("ix_stream_records_group_occurred", "group_id", "occurred_at", "id"),
        Index("ix_stream_records_group_message", "group_id", "message_id"),
        Index("ix_stream_records_member_occurred", "member_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    platform: Mapped[str] = mapped_column(String(32))
    platform_record_id: Mapped[str] = mapped_column(String(191))
    kind: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    platform_user_id: Mapped[str | None] = mapped_column(String(128), default=None)
    # Messages, recalls and reactions: the platform's message id.
    message_id: Mapped[str | None] = mapped_column(String(128), default=None)
    message_kind: Mapped[str | None] = mapped_column(String(16), default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)
    reply_to: Mapped[str | None] = mapped_column(String(128), default=None)
    # The kind's own fields (mentions, how, answers, old and new nickname ...).
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The platform's payload as it came, for audits and for readers yet to be written.
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # "live:<connection id>", "import:<job id>" or "api".
    source: Mapped[str] = mapped_column(String(32), default="live")


class ConsumerCursor(Base):
    """How far a stream consumer has read (the last stream record id it handled), so it
    catches up after a restart instead of missing what arrived while it was down."""

    __tablename__ = "stream_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigIntKey, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
