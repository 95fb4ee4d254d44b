"""Stream followers: every live record once, in order, across restarts and failures."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qunyun.db.engine import Database
from qunyun.stream import follower as follower_module
from qunyun.stream.follower import StreamFollower
from qunyun.stream.ingest import Ingestor
from qunyun.stream.models import ConsumerCursor, StreamRecord
from qunyun.stream.records import RecordKind
from tests.stream.helpers import joined, message


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL followers wait for records to settle; the tests' records are settled.
    monkeypatch.setattr(follower_module, "SETTLE_SECONDS", -60.0)


def _ingest(db: Database, records: Sequence[object], source: str = "live:1") -> None:
    with db.transaction() as s:
        Ingestor(1, source=source).ingest(s, records)  # type: ignore[arg-type]


class Seen:
    """A handler that writes what it saw, so a rollback also forgets it."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.fail_on: set[str] = set()

    def __call__(self, session: Session, records: Sequence[StreamRecord]) -> None:
        for record in records:
            if record.text in self.fail_on:
                raise RuntimeError(f"cannot handle {record.text}")
        self.ids.extend(r.id for r in records)


def _live_ids(db: Database, kind: RecordKind | None = None) -> list[int]:
    with db.session(write=False) as s:
        query = select(StreamRecord.id).where(StreamRecord.source.like("live%"))
        if kind is not None:
            query = query.where(StreamRecord.kind == kind.value)
        return list(s.scalars(query.order_by(StreamRecord.id)))


def test_reads_live_records_once_in_order_and_skips_imports(db: Database) -> None:
    _ingest(db, [message(n) for n in range(1, 6)])
    _ingest(db, [message(n, group="old") for n in range(1, 4)], source="import:7")
    seen = Seen()
    follower = StreamFollower(db, "test", seen, batch=2)
    assert follower.drain() == 5
    assert seen.ids == _live_ids(db)
    assert follower.drain() == 0
    _ingest(db, [message(6), message(3)])  # one new, one redelivered
    assert follower.drain() == 1
    assert seen.ids == _live_ids(db)
    assert len(seen.ids) == 6


def test_a_restarted_follower_continues_from_its_cursor(db: Database) -> None:
    _ingest(db, [message(n) for n in range(1, 4)])
    first = Seen()
    StreamFollower(db, "test", first).drain()
    _ingest(db, [message(n) for n in range(4, 7)])
    second = Seen()
    StreamFollower(db, "test", second).drain()
    assert not set(first.ids) & set(second.ids)
    assert first.ids + second.ids == _live_ids(db)
    other = Seen()
    StreamFollower(db, "another", other).drain()
    assert other.ids == _live_ids(db)


def test_kinds_filter(db: Database) -> None:
    _ingest(db, [message(1), joined(2, "u9"), message(3)])
    seen = Seen()
    StreamFollower(db, "joins", seen, kinds=[RecordKind.member_joined]).drain()
    assert seen.ids == _live_ids(db, RecordKind.member_joined)


def test_a_failing_record_is_skipped_and_the_rest_handled(db: Database) -> None:
    _ingest(db, [message(n, text=f"t{n}") for n in range(1, 6)])
    seen = Seen()
    seen.fail_on = {"t3"}
    follower = StreamFollower(db, "test", seen)
    follower.drain()
    handled = _live_ids(db)
    assert seen.ids == [i for i in handled if i != handled[2]]
    assert follower.stats.skipped == 1 and follower.stats.failures == 1
    with db.session(write=False) as s:
        assert s.get(ConsumerCursor, "test").position == handled[-1]  # type: ignore[union-attr]


def test_the_handlers_writes_roll_back_with_the_cursor(db: Database) -> None:
    """A batch whose handler fails leaves neither its writes nor a moved cursor."""
    _ingest(db, [message(1, text="ok"), message(2, text="bad")])

    def handler(session: Session, records: Sequence[StreamRecord]) -> None:
        for record in records:
            session.add(ConsumerCursor(name=f"mark-{record.id}", position=record.id))
            if record.text == "bad":
                session.flush()
                raise RuntimeError("bad")

    StreamFollower(db, "test", handler).drain()
    with db.session(write=False) as s:
        marks = s.scalar(
            select(func.count()).select_from(ConsumerCursor).where(ConsumerCursor.name != "test")
        )
    # The batch failed whole; retried one by one, only the good record left its mark.
    assert marks == 1


def test_start_at_end_skips_what_was_already_stored(db: Database) -> None:
    _ingest(db, [message(n) for n in range(1, 4)])
    seen = Seen()
    follower = StreamFollower(db, "late", seen)
    follower.start_at_end()
    assert follower.drain() == 0
    _ingest(db, [message(4)])
    assert follower.drain() == 1


def test_two_followers_of_one_name_never_handle_a_record_twice(sqlite_db: Database) -> None:
    db = sqlite_db
    _ingest(db, [message(n) for n in range(1, 41)])
    seen_a, seen_b = Seen(), Seen()
    a = StreamFollower(db, "shared", seen_a, batch=3)
    b = StreamFollower(db, "shared", seen_b, batch=3)
    threads = [threading.Thread(target=f.drain) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    together = sorted(seen_a.ids + seen_b.ids)
    assert together == _live_ids(db)
