"""Multi-row statements for the ingest hot path, written for the session's dialect.

SQLAlchemy's per-parameter type processing costs more than SQLite's own work at tens
of thousands of rows a second, so the stream's insert and its counters go to the driver
directly, with values already in the form each database stores: UTC timestamps as
SQLite's ``YYYY-MM-DD HH:MM:SS.ffffff`` text (what SQLAlchemy writes, so the ORM reads
them back unchanged) or aware datetimes for PostgreSQL, and JSON as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.orm import Session

# SQLite allows 32,766 bound values per statement; stay well below for any width.
_MAX_VALUES = 8000
_PIPELINE_ROWS = 64


class Bulk:
    """Statements on the session's own connection (so inside its transaction), through
    the driver's cursor: SQLAlchemy's per-statement bookkeeping costs more than a small
    batch's SQL."""

    def __init__(self, session: Session) -> None:
        connection: Connection = session.connection()
        self.sqlite = connection.dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"
        driver = connection.connection.driver_connection
        assert driver is not None
        self._driver: Any = driver

    def ts(self, moment: datetime | None) -> Any:
        if moment is None:
            return None
        if self.sqlite:
            text = moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
            # isoformat drops a zero microsecond; SQLAlchemy's stored form never does.
            return text if len(text) > 19 else text + ".000000"
        return moment

    def json(self, value: Any) -> str | None:
        if value is None:
            return None
        return orjson.dumps(value).decode() if value else "{}"

    def json_mark(self) -> str:
        return self.mark if self.sqlite else f"CAST({self.mark} AS json)"

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        conflict: Sequence[str],
        returning: Sequence[str] = (),
        json_columns: frozenset[str] = frozenset(),
    ) -> list[tuple[Any, ...]]:
        """``INSERT ... ON CONFLICT (conflict) DO NOTHING [RETURNING ...]``, many rows
        per statement; returns the rows of what was inserted."""
        if not rows:
            return []
        one = (
            "("
            + ", ".join(self.json_mark() if c in json_columns else self.mark for c in columns)
            + ")"
        )
        per_statement = max(1, _MAX_VALUES // len(columns))
        # Table and column names come from this package, never from input.
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
        tail = f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
        if returning:
            tail += f" RETURNING {', '.join(returning)}"
        out: list[tuple[Any, ...]] = []
        cursor = self._driver.cursor()
        try:
            if not self.sqlite and len(rows) > _PIPELINE_ROWS:
                # psycopg parses every statement of over 50 parameters afresh, at a cost
                # that grows with its length: past a few dozen rows one row per
                # statement, pipelined, is cheaper than one long statement.
                cursor.executemany(
                    head + one + tail, [tuple(r) for r in rows], returning=bool(returning)
                )
                while True:
                    if returning:
                        out.extend(tuple(r) for r in cursor.fetchall())
                    if not cursor.nextset():
                        break
                return out
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                sql = head + ", ".join([one] * len(chunk)) + tail
                cursor.execute(sql, tuple(value for row in chunk for value in row))
                if returning:
                    out.extend(tuple(r) for r in cursor.fetchall())
        finally:
            cursor.close()
        return out

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement with ``?`` placeholders, run for every row."""
        if rows:
            if not self.sqlite:
                sql = sql.replace("?", "%s")
            cursor = self._driver.cursor()
            try:
                cursor.executemany(sql, [tuple(r) for r in rows])
            finally:
                cursor.close()
