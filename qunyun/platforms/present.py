"""Rows as the API and pages show them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from qunyun.platforms.connections import inbound_url
from qunyun.platforms.models import PlatformConnection
from qunyun.platforms.outbox import ActionRow, todo_for
from qunyun.platforms.schemas import ActionOut, ConnectionOut, TodoOut
from qunyun.settings import Settings

SHOWS_TODO = frozenset({"todo", "failed"})


def connection_out(
    settings: Settings,
    connection: PlatformConnection,
    *,
    show_urls: bool,
    secret: str | None = None,
) -> ConnectionOut:
    urls = inbound_url(settings, connection)
    return ConnectionOut(
        id=connection.id,
        platform=connection.platform,
        name=connection.name,
        enabled=connection.enabled,
        inbound_url=urls.http if show_urls else None,
        websocket_url=urls.websocket if show_urls else None,
        api_url=connection.api_url,
        has_access_token=bool(connection.access_token),
        has_inbound_secret=bool(connection.inbound_secret),
        self_id=connection.self_id,
        last_seen_at=connection.last_seen_at,
        received_count=connection.received_count,
        unknown_count=connection.unknown_count,
        rejected_count=connection.rejected_count,
        created_at=connection.created_at,
        inbound_secret=secret,
    )


def action_out(session: Session, row: ActionRow, lang: str) -> ActionOut:
    action = row.action
    todo = None
    if action.status in SHOWS_TODO:
        text = todo_for(session, row, lang)
        todo = TodoOut(instruction=text.instruction, copy_text=text.copy)
    return ActionOut(
        id=action.id,
        group_id=action.group_id,
        group_name=row.group_name,
        connection_id=action.connection_id,
        connection_name=row.connection_name,
        kind=action.kind,
        params=dict(action.params or {}),
        status=action.status,
        attempts=action.attempts,
        next_attempt_at=action.next_attempt_at,
        last_error=action.last_error,
        result=action.result,
        reason=action.reason,
        requested_by_id=action.requested_by_id,
        done_by_id=action.done_by_id,
        created_at=action.created_at,
        done_at=action.done_at,
        waiting_for_connection=row.waiting_for_connection,
        todo=todo,
    )
