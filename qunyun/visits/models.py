"""One row per visit of a short link (people and bots alike, flagged)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from qunyun.db.base import Base, BigIntKey


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_link_day", "link_id", "day"),
        Index("ix_visits_ts", "ts"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"))
    ts: Mapped[datetime]
    # Local calendar day (community time zone) and UTC epoch hour, set when recorded,
    # so charts group the same way on every database.
    day: Mapped[date] = mapped_column(Date)
    hour: Mapped[int] = mapped_column(Integer)
    referrer: Mapped[str | None] = mapped_column(String(1024), default=None)
    referrer_host: Mapped[str | None] = mapped_column(String(255), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(1024), default=None)
    # Erased after the configured retention; the visitor key is what counts uniques.
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    visitor_key: Mapped[str] = mapped_column(String(32))
    browser: Mapped[str] = mapped_column(String(64), default="Other")
    os: Mapped[str] = mapped_column(String(64), default="Other")
    device: Mapped[str] = mapped_column(String(16), default="other")
    app: Mapped[str | None] = mapped_column(String(32), default=None)
    # For live codes: which pool member's QR the visitor was shown.
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("live_code_members.id", ondelete="SET NULL"), default=None
    )
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    bot_name: Mapped[str | None] = mapped_column(String(64), default=None)
