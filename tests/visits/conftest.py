"""Fixtures of the visit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.visits.live_server import Server, running_server


@pytest.fixture
def server(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[Server, int, str]]:
    """A running ``qunyun serve`` with the link ``durable`` and an operator's token."""
    yield from running_server(sqlite_template, tmp_path)
