"""``qunyun connection`` and ``qunyun action``: platform connections and the outbox.

No login: the command line acts with every right in the default community. A new or
rotated secret is printed once; nothing here logs a secret. A running server picks up
a retried action within its poll interval (a few seconds).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from qunyun.cli_support import installation
from qunyun.errors import DomainError
from qunyun.platforms import connections as service
from qunyun.platforms import outbox
from qunyun.platforms.present import action_out, connection_out
from qunyun.platforms.telegram.client import register_webhook

connection_app = typer.Typer(
    help="Platform connections (QQ/OneBot, Telegram, webhook, manual): add, list, rotate, remove.",
    no_args_is_help=True,
)
action_app = typer.Typer(
    help="The outbox and manual to-dos: list, retry, mark done.", no_args_is_help=True
)
COMMUNITY_ID = 1


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


# --- connections -----------------------------------------------------------------------


@connection_app.command("add")
def add(
    platform: str = typer.Argument(..., help="onebot, telegram, webhook or manual"),
    name: str = typer.Argument(..., help="a name people recognise"),
    api_url: str | None = typer.Option(None, help="OneBot HTTP API / Bot API server / action URL"),
    access_token: str | None = typer.Option(
        None,
        help="OneBot access token or Telegram bot token (or QUNYUN_CONNECTION_TOKEN)",
        envvar="QUNYUN_CONNECTION_TOKEN",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add a connection; prints its inbound address and (once) its signing secret."""
    with installation() as inst:
        try:
            with inst.db.transaction() as session:
                connection = service.create_connection(
                    session,
                    COMMUNITY_ID,
                    platform,
                    name,
                    access_token=access_token,
                    api_url=api_url,
                    allow_private=inst.settings.allow_private_targets,
                )
                out = connection_out(
                    inst.settings, connection, show_urls=True, secret=connection.inbound_secret
                )
        except DomainError as exc:
            inst.fail(exc)
    if as_json:
        _print_json(out.model_dump(mode="json"))
        return
    typer.echo(f"id\t{out.id}")
    if out.inbound_url:
        typer.echo(f"inbound\t{out.inbound_url}")
    if out.websocket_url:
        typer.echo(f"websocket\t{out.websocket_url}")
    if out.inbound_secret:
        typer.echo(f"secret\t{out.inbound_secret}\t(shown once)")


