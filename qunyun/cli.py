"""The ``qunyun`` command: one Typer application composed of each feature's commands."""

from __future__ import annotations

import os
import sys
from importlib import import_module

import typer
from typer import _click as click  # Typer's own copy of click, which its classes use
from typer.core import TyperGroup

from qunyun.settings import load_settings

# Each command group: (module, Typer object). Imported only when that group is used, so
# `qunyun link list` does not pay for the rule matcher's tables or the web framework.
COMMAND_GROUPS: dict[str, tuple[str, str]] = {
    "db": ("qunyun.db.cli", "db_app"),
    "user": ("qunyun.accounts.cli", "user_app"),
    "token": ("qunyun.accounts.cli", "token_app"),
    "link": ("qunyun.links.cli", "link_app"),
    "visits": ("qunyun.visits.cli", "visits_app"),
    "qr": ("qunyun.qr.cli", "qr_app"),
    "livecode": ("qunyun.livecodes.cli", "livecode_app"),
    "community": ("qunyun.community.cli", "community_app"),
    "group": ("qunyun.community.cli", "group_app"),
    "member": ("qunyun.community.cli", "member_app"),
    "import": ("qunyun.imports.cli", "import_app"),
    "connection": ("qunyun.platforms.cli", "connection_app"),
    "action": ("qunyun.platforms.cli", "action_app"),
    "case": ("qunyun.enforcement.cli", "case_app"),
    "rules": ("qunyun.moderation.cli", "rules_app"),
    "ban": ("qunyun.moderation.cli", "ban_app"),
    "invite": ("qunyun.entry.cli", "invite_app"),
    "join": ("qunyun.entry.cli", "join_app"),
    "appeal": ("qunyun.appeals.cli", "appeal_app"),
}


def command_group(name: str) -> typer.Typer:
    """The Typer application of one command group, imported on first use."""
    module, attribute = COMMAND_GROUPS[name]
    sub_app: typer.Typer = getattr(import_module(module), attribute)
    if name == "link":
        # A link's visit commands (`qunyun link visits ...`) live with the visits.
        from qunyun.visits.cli import register

        register(sub_app)
    return sub_app


class _LazyGroup(TyperGroup):
    def list_commands(self, ctx: click.core.Context) -> list[str]:
        return [*super().list_commands(ctx), *COMMAND_GROUPS]

    def get_command(self, ctx: click.core.Context, cmd_name: str) -> click.core.Command | None:
        if cmd_name not in COMMAND_GROUPS:
            return super().get_command(ctx, cmd_name)
        group = typer.main.get_group(command_group(cmd_name))
        group.name = cmd_name
        return group


app = typer.Typer(
    name="qunyun",
    help="群运 Qunyun — community operations: short links, live codes, rules, rhythm, insight.",
    no_args_is_help=True,
    add_completion=False,
    cls=_LazyGroup,
)


@app.callback()
def _root() -> None:
    """群运 Qunyun — community operations: short links, live codes, rules, rhythm, insight."""


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
