"""Appeals tests that run the enforcement engine read records the moment they are
written; the end-to-end tests drive a running Qunyun on loopback (per database backend)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qunyun.app import create_app
from qunyun.db.engine import Database
from qunyun.stream import follower as follower_module
from tests.conftest import make_settings
from tests.platforms.served import Served, serve


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL followers wait for records to settle; the tests' records are settled.
    monkeypatch.setattr(follower_module, "SETTLE_SECONDS", -60.0)


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[Served]:
    with serve(create_app(make_settings(tmp_path, db), db)) as served:
        yield served
