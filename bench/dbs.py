"""Scratch databases for the chat benchmarks, the memory probe, and the bare-insert ceiling."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from qunyun.db.engine import Database
from qunyun.db.migrate import upgrade
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import MessagePosted, Record

# A server and a database we may connect to in order to create and drop scratch databases.
PG_ADMIN_URL = os.environ.get(
    "QUNYUN_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def scratch_url(kind: str, workdir: Path | None = None) -> Iterator[str]:
    """A fresh, empty database URL ("sqlite" in a temp dir, or "pg"), dropped afterwards."""
    if kind == "sqlite":
        folder = workdir or Path(tempfile.mkdtemp(prefix="qunyun-bench-"))
        path = folder / f"bench-{time.monotonic_ns()}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = f"qunyun_bench_{os.getpid()}_{time.monotonic_ns() % 1_000_000}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def migrated(url: str) -> Database:
    db = Database(url)
    upgrade(db)
    return db


def rss_mib() -> float:
    """This process's resident memory now (not the peak)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mib(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


# --- the ceiling: a bare executemany into a table shaped like stream_records ----------

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
_COLUMNS = [c.name for c in StreamRecord.__table__.columns if c.name != "id"]


def ceiling_table() -> sa.Table:
    """stream_records' columns and indexes, without foreign keys (nothing to resolve)."""
    source = StreamRecord.__table__
    meta = sa.MetaData()
    table = sa.Table(
        "bare_records",
        meta,
        *(
            sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in source.columns
        ),
        sa.UniqueConstraint("community_id", "platform", "platform_record_id"),
    )
    for index in source.indexes:  # type: ignore[attr-defined]
        sa.Index(f"bare_{index.name}", *(table.c[c.name] for c in index.columns))
    return table


def ceiling_row(
    record: Record, group_id: int, member_id: int | None, now: datetime, *, sqlite: bool
) -> tuple[Any, ...]:
    """The row the ingestor would write for ``record``, as driver parameters."""
    posted = record if isinstance(record, MessagePosted) else None
    at: Any = record.occurred_at
    received: Any = now
    if sqlite:  # stored as SQLAlchemy stores them there
        at, received = at.strftime(_SQLITE_TIME), now.strftime(_SQLITE_TIME)
    return (
        1,
        group_id,
        member_id,
        record.platform,
        record.platform_record_id,
        record.kind.value,
        at,
        received,
        record.platform_user_id,
        getattr(record, "message_id", None),
        posted.message_kind.value if posted else None,
        posted.text if posted else None,
        posted.reply_to if posted else None,
        json.dumps(record.data(), ensure_ascii=False),
        json.dumps(dict(record.raw), ensure_ascii=False) if record.raw is not None else None,
        "import:bare",
    )


class BareInserter:
    """``executemany`` of prepared rows straight through the driver, one commit per chunk."""

    def __init__(self, url: str) -> None:
        self.url = url
        engine = sa.create_engine(url)
        ceiling_table().metadata.create_all(engine)
        engine.dispose()
        placeholders = ", ".join(["?"] * len(_COLUMNS))
        cols = ", ".join(_COLUMNS)
        if url.startswith("sqlite"):
            self.conn: Any = sqlite3.connect(sa.make_url(url).database or "", isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.sql = (
                f"INSERT INTO bare_records ({cols}) VALUES ({placeholders}) "  # noqa: S608
                "ON CONFLICT (community_id, platform, platform_record_id) DO NOTHING"
            )
        else:
            import psycopg

            plain = sa.make_url(url).set(drivername="postgresql").render_as_string(False)
            self.conn = psycopg.connect(plain)
            values = ", ".join("%s::json" if c in ("data", "raw") else "%s" for c in _COLUMNS)
            self.sql = (
                f"INSERT INTO bare_records ({cols}) VALUES ({values}) "  # noqa: S608
                "ON CONFLICT (community_id, platform, platform_record_id) DO NOTHING"
            )

    def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if isinstance(self.conn, sqlite3.Connection):
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany(self.sql, rows)
            self.conn.execute("COMMIT")
        else:
            with self.conn.cursor() as cur:
                cur.executemany(self.sql, rows)
            self.conn.commit()

    def count(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM bare_records").fetchone()
        return int(row[0])

    def close(self) -> None:
        self.conn.close()
