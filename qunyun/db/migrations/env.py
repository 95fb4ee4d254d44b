"""Alembic environment: batch mode so ALTERs work on SQLite."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from qunyun.db.registry import metadata

config = context.config


def run() -> None:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        from qunyun.db.engine import create_db_engine

        engine = create_db_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
