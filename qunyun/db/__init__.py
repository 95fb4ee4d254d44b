"""The one way to the database: :class:`Database` (engine + sessions) and the model base."""

from qunyun.db.base import Base, UtcDateTime, utcnow
from qunyun.db.engine import Database, after_commit

__all__ = ["Base", "Database", "UtcDateTime", "after_commit", "utcnow"]
