"""A stream consumer that reads the stored stream from its own cursor.

The dispatcher only wakes it; what it handles comes from the table, in id order, with
the cursor advanced in the same transaction as the handler's writes. So a restart (or a
``kill -9``) neither loses records nor handles one twice, and several processes may run
one each: the cursor row is written first, which makes them take turns.

On PostgreSQL, ids come from a sequence and concurrent writers may commit them out of
order, so a follower only reads records received at least ``SETTLE_SECONDS`` ago: a record
committed later than that under a smaller id would be missed (SQLite takes one writer at a
time, so its ids commit in order and it needs no wait).

A batch that keeps failing is retried one record at a time, and a record that fails on
its own is skipped and logged, so one bad record cannot stop a consumer for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import anyio
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qunyun.background import WakeableTask
from qunyun.db.base import utcnow
from qunyun.db.engine import Database
from qunyun.stream.dispatcher import Dispatcher
from qunyun.stream.models import ConsumerCursor, StreamRecord
from qunyun.stream.records import RecordKind, StoredRecord

log = logging.getLogger("qunyun.stream")

Handler = Callable[[Session, Sequence[StreamRecord]], None]
BATCH = 200
IDLE_SECONDS = 5.0
RETRY_SECONDS = 2.0
SETTLE_SECONDS = 1.0


@dataclass
class FollowerStats:
    handled: int = 0
    skipped: int = 0
    failures: int = 0


def _lock_cursor(session: Session, name: str) -> int:
    """Take the cursor (creating it at the stream's start) and return its position."""
    taken = session.execute(
        update(ConsumerCursor).where(ConsumerCursor.name == name).values(updated_at=utcnow())
    )
    if getattr(taken, "rowcount", 0) == 0:
        session.add(ConsumerCursor(name=name, position=0, updated_at=utcnow()))
        session.flush()
    position = session.scalar(select(ConsumerCursor.position).where(ConsumerCursor.name == name))
    return int(position or 0)


def _pending(
    session: Session,
    after: int,
    kinds: frozenset[RecordKind] | None,
    limit: int,
    settle_seconds: float,
) -> list[StreamRecord]:
    query = (
        select(StreamRecord)
        .where(StreamRecord.id > after, StreamRecord.source.not_like("import%"))
        .order_by(StreamRecord.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name != "sqlite" and settle_seconds > 0:
        settled = utcnow() - timedelta(seconds=settle_seconds)
        query = query.where(StreamRecord.received_at <= settled)
    if kinds is not None:
        query = query.where(StreamRecord.kind.in_([k.value for k in kinds]))
    return list(session.scalars(query))


def _advance(session: Session, name: str, position: int) -> None:
    session.execute(
        update(ConsumerCursor)
        .where(ConsumerCursor.name == name)
        .values(position=position, updated_at=utcnow())
    )


class StreamFollower(WakeableTask):
    """Feeds live stream records to ``handler`` in id order, from a stored cursor."""

    stop_timeout = 10.0

    def __init__(
        self,
        db: Database,
        name: str,
        handler: Handler,
        *,
        kinds: Sequence[RecordKind] | None = None,
        batch: int = BATCH,
    ) -> None:
        super().__init__()
        self.db = db
        self.name = name
        self.task_name = f"qunyun-follow-{name}"
        self.handler = handler
        self.kinds = frozenset(kinds) if kinds is not None else None
        self.batch = batch
        self.stats = FollowerStats()
        # None: the module's SETTLE_SECONDS (tests set 0 to read at once).
        self.settle_seconds: float | None = None

    def listen(self, dispatcher: Dispatcher) -> None:
        """Be woken when new records are committed (in this process)."""

        def wake(records: Sequence[StoredRecord]) -> None:
            self.wake_threadsafe()

        dispatcher.subscribe(f"follower:{self.name}", wake, kinds=list(self.kinds or ()) or None)

    def start_at_end(self) -> None:
        """Begin after what is already stored (for a consumer added to a running install:
        judging months of old messages would be wrong)."""
        with self.db.session() as session:
            _lock_cursor(session, self.name)
            last = session.scalar(select(StreamRecord.id).order_by(StreamRecord.id.desc()))
            position = session.scalar(
                select(ConsumerCursor.position).where(ConsumerCursor.name == self.name)
            )
            if not position:
                _advance(session, self.name, int(last or 0))
            session.commit()

    def _settle(self) -> float:
        return SETTLE_SECONDS if self.settle_seconds is None else self.settle_seconds

    def peek(self, session: Session) -> list[StreamRecord]:
        """The records the next batch would take, read without taking the cursor (for
        slow preparation, such as fetching images, outside the batch's transaction)."""
        position = session.scalar(
            select(ConsumerCursor.position).where(ConsumerCursor.name == self.name)
        )
        return _pending(session, int(position or 0), self.kinds, self.batch, self._settle())

    def run_once(self) -> int:
        """Handle one batch; how many records it took (0: caught up)."""
        with self.db.session() as session:
            position = _lock_cursor(session, self.name)
            records = _pending(session, position, self.kinds, self.batch, self._settle())
            if not records:
                session.commit()
                return 0
            # Taken now: after a rollback the rows are expired, and reading them again
            # would open a new (writing) transaction.
            ids = [r.id for r in records]
            try:
                self.handler(session, records)
            except Exception:
                session.rollback()
                self.stats.failures += 1
                log.exception(
                    "stream follower %s failed on a batch; retrying one by one", self.name
                )
                return self._one_by_one(ids)
            _advance(session, self.name, ids[-1])
            session.commit()
            self.stats.handled += len(records)
            return len(records)

    def _one_by_one(self, ids: list[int]) -> int:
        for record_id in ids:
            with self.db.session() as session:
                position = _lock_cursor(session, self.name)
                if record_id <= position:
                    session.commit()
                    continue
                record = session.get(StreamRecord, record_id)
                try:
                    if record is not None:
                        self.handler(session, [record])
                except Exception:
                    session.rollback()
                    log.exception("stream follower %s skips record %s", self.name, record_id)
                    self.stats.skipped += 1
                    with self.db.session() as skip:
                        _lock_cursor(skip, self.name)
                        _advance(skip, self.name, record_id)
                        skip.commit()
                    continue
                _advance(session, self.name, record_id)
                session.commit()
                self.stats.handled += 1
        return len(ids)

    def drain(self) -> int:
        """Handle everything pending (tests and the CLI use this)."""
        total = 0
        while taken := self.run_once():
            total += taken
        return total

    async def _run(self) -> None:
        while not self.stopping():
            self.clear_wake()
            try:
                taken = await anyio.to_thread.run_sync(self.run_once)
            except Exception:
                log.exception("stream follower %s could not read the stream", self.name)
                await self.wait(RETRY_SECONDS)
                continue
            if taken == 0:
                await self.wait(IDLE_SECONDS)
