"""Import jobs: one uploaded export file, streamed into the stream in committed chunks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from qunyun.db.base import Base, BigIntKey, utcnow


class ImportJob(Base):
    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    # "telegram_json", "qq_text", "wechat_csv" or "irc".
    format: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    # Where the uploaded file is kept (under the data directory) until the job is done.
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # Formats holding one chat with no id of its own are imported into this group.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), default=None
    )
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # "queued", "running", "done", "failed" or "cancelled".
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # Resume point: the reader's position after the last committed chunk.
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    records_seen: Mapped[int] = mapped_column(Integer, default=0)
    records_added: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    # The first skipped lines with their reasons: [{"line": 12, "reason": "...", "text": ...}].
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # Heartbeat of the worker running it: a stale one means the job can be resumed.
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
