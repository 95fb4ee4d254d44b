"""Stopping the recorder while a batch is being written loses and abandons nothing."""

from __future__ import annotations

import asyncio
import threading
import time

from sqlalchemy import func, select

from qunyun.db.engine import Database
from qunyun.visits.models import Visit
from qunyun.visits.recorder import PendingVisit, VisitRecorder
from tests.conftest import run_async
from tests.visits.helpers import IPHONE_SAFARI, make_link


class SlowRecorder(VisitRecorder):
    """The first write takes a while, so the stop arrives in the middle of it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.writing = threading.Event()

    def write(self, batch: list[PendingVisit]) -> None:
        if not self.writing.is_set():
            self.writing.set()
            time.sleep(0.3)
        super().write(batch)


def test_stop_waits_for_the_batch_in_flight_then_writes_the_rest(sqlite_db: Database):
    link_id = make_link(sqlite_db, "stopping")
    recorder = SlowRecorder(sqlite_db, "secret", "UTC", flush_seconds=0.05)

    async def scenario() -> int:
        await recorder.start()
        for _ in range(5):
            recorder.record(PendingVisit(link_id, time.time(), None, IPHONE_SAFARI, "1.1.1.1"))
        while not recorder.writing.is_set():  # the timer's flush has begun its write
            await asyncio.sleep(0.01)
        for _ in range(3):
            recorder.record(PendingVisit(link_id, time.time(), None, IPHONE_SAFARI, "1.1.1.1"))
        await recorder.stop()
        # Read at once: nothing may still be on its way in a background thread.
        return recorder.written

    assert run_async(scenario()) == 8
    with sqlite_db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 8
    assert recorder.pending == 0