@connection_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every connection with its inbound address and counts (never its secret)."""
    with installation() as inst, inst.db.transaction(write=False) as session:
        items = [
            connection_out(inst.settings, c, show_urls=True)
            for c in service.list_connections(session, COMMUNITY_ID)
        ]
    if as_json:
        _print_json([item.model_dump(mode="json") for item in items])
        return
    table = Table(title=f"{len(items)} connections")
    for column in (
        "id",
        "platform",
        "name",
        "enabled",
        "received",
        "unknown",
        "refused",
        "inbound",
    ):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            str(item.id),
            item.platform,
            item.name,
            "yes" if item.enabled else "no",
            str(item.received_count),
            str(item.unknown_count),
            str(item.rejected_count),
            item.inbound_url or "",
        )
    Console().print(table)


@connection_app.command("rotate")
def rotate(connection_id: int = typer.Argument(...)) -> None:
    """Replace the signing secret and print the new one (once)."""
    with installation() as inst:
        try:
            with inst.db.transaction() as session:
                secret = service.rotate_secret(session, COMMUNITY_ID, connection_id)
        except DomainError as exc:
            inst.fail(exc)
    typer.echo(secret)


@connection_app.command("telegram-webhook")
def telegram_webhook(
    connection_id: int = typer.Argument(...),
    url: str = typer.Option(
        None, help="public URL Telegram should post to (default: from QUNYUN_BASE_URL)"
    ),
) -> None:
    """Point a Telegram bot's webhook at Qunyun (setWebhook with the secret and the
    update types Qunyun reads, chat_member and chat_join_request included)."""
    with installation() as inst:
        try:
            with inst.db.session(write=False) as session:
                connection = service.get_connection(session, COMMUNITY_ID, connection_id)
        except DomainError as exc:
            inst.fail(exc)
        if connection.platform != "telegram":
            inst.fail(DomainError("connection.not_telegram"))
        target = url or service.inbound_url(inst.settings, connection).http
        assert target is not None
        result = asyncio.run(register_webhook(connection, target))
    if not result.ok:
        typer.echo(f"Telegram: {result.error}", err=True)
        raise typer.Exit(1)
    typer.echo(target)


@connection_app.command("enable")
def enable(connection_id: int = typer.Argument(...)) -> None:
    """Accept deliveries and send actions again."""
    _switch(connection_id, True)


@connection_app.command("disable")
def disable(connection_id: int = typer.Argument(...)) -> None:
    """Refuse deliveries; queued actions wait until it is enabled."""
    _switch(connection_id, False)


def _switch(connection_id: int, enabled: bool) -> None:
    with installation() as inst:
        try:
            with inst.db.transaction() as session:
                service.set_enabled(session, COMMUNITY_ID, connection_id, enabled)
        except DomainError as exc:
            inst.fail(exc)
    typer.echo("enabled" if enabled else "disabled")


@connection_app.command("remove")
def remove(
    connection_id: int = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", help="do not ask"),
) -> None:
    """Delete a connection; its unsent actions become to-dos."""
    if not yes:
        typer.confirm(f"Delete connection {connection_id}?", abort=True)
    with installation() as inst:
        try:
            with inst.db.transaction() as session:
                moved = service.delete(session, COMMUNITY_ID, connection_id)
        except DomainError as exc:
            inst.fail(exc)
    typer.echo(f"removed; {moved} unsent actions are now to-dos")


# --- actions ---------------------------------------------------------------------------


@action_app.command("list")
def list_actions(
    status: list[str] | None = typer.Option(None, "--status", help="e.g. failed, todo; repeat"),
    group_id: int | None = typer.Option(None, "--group"),
    kind: str | None = typer.Option(None),
    limit: int = typer.Option(50, min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Actions, newest first; to-dos and failures with the text a person would need."""
    with installation() as inst:
        lang = inst.settings.language
        try:
            with inst.db.transaction(write=False) as session:
                rows, total = outbox.list_actions(
                    session,
                    COMMUNITY_ID,
                    statuses=outbox.statuses_of(status),
                    group_id=group_id,
                    kind=kind,
                    limit=limit,
                )
                items = [action_out(session, row, lang) for row in rows]
        except DomainError as exc:
            inst.fail(exc)
    if as_json:
        _print_json({"total": total, "items": [i.model_dump(mode="json") for i in items]})
        return
    table = Table(title=f"{len(items)} of {total} actions")
    for column in ("id", "status", "kind", "group", "tries", "what / last error"):
        table.add_column(column, overflow="fold")
    for item in items:
        detail = item.todo.instruction if item.todo else str(item.params.get("text", ""))
        if item.last_error and item.status != "sent":
            detail = f"{detail}\n! {item.last_error}"
        table.add_row(
            str(item.id), item.status, item.kind, item.group_name or "", str(item.attempts), detail
        )
    Console().print(table)


@action_app.command("retry")
def retry(action_id: int = typer.Argument(...)) -> None:
    """Send a failed or cancelled action again."""
    with installation() as inst:
        try:
            with inst.db.transaction() as session:
                action = outbox.retry(session, COMMUNITY_ID, action_id)
                status = action.status
        except DomainError as exc:
            inst.fail(exc)
    typer.echo(status)


@action_app.command("done")
def done(action_id: int = typer.Argument(...)) -> None:
    """Mark a to-do (or a failed action) as done by hand."""
    with installation() as inst:
        try:
            with inst.db.transaction() as session:
                outbox.mark_done(session, COMMUNITY_ID, action_id, None)
        except DomainError as exc:
            inst.fail(exc)
    typer.echo("done")


@action_app.command("cancel")
def cancel(action_id: int = typer.Argument(...)) -> None:
    """Give up on an action not yet done."""
    with installation() as inst:
        try:
            with inst.db.transaction() as session:
                outbox.cancel(session, COMMUNITY_ID, action_id)
        except DomainError as exc:
            inst.fail(exc)
    typer.echo("cancelled")
