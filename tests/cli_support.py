"""What the ``test_cli`` modules share: a clean ``QUNYUN_*`` environment pointing at the
test database, a root command with the sub-apps under test, and running it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from qunyun.db.engine import Database


def command_line(
    monkeypatch: pytest.MonkeyPatch,
    db: Database,
    tmp_path: Path,
    apps: dict[str, typer.Typer],
    *,
    language: str = "en",
    base_url: str | None = None,
) -> typer.Typer:
    """A root command with ``apps`` under their names, configured by the environment only."""
    for name in list(os.environ):
        if name.startswith("QUNYUN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUNYUN_DATABASE_URL", db.url)
    monkeypatch.setenv("QUNYUN_SECRET_KEY", "cli-secret")
    monkeypatch.setenv("QUNYUN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUNYUN_LANGUAGE", language)
    if base_url is not None:
        monkeypatch.setenv("QUNYUN_BASE_URL", base_url)
    root = typer.Typer()
    for name, app in apps.items():
        root.add_typer(app, name=name)
    return root


def run(cli: typer.Typer, *args: str) -> tuple[int, str]:
    """Exit code and output of ``cli args...``."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output
