"""Live deliveries share commits but each gets its own answer."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from qunyun.community.models import Community
from qunyun.db.engine import Database
from qunyun.platforms.ingress import Source, StreamWriter
from qunyun.platforms.models import PlatformConnection
from qunyun.stream.dispatcher import Dispatcher
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import StoredRecord
from tests.conftest import run_async
from tests.stream.helpers import message


def _connection(db: Database) -> int:
    with db.transaction() as s:
        community = s.scalars(select(Community)).one()
        connection = PlatformConnection(
            community_id=community.id, platform="onebot", name="bot", key="k1"
        )
        s.add(connection)
        s.flush()
        return connection.id


def test_concurrent_deliveries_are_group_committed(db: Database) -> None:
    connection_id = _connection(db)
    dispatcher = Dispatcher()
    heard: list[StoredRecord] = []
    dispatcher.subscribe("test", heard.extend)
    writer = StreamWriter(db, dispatcher)
    source = Source(1, connection_id)

    async def scenario() -> list[tuple[int, int]]:
        await writer.start()
        try:
            # 200 deliveries at once; every tenth repeats an earlier one.
            deliveries = [[message(n if n % 10 else n - 5)] for n in range(1, 201)]
            results = await asyncio.gather(*(writer.write(source, d) for d in deliveries))
            writer.note_rejected(connection_id)
            await writer.write(source, [message(1000)])
            return [(len(r.added), r.duplicates) for r in results]
        finally:
            await writer.stop()

    outcomes = run_async(scenario())
    stored_first = {n for n in range(1, 201) if n % 10}
    assert sum(added for added, _ in outcomes) == len(stored_first)
    assert all(added + dup == 1 for added, dup in outcomes)
    # Far fewer commits than deliveries.
    assert writer.batches < 100
    with db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(StreamRecord)) == len(stored_first) + 1
        connection = s.get(PlatformConnection, connection_id)
    assert connection is not None
    assert connection.received_count == 201 and connection.rejected_count == 1
    assert connection.last_seen_at is not None
    assert len(heard) == len(stored_first) + 1


def test_without_the_background_task_a_write_is_direct(sqlite_db: Database) -> None:
    connection_id = _connection(sqlite_db)
    writer = StreamWriter(sqlite_db, Dispatcher())
    result = run_async(writer.write(Source(1, connection_id), [message(1), message(1)]))
    assert len(result.added) == 1 and result.duplicates == 1
