"""Pages: ``/connections`` (bots and bridges, their inbound addresses and counts) and
``/actions`` (the outbox with retries, and manual to-dos to copy and mark done)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.engine import after_commit
from qunyun.errors import DomainError
from qunyun.i18n import error_text
from qunyun.platforms import connections as service
from qunyun.platforms import outbox, registry
from qunyun.platforms.connections import PLATFORMS, inbound_url
from qunyun.platforms.models import PlatformConnection
from qunyun.platforms.outbox import ActionRow
from qunyun.web.context import AppContext
from qunyun.web.render import language_of, render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

PAGE_SIZE = 50
OPEN = ("pending", "sending", "failed")


def _local(zone: str) -> Callable[[datetime | None], str]:
    tz = ZoneInfo(zone)

    def fmt(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")

    return fmt


def _community(principal: Principal, role: Role) -> int:
    community_id = principal.default_community()
    principal.require(community_id, role)
    return community_id


# --- connections -----------------------------------------------------------------------


def _connections_page(
    request: Request,
    session: Session,
    ctx: AppContext,
    principal: Principal,
    *,
    secret_for: PlatformConnection | None = None,
    secret: str | None = None,
    error: DomainError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    community_id = _community(principal, Role.viewer)
    admin = principal.can(community_id, Role.admin)
    connections = service.list_connections(session, community_id)
    return render(
        request,
        "platforms/connections.html",
        status_code=error.status if error else 200,
        connections=connections,
        urls={c.id: inbound_url(ctx.settings, c) for c in connections} if admin else {},
        can_admin=admin,
        platforms=PLATFORMS,
        secret_for=secret_for,
        secret=secret,
        error=error_text(error, language_of(request)) if error else None,
        form=form or {"platform": "onebot", "name": "", "api_url": ""},
        local=_local(ctx.settings.timezone),
    )


@router.get("/connections")
def connections_page(
    request: Request, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    return _connections_page(request, session, ctx, principal)


@router.post("/connections/new")
def create_connection(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    platform: Annotated[str, Form(max_length=32)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    api_url: Annotated[str, Form(max_length=2048)] = "",
    access_token: Annotated[str, Form(max_length=256)] = "",
    inbound_secret: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    community_id = _community(principal, Role.admin)
    try:
        connection = service.create_connection(
            session,
            community_id,
            platform,
            name,
            inbound_secret=inbound_secret or None,
            access_token=access_token or None,
            api_url=api_url or None,
            allow_private=ctx.settings.allow_private_targets,
        )
    except DomainError as exc:
        if exc.status != 400:
            raise
        session.rollback()
        form = {"platform": platform, "name": name, "api_url": api_url}
        return _connections_page(request, session, ctx, principal, error=exc, form=form)
    # The secret is shown on this answer only: no redirect that would lose it.
    return _connections_page(
        request, session, ctx, principal, secret_for=connection, secret=connection.inbound_secret
    )


@router.post("/connections/{connection_id:int}/edit")
def edit_connection(
    request: Request,
    connection_id: int,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    name: Annotated[str, Form(max_length=400)] = "",
    api_url: Annotated[str, Form(max_length=2048)] = "",
    access_token: Annotated[str, Form(max_length=256)] = "",
    clear_access_token: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    community_id = _community(principal, Role.admin)
    fields: dict[str, Any] = {"name": name, "api_url": api_url}
    if access_token:
        fields["access_token"] = access_token
    elif clear_access_token:
        fields["access_token"] = None
    try:
        service.update_connection(
            session,
            community_id,
            connection_id,
            fields,
            allow_private=ctx.settings.allow_private_targets,
        )
    except DomainError as exc:
        if exc.status != 400:
            raise
        session.rollback()
        return _connections_page(request, session, ctx, principal, error=exc)
    return RedirectResponse("/connections", status_code=303)


@router.post("/connections/{connection_id:int}/rotate")
def rotate(
    request: Request, connection_id: int, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = _community(principal, Role.admin)
    secret = service.rotate_secret(session, community_id, connection_id)
    connection = service.get_connection(session, community_id, connection_id)
    return _connections_page(request, session, ctx, principal, secret_for=connection, secret=secret)


@router.post("/connections/{connection_id:int}/{change}")
def switch(
    connection_id: int, change: str, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = _community(principal, Role.admin)
    if change == "enable":
        service.enable(session, community_id, connection_id)
        wake = outbox.waker(ctx)
        if wake is not None:
            after_commit(session, wake)
    elif change == "disable":
        service.disable(session, community_id, connection_id)
    elif change == "delete":
        service.delete(session, community_id, connection_id)
        registry.forget(ctx, connection_id)
    else:
        raise DomainError("not_found", status=404)
    return RedirectResponse("/connections", status_code=303)


# --- actions ---------------------------------------------------------------------------


def _action_context(
    request: Request, session: Session, ctx: AppContext, principal: Principal
) -> dict[str, Any]:
    community_id = principal.default_community()
    lang = language_of(request)
    return {
        "can_write": principal.can(community_id, Role.operator),
        "local": _local(ctx.settings.timezone),
        "todo": lambda row: outbox.todo_for(session, row, lang),
    }


def _page_number(raw: str | None) -> int:
    return max(1, min(int(raw), 100_000)) if raw and raw.isdigit() else 1


@router.get("/actions")
def actions_page(
    request: Request, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = _community(principal, Role.viewer)
    show = "all" if request.query_params.get("show") == "all" else "open"
    page = _page_number(request.query_params.get("page"))
    todos: list[ActionRow] = []
    if show == "open":
        todos, _ = outbox.list_actions(session, community_id, statuses=["todo"], limit=200)
        rows, total = outbox.list_actions(
            session, community_id, statuses=OPEN, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
    else:
        rows, total = outbox.list_actions(
            session, community_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
    return render(
        request,
        "platforms/actions.html",
        show=show,
        todos=todos,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
        counts=outbox.count_open(session, community_id),
        **_action_context(request, session, ctx, principal),
    )


def _after_change(
    request: Request,
    session: Session,
    ctx: AppContext,
    principal: Principal,
    community_id: int,
    action_id: int,
) -> Response:
    """htmx swaps the one card; a plain form goes back to the list."""
    if request.headers.get("hx-request") != "true":
        return RedirectResponse("/actions", status_code=303)
    row = outbox.get_action(session, community_id, action_id)
    return render(
        request,
        "platforms/_action.html",
        row=row,
        **_action_context(request, session, ctx, principal),
    )


@router.post("/actions/{action_id:int}/{change}")
def change_action(
    request: Request,
    action_id: int,
    change: str,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> Response:
    community_id = _community(principal, Role.operator)
    if change == "retry":
        outbox.retry(session, community_id, action_id, wake=outbox.waker(ctx))
    elif change == "cancel":
        outbox.cancel(session, community_id, action_id)
    elif change == "done":
        outbox.mark_done(session, community_id, action_id, principal.user_id)
    else:
        raise DomainError("not_found", status=404)
    return _after_change(request, session, ctx, principal, community_id, action_id)
