"""A running Qunyun on loopback (per database backend) for the platform peers to talk to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qunyun.app import create_app
from qunyun.db.engine import Database
from tests.conftest import make_settings
from tests.platforms.served import Served, serve


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[Served]:
    with serve(create_app(make_settings(tmp_path, db), db)) as served:
        yield served


@pytest.fixture
def sqlite_server(sqlite_db: Database, tmp_path: Path) -> Iterator[Served]:
    """For checks that do not depend on the database backend."""
    with serve(create_app(make_settings(tmp_path, sqlite_db), sqlite_db)) as served:
        yield served
