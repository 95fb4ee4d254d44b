"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from qunyun.community.models import Community
from qunyun.db.engine import Database
from qunyun.db.migrate import current_revision, downgrade, head_revision, upgrade
from qunyun.db.registry import metadata


def test_database_is_at_head_with_the_default_community(db: Database) -> None:
    assert current_revision(db) == head_revision(db)
    with db.session(write=False) as s:
        assert s.scalars(select(Community.slug)).all() == ["default"]


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_downgrade_to_base_and_back(db: Database) -> None:
    downgrade(db, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(db)
    assert set(metadata.tables) <= set(inspect(db.engine).get_table_names())
