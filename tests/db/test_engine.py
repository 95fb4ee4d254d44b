"""Transactions belong to the caller; after-commit hooks run only on commit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from qunyun.community.models import Community
from qunyun.db.engine import Database, after_commit


def test_transaction_commits_or_rolls_back(db: Database) -> None:
    with db.transaction() as s:
        s.add(Community(slug="a", name="A"))
    with pytest.raises(RuntimeError), db.transaction() as s:
        s.add(Community(slug="b", name="B"))
        raise RuntimeError("boom")
    with db.session(write=False) as s:
        assert sorted(s.scalars(select(Community.slug))) == ["a", "default"]


def test_after_commit_runs_only_after_a_commit(db: Database) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError), db.transaction() as s:
        after_commit(s, lambda: ran.append("rolled back"))
        raise RuntimeError("boom")
    with db.transaction() as s:
        s.add(Community(slug="c", name="C"))
        after_commit(s, lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]


def test_sqlite_runs_in_wal_mode_with_full_sync(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_readers_do_not_block_a_writer(sqlite_db: Database) -> None:
    with sqlite_db.session(write=False) as reader:
        reader.scalar(select(func.count()).select_from(Community))
        with sqlite_db.transaction() as writer:
            writer.add(Community(slug="w", name="W"))
        assert reader.scalar(select(func.count()).select_from(Community)) >= 1


def test_after_commit_waits_for_the_outermost_commit(db: Database) -> None:
    ran: list[str] = []
    with db.transaction() as s:
        after_commit(s, lambda: ran.append("outer"))
        with s.begin_nested():
            s.add(Community(slug="n1", name="N1"))
        assert ran == []  # releasing the savepoint is not the commit
        nested = s.begin_nested()
        nested.rollback()
    assert ran == ["outer"]
