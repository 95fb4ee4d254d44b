"""Short links, their tags, and the operator-editable host block list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
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
    target_url: Mapped[str] = mapped_column(Text)
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
    """A domain pattern no link of the community may point to (``example.com``, ``*.example.com``)."""

    __tablename__ = "blocked_hosts"
    __table_args__ = (UniqueConstraint("community_id", "pattern"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    pattern: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
