"""The ``qunyun`` command: one Typer application composed of each feature's commands."""

from __future__ import annotations

import os
import sys

import typer

from qunyun.accounts.cli import token_app, user_app
from qunyun.appeals.cli import appeal_app
from qunyun.community.cli import community_app, group_app, member_app
from qunyun.db.cli import db_app
from qunyun.enforcement.cli import case_app
from qunyun.entry.cli import invite_app, join_app
from qunyun.imports.cli import import_app
from qunyun.links.cli import link_app
from qunyun.livecodes.cli import livecode_app
from qunyun.moderation.cli import ban_app, rules_app
from qunyun.platforms.cli import action_app, connection_app
from qunyun.qr.cli import qr_app
from qunyun.settings import load_settings
from qunyun.visits.cli import register as register_visit_commands
from qunyun.visits.cli import visits_app

app = typer.Typer(
    name="qunyun",
    help="群运 Qunyun — community operations: short links, live codes, rules, rhythm, insight.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
register_visit_commands(link_app)
app.add_typer(link_app, name="link")
app.add_typer(visits_app, name="visits")
app.add_typer(qr_app, name="qr")
app.add_typer(livecode_app, name="livecode")
app.add_typer(community_app, name="community")
app.add_typer(group_app, name="group")
app.add_typer(member_app, name="member")
app.add_typer(import_app, name="import")
app.add_typer(connection_app, name="connection")
app.add_typer(action_app, name="action")
app.add_typer(case_app, name="case")
app.add_typer(rules_app, name="rules")
app.add_typer(ban_app, name="ban")
app.add_typer(invite_app, name="invite")
app.add_typer(join_app, name="join")
app.add_typer(appeal_app, name="appeal")


@app.command()
def serve(
    host: str = typer.Option(None, help="address to listen on (QUNYUN_HOST, default 127.0.0.1)"),
    port: int = typer.Option(None, help="port (QUNYUN_PORT, default 8000)"),
    workers: int = typer.Option(None, help="worker processes (QUNYUN_WORKERS, default 1)"),
    access_log: bool = typer.Option(False, help="log every request (slows the redirect)"),
) -> None:
    """Start the web application (uvicorn with uvloop and httptools)."""
    import uvicorn

    from qunyun.db.engine import Database
    from qunyun.db.migrate import upgrade

    settings = load_settings()
    db = Database(settings.database_url)
    upgrade(db)
    db.dispose()
    # Migrations ran once here; the workers must not race to run them again. The
    # secret key is handed down so every worker signs sessions the same way.
    os.environ["QUNYUN_APPLY_MIGRATIONS_ON_START"] = "false"
    os.environ["QUNYUN_SECRET_KEY"] = settings.secret_key
    # The workers build their own settings: what the command line chose must reach them.
    if host:
        os.environ["QUNYUN_HOST"] = host
    if port:
        os.environ["QUNYUN_PORT"] = str(port)
    uvicorn.run(
        "qunyun.app:app_from_environment",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        loop="uvloop",
        http="httptools",
        access_log=access_log,
        proxy_headers=False,  # X-Forwarded-For is read only from QUNYUN_TRUSTED_PROXIES
        server_header=False,
        timeout_graceful_shutdown=10,
    )


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
