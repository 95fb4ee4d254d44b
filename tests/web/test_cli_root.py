"""The ``qunyun`` command: every command group answers, and none is imported before use."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from qunyun.cli import COMMAND_GROUPS, app


def test_the_root_lists_every_command_group() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in [*COMMAND_GROUPS, "serve"]:
        assert f" {name} " in result.output


@pytest.mark.parametrize("name", sorted(COMMAND_GROUPS))
def test_each_command_group_loads_and_shows_its_commands(name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"qunyun {name}" in result.output and "Commands" in result.output


def test_starting_the_command_imports_no_command_group() -> None:
    probe = (
        "import sys, qunyun.cli; "
        "print(sorted(m for m in ('qunyun.moderation.text', 'qunyun.enforcement', "
        "'qunyun.appeals', 'fastapi') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_link_commands_include_the_visit_statistics_once() -> None:
    for _ in range(2):
        result = CliRunner().invoke(app, ["link", "--help"])
        assert result.exit_code == 0
        assert result.output.count(" stats ") == 1
