"""Short links, their tags, and the operator-editable host block list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qunyun.db.base import Base, BigIntKey, utcnow

link_tags = Table(
    "link_tags",
    Base.metadata,
    Column("link_id", ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))


class Link(Base):
    __tablename__ = "links"
    __table_args__ = (Index("ix_links_community_created", "community_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(64))
    # Slugs are case-insensitive: the key is the lower-cased slug and is what is unique.
    slug_key: Mapped[str] = mapped_column(String(64), unique=True)
    # "url": redirects to target_url; "live_code": serves a live code's landing page
    # (the code's own link, or one of its channels' links).
    kind: Mapped[str] = mapped_column(String(16), default="url")
    target_url: Mapped[str] = mapped_column(Text)
    live_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("live_codes.id", ondelete="CASCADE"), default=None, index=True
    )
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("live_code_channels.id", ondelete="CASCADE"), default=None
    )
    title: Mapped[str | None] = mapped_column(String(200), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    max_visits: Mapped[int | None] = mapped_column(Integer, default=None)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    redirect_status: Mapped[int] = mapped_column(SmallInteger, default=302)
    utm_source: Mapped[str | None] = mapped_column(String(100), default=None)
    utm_medium: Mapped[str | None] = mapped_column(String(100), default=None)
    utm_campaign: Mapped[str | None] = mapped_column(String(100), default=None)
    utm_term: Mapped[str | None] = mapped_column(String(100), default=None)
    utm_content: Mapped[str | None] = mapped_column(String(100), default=None)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Who may open the link: each list empty or None means "any"; the visitor must
    # match every list that is set (an app list may include "browser", meaning a
    # standalone browser rather than an app's in-app browser).
    allowed_apps: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    allowed_devices: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    allowed_os: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # direct | guide | landing; None follows the community's default.
    anti_block_mode: Mapped[str | None] = mapped_column(String(16), default=None)
    preview_title: Mapped[str | None] = mapped_column(String(200), default=None)
    preview_description: Mapped[str | None] = mapped_column(String(500), default=None)
    preview_image_url: Mapped[str | None] = mapped_column(Text, default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Counters kept by the visit writer (and, for links with a visit cap, by the
    # redirect itself so the cap is exact). People and bots apart.
    human_visits: Mapped[int] = mapped_column(BigInteger, default=0)
    bot_visits: Mapped[int] = mapped_column(BigInteger, default=0)
    last_visit_at: Mapped[datetime | None] = mapped_column(default=None)

    tags: Mapped[list[Tag]] = relationship(secondary=link_tags, lazy="selectin", order_by=Tag.name)


class BlockedHost(Base):
    """A domain pattern the community's links may not point to (``example.com``,
    ``*.example.com``)."""

    __tablename__ = "blocked_hosts"
    __table_args__ = (UniqueConstraint("community_id", "pattern"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    pattern: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
