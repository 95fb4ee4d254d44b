"""Live deliveries into the stream, with group commit.

A platform posts one record at a time and waits for our answer; a commit (an fsync)
per delivery would cap ingestion at a few hundred a second. So each delivery hands its
records to the :class:`StreamWriter` and awaits them: a background task writes whatever
has gathered in one transaction, commits, and only then answers every waiting delivery.
An answered delivery is therefore on disk (it survives ``kill -9``); an unanswered one
will be delivered again by the platform, and the unique key makes that harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from sqlalchemy.orm import Session

from qunyun.db.base import utcnow
from qunyun.db.engine import Database
from qunyun.stream.bulk import Bulk
from qunyun.stream.dispatcher import Dispatcher
from qunyun.stream.ingest import Ingestor, IngestResult
from qunyun.stream.records import Record, StoredRecord

log = logging.getLogger("qunyun.platforms.ingress")

# How long a worker trusts the member and group ids it has cached: an operator's merge
# in another process is seen within this time.
CACHE_SECONDS = 60.0


@contextlib.contextmanager
def writer_turn(db: Database) -> Iterator[None]:
    """Take turns with the other worker processes' stream writers on one SQLite file.

    SQLite lets one writer in at a time and makes the others poll with growing sleeps
    (1, 2, 5, 10 ... ms), which with two busy workers costs more than the writing. A
    blocking file lock hands the turn over the moment it is free. PostgreSQL needs none.
    """
    path = _lock_path(db)
    if path is None:
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lock_path(db: Database) -> Path | None:
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).with_name(Path(url.database).name + ".stream-lock")


@dataclass(frozen=True)
class Source:
    """Where live records come from: a connection of a community."""

    community_id: int
    connection_id: int


@dataclass
class _Delivery:
    source: Source
    records: Sequence[Record]
    future: asyncio.Future[IngestResult] | None = None


@dataclass
class _Counts:
    received: int = 0
    unknown: int = 0
    rejected: int = 0


@dataclass
class StreamWriter:
    db: Database
    dispatcher: Dispatcher
    max_batch: int = 2000
    _pending: list[_Delivery] = field(default_factory=list)
    _ingestors: dict[Source, Ingestor] = field(default_factory=dict)
    _wake: asyncio.Event | None = None
    _task: asyncio.Task[None] | None = None
    _rejections: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    _cache_started: float = field(default_factory=time.monotonic)
    batches: int = 0
    written: int = 0

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="qunyun-stream-writer")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._pending:
            await self._flush()

    async def write(self, source: Source, records: Sequence[Record]) -> IngestResult:
        """Store ``records``; returns once they are committed."""
        if self._task is None or self._wake is None:
            # Not running (a command line, a test without the lifespan): write directly.
            return await anyio.to_thread.run_sync(self._write_now, source, records)
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._pending.append(_Delivery(source, records, future))
        self._wake.set()
        return await future

    def forget_members(self) -> None:
        """Drop every cached group and member id (after a merge or split of members).

        Safe while a batch is being written: the batch keeps the ingestors it has, the
        next one starts afresh. Other processes drop theirs every :data:`CACHE_SECONDS`.
        """
        self._ingestors = {}

    def note_rejected(self, connection_id: int) -> None:
        """Count a refused delivery (bad signature or token) against its connection."""
        self._rejections[connection_id] += 1
        if self._wake is not None:
            self._wake.set()

    # --- the background writer --------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._flush()
            except Exception:  # the writer must outlive any one bad batch
                log.exception("stream writer batch failed")

    async def _flush(self) -> None:
        while self._pending or self._rejections:
            batch: list[_Delivery] = []
            size = 0
            while self._pending and (not batch or size < self.max_batch):
                delivery = self._pending.pop(0)
                batch.append(delivery)
                size += len(delivery.records)
            rejections, self._rejections = dict(self._rejections), defaultdict(int)
            outcomes = await anyio.to_thread.run_sync(self._write_batch, batch, rejections)
            for delivery, outcome in zip(batch, outcomes, strict=True):
                if delivery.future is None or delivery.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    delivery.future.set_exception(outcome)
                else:
                    delivery.future.set_result(outcome)

    def _ingestor(self, source: Source) -> Ingestor:
        now = time.monotonic()
        if now - self._cache_started > CACHE_SECONDS:
            self._ingestors = {}
            self._cache_started = now
        ingestor = self._ingestors.get(source)
        if ingestor is None:
            ingestor = Ingestor(
                source.community_id,
                source=f"live:{source.connection_id}",
                connection_id=source.connection_id,
                dispatcher=self.dispatcher,
            )
            self._ingestors[source] = ingestor
        return ingestor

    def _write_batch(
        self, batch: list[_Delivery], rejections: dict[int, int]
    ) -> list[IngestResult | BaseException]:
        try:
            with writer_turn(self.db), self.db.transaction() as session:
                outcomes: list[IngestResult | BaseException] = list(
                    self._ingest_all(session, batch)
                )
                self._count(session, batch, rejections)
            self.batches += 1
            return outcomes
        except Exception:
            if len(batch) == 1:
                raise
            log.warning("batch of %d deliveries failed; writing them one by one", len(batch))
        # One bad delivery must not sink the others: retry each alone.
        results: list[IngestResult | BaseException] = []
        for delivery in batch:
            try:
                with self.db.transaction() as session:
                    results.extend(self._ingest_all(session, [delivery]))
                    self._count(session, [delivery], {})
            except Exception as exc:
                log.exception("delivery from connection %s failed", delivery.source)
                results.append(exc)
        return results

    def _ingest_all(self, session: Session, batch: list[_Delivery]) -> list[IngestResult]:
        by_source: dict[Source, list[Record]] = defaultdict(list)
        for delivery in batch:
            by_source[delivery.source].extend(delivery.records)
        stored: dict[tuple[str, str], StoredRecord] = {}
        for source, records in by_source.items():
            result = self._ingestor(source).ingest(session, records)
            for item in result.added:
                stored[(item.record.platform, item.record.platform_record_id)] = item
        self.written += len(stored)
        outcomes: list[IngestResult] = []
        for delivery in batch:
            mine = IngestResult()
            for record in delivery.records:
                key = (record.platform, record.platform_record_id)
                if key not in stored:
                    mine.duplicates += 1
                    continue
                mine.added.append(stored.pop(key))
                if record.kind == "unknown":
                    mine.unknown += 1
            outcomes.append(mine)
        return outcomes

    def _count(self, session: Session, batch: list[_Delivery], rejections: dict[int, int]) -> None:
        counts: dict[int, _Counts] = defaultdict(_Counts)
        for delivery in batch:
            c = counts[delivery.source.connection_id]
            c.received += len(delivery.records)
            c.unknown += sum(1 for r in delivery.records if r.kind == "unknown")
        for connection_id, n in rejections.items():
            counts[connection_id].rejected += n
        bulk = Bulk(session)
        bulk.execute_many(
            "UPDATE platform_connections SET received_count = received_count + ?, "
            "unknown_count = unknown_count + ?, rejected_count = rejected_count + ?, "
            "last_seen_at = CASE WHEN ? > 0 THEN ? ELSE last_seen_at END WHERE id = ?",
            [
                (c.received, c.unknown, c.rejected, c.received, bulk.ts(utcnow()), cid)
                for cid, c in counts.items()
            ],
        )

    def _write_now(self, source: Source, records: Sequence[Record]) -> IngestResult:
        delivery = _Delivery(source, records)
        outcome = self._write_batch([delivery], {})[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome
