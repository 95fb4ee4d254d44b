"""``qunyun db``: migrations."""

from __future__ import annotations

import typer

from qunyun.db.engine import Database
from qunyun.db.migrate import current_revision, downgrade, head_revision, upgrade
from qunyun.settings import load_settings

db_app = typer.Typer(help="Database schema: upgrade, downgrade, status.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    db = Database(load_settings().database_url)
    upgrade(db, revision)
    typer.echo(f"database at {current_revision(db)}")


@db_app.command("downgrade")
def downgrade_cmd(revision: str) -> None:
    """Revert migrations down to REVISION ('base' empties the database)."""
    db = Database(load_settings().database_url)
    downgrade(db, revision)
    typer.echo(f"database at {current_revision(db)}")


@db_app.command("status")
def status_cmd() -> None:
    """Show the applied and the newest revision."""
    db = Database(load_settings().database_url)
    typer.echo(f"current: {current_revision(db)}  head: {head_revision(db)}")
