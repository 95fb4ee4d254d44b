"""Stop the import worker a test's application started before its database goes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qunyun.imports.worker import EXTRA_KEY, ImportWorker
from tests.conftest import App


def _stop(app: App) -> None:
    worker = app.ctx.extras.get(EXTRA_KEY)
    if isinstance(worker, ImportWorker):
        worker.stop()


@pytest.fixture
def imports_app(app: App) -> Iterator[App]:
    yield app
    _stop(app)


@pytest.fixture
def any_imports_app(any_app: App) -> Iterator[App]:
    yield any_app
    _stop(any_app)
