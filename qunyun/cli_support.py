"""What the ``qunyun`` sub-commands share: the installation (settings and an upgraded
database, disposed afterwards) and failing with a domain error in the set language."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn

import typer

from qunyun.db.engine import Database
from qunyun.db.migrate import upgrade
from qunyun.errors import DomainError
from qunyun.i18n import error_text
from qunyun.settings import Settings, load_settings


def fail(settings: Settings, exc: DomainError) -> NoReturn:
    """Print ``exc`` in the installation's language and exit with status 2."""
    typer.echo(error_text(exc, settings.language), err=True)
    raise typer.Exit(2)


@dataclass(frozen=True)
class Installation:
    settings: Settings
    db: Database

    def fail(self, exc: DomainError) -> NoReturn:
        fail(self.settings, exc)


@contextmanager
def installation() -> Iterator[Installation]:
    """Settings from the environment and their database, upgraded to the latest schema."""
    settings = load_settings()
    db = Database(settings.database_url)
    try:
        upgrade(db)
        yield Installation(settings, db)
    finally:
        db.dispose()
