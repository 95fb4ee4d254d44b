"""The community: the tenant that owns links, groups, members and rule books."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
