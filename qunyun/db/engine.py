"""Engine and sessions.

The transaction belongs to the caller (a request, a job, a command): services take a
``Session`` and never commit. On SQLite a write transaction starts with
``BEGIN IMMEDIATE`` so two processes never deadlock upgrading a read lock to a write
lock; read transactions stay deferred so readers never wait for writers (WAL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

_WRITE = "qunyun_write"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the driver, open transactions.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit the API acknowledged survives a power cut, not only kill -9.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        # The stream's indexes outgrow SQLite's default 2 MiB page cache early in a
        # large import; past that every insert waits on page reads.
        cur.execute("PRAGMA cache_size=-32768")
        # Copy the WAL back into the database every 32 MiB instead of every 4 MiB: a
        # page changed by several commits in between is copied once. A large import's
        # commits each touch thousands of index pages; this saves a quarter of its writes.
        cur.execute("PRAGMA wal_autocheckpoint=8192")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


class Database:
    """One engine and its two session factories (read and write)."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_db_engine(url, **engine_kwargs)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self, *, write: bool = True) -> Session:
        return (self._write if write else self._read)()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A session whose transaction commits when the block ends without error."""
        with self.session(write=write) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


_AFTER_COMMIT = "qunyun_after_commit"
_AFTER_ROLLBACK = "qunyun_after_rollback"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (never on rollback).

    Used for side effects that must not see uncommitted state, such as dropping a link
    from the redirect cache.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def after_rollback(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` if the session's outermost transaction rolls back (once).

    Used to forget state learnt inside a transaction that did not happen, such as ids
    an importer cached.
    """
    callbacks = session.info.setdefault(_AFTER_ROLLBACK, [])
    if callback not in callbacks:
        callbacks.append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    # Releasing a savepoint fires this too; only the outermost commit counts.
    if session.in_nested_transaction():
        return
    session.info.pop(_AFTER_ROLLBACK, None)
    callbacks = session.info.pop(_AFTER_COMMIT, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    # A savepoint rolled back keeps the callbacks queued before it; they are only
    # cache invalidations, harmless if run for a change that did not happen.
    if session.in_nested_transaction():
        return
    session.info.pop(_AFTER_COMMIT, None)
    for callback in session.info.pop(_AFTER_ROLLBACK, []):
        callback()
