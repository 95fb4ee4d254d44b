"""Visits are queued in memory by the redirect and written in batches.

The redirect only appends to a list. A background task swaps the list out every
``visit_flush_seconds`` (or sooner when ``visit_batch_size`` are waiting) and writes it
in one transaction from a worker thread, classifying user agents there, off the
request. A graceful shutdown flushes everything. On ``kill -9`` the visits of at most
the last flush interval are lost; nothing already written is harmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import anyio
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qunyun.clients import classify
from qunyun.db.engine import Database
from qunyun.links.models import Link
from qunyun.livecodes.models import LiveCodeMember
from qunyun.visits.keys import epoch_hour, local_day, referrer_host, visitor_key
from qunyun.visits.models import Visit

log = logging.getLogger("qunyun.visits")

MAX_PENDING = 200_000
PURGE_EVERY_SECONDS = 3600.0


@dataclass(slots=True)
class PendingVisit:
    link_id: int
    ts: float
    referrer: str | None
    user_agent: str | None
    ip: str | None
    # The redirect already counted this visit against the link's cap.
    counted: bool = False
    app: str | None = None
    # Live codes: the pool member shown, and whether this view counts against the
    # member's scan threshold (a returning "sticky" visitor does not count again).
    member_id: int | None = None
    count_scan: bool = True


class VisitRecorder:
    def __init__(
        self,
        db: Database,
        secret: str,
        timezone: str,
        flush_seconds: float = 0.5,
        batch_size: int = 1000,
        ip_retention_days: int = 7,
    ) -> None:
        self.db = db
        self._secret = secret.encode("utf-8")
        self._zone = ZoneInfo(timezone)
        self.flush_seconds = flush_seconds
        self.batch_size = batch_size
        self.ip_retention_days = ip_retention_days
        self._pending: list[PendingVisit] = []
        self._days: dict[int, date] = {}
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # One flush at a time, so "flush now" returns only once everything queued
        # before the call is in the database (the timer's flush may be mid-write).
        self._flushing: asyncio.Lock | None = None
        self._last_purge = 0.0
        self.written = 0
        self.dropped = 0

    # --- the redirect's side: must stay O(1) -----------------------------------------

    def record(self, visit: PendingVisit) -> None:
        self._pending.append(visit)
        if len(self._pending) >= self.batch_size and self._wake is not None:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    # --- the writer's side ------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self._wake = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._task = asyncio.create_task(self._run(), name="visit-recorder")

    async def stop(self) -> None:
        if self._task is not None:
            # Ask the writer to finish rather than cancel it: a cancelled task would
            # abandon a batch half-way through its write in a worker thread, and that
            # write could still be running when the process exits.
            self._stopping = True
            if self._wake is not None:
                self._wake.set()
            await self._task
            self._task = None
        # Whatever is left goes to the database before the process ends.
        while self._pending:
            if await self.flush() == 0 and self._pending:
                log.error("could not write %d visits at shutdown", len(self._pending))
                break

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.flush_seconds)
            self._wake.clear()
            await self.flush()
            if self._stopping:
                return
            if time.monotonic() - self._last_purge > PURGE_EVERY_SECONDS:
                self._last_purge = time.monotonic()
                try:
                    await anyio.to_thread.run_sync(self.purge_ips)
                except Exception:
                    log.exception("erasing expired client addresses failed")

    async def flush(self) -> int:
        if self._flushing is None:
            self._flushing = asyncio.Lock()
        async with self._flushing:
            return await self._flush_locked()

    async def _flush_locked(self) -> int:
        batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            await anyio.to_thread.run_sync(self.write, batch)
        except IntegrityError:
            # A link deleted for good while its visits waited (a live code removed with
            # its links): drop those visits, keep the rest.
            kept = await anyio.to_thread.run_sync(self._without_missing_links, batch)
            self.dropped += len(batch) - len(kept)
            if kept:
                self._pending[:0] = kept
            return 0
        except Exception:
            log.exception("writing %d visits failed; keeping them for the next try", len(batch))
            self._pending[:0] = batch
            overflow = len(self._pending) - MAX_PENDING
            if overflow > 0:
                del self._pending[:overflow]
                self.dropped += overflow
                log.error("dropped %d visits: the database has been unreachable too long", overflow)
            return 0
        return len(batch)

    def _day(self, ts: float) -> date:
        # Every time zone's offset is a multiple of 15 minutes: one computation per
        # quarter hour instead of one per visit.
        quarter = int(ts // 900)
        day = self._days.get(quarter)
        if day is None:
            if len(self._days) > 10_000:
                self._days.clear()
            day = self._days[quarter] = local_day(ts, self._zone)
        return day

    def rows(self, batch: list[PendingVisit]) -> list[dict[str, Any]]:
        keep_ip = self.ip_retention_days > 0
        rows = []
        for v in batch:
            client = classify(v.user_agent)
            day = self._day(v.ts)
            rows.append(
                {
                    "link_id": v.link_id,
                    "ts": datetime.fromtimestamp(v.ts, UTC),
                    "day": day,
                    "hour": epoch_hour(v.ts),
                    "referrer": v.referrer[:1024] if v.referrer else None,
                    "referrer_host": referrer_host(v.referrer),
                    "user_agent": v.user_agent[:1024] if v.user_agent else None,
                    "ip": v.ip if keep_ip else None,
                    "visitor_key": visitor_key(self._secret, day, v.ip, v.user_agent),
                    "browser": client.browser[:64],
                    "os": client.os[:64],
                    "device": client.device.value,
                    "app": v.app or (client.app.value if client.app else None),
                    "is_bot": client.is_bot,
                    "bot_name": client.bot_name[:64] if client.bot_name else None,
                    "member_id": v.member_id,
                }
            )
        return rows

    def write(self, batch: list[PendingVisit]) -> None:
        rows = self.rows(batch)
        humans: dict[int, int] = {}
        bots: dict[int, int] = {}
        last: dict[int, datetime] = {}
        scans: dict[int, int] = {}
        for pending, row in zip(batch, rows, strict=True):
            link_id = pending.link_id
            if row["is_bot"]:
                bots[link_id] = bots.get(link_id, 0) + 1
            elif not pending.counted:
                humans[link_id] = humans.get(link_id, 0) + 1
            last[link_id] = max(last.get(link_id, row["ts"]), row["ts"])
            if pending.member_id is not None and pending.count_scan and not row["is_bot"]:
                scans[pending.member_id] = scans.get(pending.member_id, 0) + 1
        with self.db.transaction() as session:
            _forget_deleted_members(session, rows)
            connection = session.connection()
            statement, params = _bulk_insert(connection.dialect.name, rows)
            # The driver's executemany, not the ORM: at thousands of visits a second
            # the ORM's per-row work would cost the redirect workers a quarter of a core.
            connection.exec_driver_sql(statement, params)
            for link_id in sorted(last):
                session.execute(
                    update(Link)
                    .where(Link.id == link_id)
                    .values(
                        human_visits=Link.human_visits + humans.get(link_id, 0),
                        bot_visits=Link.bot_visits + bots.get(link_id, 0),
                        last_visit_at=last[link_id],
                    )
                    .execution_options(synchronize_session=False)
                )
            for member_id in sorted(scans):
                session.execute(
                    update(LiveCodeMember)
                    .where(LiveCodeMember.id == member_id)
                    .values(scans=LiveCodeMember.scans + scans[member_id])
                    .execution_options(synchronize_session=False)
                )
        self.written += len(rows)

    def _without_missing_links(self, batch: list[PendingVisit]) -> list[PendingVisit]:
        ids = {v.link_id for v in batch}
        with self.db.session(write=False) as session:
            existing = set(session.scalars(select(Link.id).where(Link.id.in_(ids))))
        return [v for v in batch if v.link_id in existing]

    def purge_ips(self) -> int:
        """Erase raw client addresses older than the retention period."""
        cutoff = datetime.now(UTC) - timedelta(days=self.ip_retention_days)
        with self.db.transaction() as session:
            result = session.execute(
                update(Visit)
                .where(Visit.ts < cutoff, Visit.ip.is_not(None))
                .values(ip=None)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0)


_COLUMNS = (
    "link_id",
    "ts",
    "day",
    "hour",
    "referrer",
    "referrer_host",
    "user_agent",
    "ip",
    "visitor_key",
    "browser",
    "os",
    "device",
    "app",
    "is_bot",
    "bot_name",
    "member_id",
)


def _forget_deleted_members(session: Session, rows: list[dict[str, Any]]) -> None:
    """A pool member deleted since its view was queued must not fail the whole batch."""
    shown = {row["member_id"] for row in rows if row["member_id"] is not None}
    if not shown:
        return
    alive = set(session.scalars(select(LiveCodeMember.id).where(LiveCodeMember.id.in_(shown))))
    for row in rows:
        if row["member_id"] is not None and row["member_id"] not in alive:
            row["member_id"] = None


_TS, _DAY, _IS_BOT = (_COLUMNS.index(c) for c in ("ts", "day", "is_bot"))


def _sqlite_row(row: dict[str, Any]) -> tuple[Any, ...]:
    # The formats SQLAlchemy itself stores on SQLite: naive UTC, ISO dates, 0/1.
    values = [row[c] for c in _COLUMNS]
    values[_TS] = row["ts"].astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    values[_DAY] = row["day"].isoformat()
    values[_IS_BOT] = int(row["is_bot"])
    return tuple(values)


def _bulk_insert(dialect: str, rows: list[dict[str, Any]]) -> tuple[str, list[tuple[Any, ...]]]:
    mark = "?" if dialect == "sqlite" else "%s"
    columns = ", ".join(_COLUMNS)
    marks = ", ".join([mark] * len(_COLUMNS))
    # Built from the constant column list above, never from input.
    statement = f"INSERT INTO visits ({columns}) VALUES ({marks})"  # noqa: S608
    if dialect == "sqlite":
        return statement, [_sqlite_row(row) for row in rows]
    return statement, [tuple(row[c] for c in _COLUMNS) for row in rows]
