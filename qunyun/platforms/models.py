"""Connections to chat platforms, and the actions queued for them (the outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from qunyun.db.base import Base, BigIntKey, utcnow


class PlatformConnection(Base):
    """One bot or bridge feeding a community: where it posts to us, how we answer it."""

    __tablename__ = "platform_connections"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    # "onebot", "telegram", "webhook" or "manual".
    platform: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    # Part of the inbound URL (/hooks/<platform>/<key>): unguessable, not a secret.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    # Verifies what the platform sends us: OneBot's HMAC secret, Telegram's
    # secret_token, the generic webhook's HMAC key.
    inbound_secret: Mapped[str | None] = mapped_column(String(256), default=None)
    # OneBot's access token (both directions), Telegram's bot token.
    access_token: Mapped[str | None] = mapped_column(String(256), default=None)
    # OneBot's HTTP API, the Telegram Bot API server, the generic webhook's action URL.
    api_url: Mapped[str | None] = mapped_column(Text, default=None)
    # The bot's own user id on the platform, once known.
    self_id: Mapped[str | None] = mapped_column(String(64), default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    received_count: Mapped[int] = mapped_column(Integer, default=0)
    unknown_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlatformAction(Base):
    """Something Qunyun asked a platform to do, kept until it is done.

    Delivered by a background worker with retries; in manual mode (or for a group with
    no connection) it is a to-do for a human steward instead.
    """

    __tablename__ = "platform_actions"
    __table_args__ = (Index("ix_platform_actions_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_connections.id", ondelete="SET NULL"), default=None
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None, index=True
    )
    # platforms.actions.ActionKind: send_message, delete_message, mute, kick, ...
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # "pending", "sending", "sent", "failed" (gave up), "todo", "done", "cancelled".
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Why it was asked for, e.g. "moderation:42" or "user:3"; shown in the UI.
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    done_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
