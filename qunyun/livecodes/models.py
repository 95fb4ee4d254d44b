"""Live codes (活码): one permanent link whose page shows the QR of whichever pool
member is current; channels; long presses; alerts."""

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
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from qunyun.db.base import Base, BigIntKey, utcnow


class LiveCode(Base):
    __tablename__ = "live_codes"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # "group" (group invitation QRs) or "staff" (客服码: staff contact QRs).
    kind: Mapped[str] = mapped_column(String(16), default="group")
    # "in_order", "round_robin" or "weighted".
    strategy: Mapped[str] = mapped_column(String(16), default="in_order")
    title: Mapped[str | None] = mapped_column(String(200), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    sticky_days: Mapped[int] = mapped_column(Integer, default=7)
    default_threshold: Mapped[int] = mapped_column(Integer, default=200)
    default_expiry_days: Mapped[int] = mapped_column(Integer, default=7)
    # {"days": [1..7 ISO weekdays], "start": "HH:MM", "end": "HH:MM"}; None = always.
    active_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    fallback_message: Mapped[str | None] = mapped_column(Text, default=None)
    fallback_contact: Mapped[str | None] = mapped_column(String(500), default=None)
    fallback_image: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    fallback_image_type: Mapped[str | None] = mapped_column(String(32), default=None)
    alert_webhook_url: Mapped[str | None] = mapped_column(Text, default=None)
    # "active", "paused" or "retired" (merged into another code).
    status: Mapped[str] = mapped_column(String(16), default="active")
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("live_codes.id", ondelete="SET NULL"), default=None
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LiveCodeMember(Base):
    """One QR image in a live code's pool: a group's invitation or a staff member's card."""

    __tablename__ = "live_code_members"
    __table_args__ = (Index("ix_live_code_members_code_position", "live_code_id", "position"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    live_code_id: Mapped[int] = mapped_column(ForeignKey("live_codes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    image: Mapped[bytes] = mapped_column(LargeBinary)
    image_type: Mapped[str] = mapped_column(String(32))
    qr_text: Mapped[str] = mapped_column(Text)
    payload_kind: Mapped[str] = mapped_column(String(32), default="text")
    scan_threshold: Mapped[int] = mapped_column(Integer, default=200)
    scans: Mapped[int] = mapped_column(Integer, default=0)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # Staff codes: {"days": [...], "start": "HH:MM", "end": "HH:MM"}; None = always.
    working_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The group this member's QR code joins, when Qunyun hears it: once the group is at
    # its capacity the rotation moves on to the next member.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveCodeChannel(Base):
    """A channel (poster, article, event, partner…) with its own link, counted apart."""

    __tablename__ = "live_code_channels"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    live_code_id: Mapped[int] = mapped_column(
        ForeignKey("live_codes.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveCodePress(Base):
    """A long press on the landing page's QR: the gesture that opens it in WeChat."""

    __tablename__ = "live_code_presses"
    __table_args__ = (Index("ix_live_code_presses_code_day", "live_code_id", "day"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    live_code_id: Mapped[int] = mapped_column(ForeignKey("live_codes.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("live_code_members.id", ondelete="SET NULL"), default=None
    )
    link_id: Mapped[int | None] = mapped_column(
        ForeignKey("links.id", ondelete="SET NULL"), default=None
    )
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    day: Mapped[date] = mapped_column(Date)
    visitor_key: Mapped[str] = mapped_column(String(32))


class LiveCodeAlert(Base):
    """Something the operator should know: a member about to expire, a pool down to
    its last member, the fallback served."""

    __tablename__ = "live_code_alerts"
    __table_args__ = (Index("ix_live_code_alerts_code_kind", "live_code_id", "kind"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    live_code_id: Mapped[int] = mapped_column(ForeignKey("live_codes.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("live_code_members.id", ondelete="CASCADE"), default=None
    )
    # "member_expiring", "last_member", "fallback_served"
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    # "<code>:<member or 0>:<kind>:<local day>": one alert of a kind per member per day,
    # however many workers check at once.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True, default=None)
    # When the webhook is next tried; also the lease that keeps two workers from
    # sending the same alert at once.
    next_delivery_at: Mapped[datetime | None] = mapped_column(default=None)
