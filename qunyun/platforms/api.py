"""The JSON API: ``/api/v1/connections`` (admins manage, everyone with a role reads,
secrets never listed) and ``/api/v1/actions`` (the outbox and the to-dos)."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Group
from qunyun.db.engine import after_commit
from qunyun.platforms import connections as service
from qunyun.platforms import outbox, registry
from qunyun.platforms.member_sync import sync_members
from qunyun.platforms.present import action_out, connection_out
from qunyun.platforms.schemas import (
    ActionIn,
    ActionOut,
    ActionPageOut,
    ConnectionIn,
    ConnectionOut,
    ConnectionUpdateIn,
    QueryIn,
    QueryOut,
    SecretOut,
    StatusName,
    SyncIn,
    SyncOut,
)
from qunyun.web.context import AppContext
from qunyun.web.render import language_of
from qunyun.web.schemas import MAX_ROW_ID, error_responses

router = APIRouter(prefix="/api/v1", dependencies=[Depends(csrf_protect)])

ConnectionId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the connection's id")]
ActionId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the action's id")]


def _community(principal: Principal, role: Role) -> int:
    community_id = principal.default_community()
    principal.require(community_id, role)
    return community_id


# --- connections -----------------------------------------------------------------------


@router.get(
    "/connections",
    tags=["connections"],
    response_model=list[ConnectionOut],
    responses=error_responses(401, 403),
    summary="The community's platform connections (inbound URLs for admins; no secrets)",
)
def list_connections(
    session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> list[ConnectionOut]:
    community_id = _community(principal, Role.viewer)
    admin = principal.can(community_id, Role.admin)
    return [
        connection_out(ctx.settings, c, show_urls=admin)
        for c in service.list_connections(session, community_id)
    ]


@router.post(
    "/connections",
    tags=["connections"],
    status_code=201,
    response_model=ConnectionOut,
    responses=error_responses(400, 401, 403),
    summary="Add a connection; the answer holds its signing secret, shown this once",
)
def create_connection(
    body: ConnectionIn, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> ConnectionOut:
    community_id = _community(principal, Role.admin)
    connection = service.create_connection(
        session,
        community_id,
        body.platform,
        body.name,
        inbound_secret=body.inbound_secret,
        access_token=body.access_token,
        api_url=body.api_url,
        allow_private=ctx.settings.allow_private_targets,
    )
    return connection_out(
        ctx.settings, connection, show_urls=True, secret=connection.inbound_secret
    )


@router.patch(
    "/connections/{connection_id}",
    tags=["connections"],
    response_model=ConnectionOut,
    responses=error_responses(400, 401, 403, 404),
    summary="Change a connection: name, access token, API address, enabled",
)
def update_connection(
    connection_id: ConnectionId,
    body: ConnectionUpdateIn,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> ConnectionOut:
    community_id = _community(principal, Role.admin)
    connection = service.update_connection(
        session,
        community_id,
        connection_id,
        body.to_fields(),
        allow_private=ctx.settings.allow_private_targets,
    )
    wake = outbox.waker(ctx)
    if connection.enabled and wake is not None:
        # Actions queued while it was disabled may go now.
        after_commit(session, wake)
    return connection_out(ctx.settings, connection, show_urls=True)


@router.post(
    "/connections/{connection_id}/rotate",
    tags=["connections"],
    response_model=SecretOut,
    responses=error_responses(400, 401, 403, 404),
    summary="Replace the signing secret; the new one is in the answer, shown this once",
)
def rotate_secret(
    connection_id: ConnectionId, session: DbSession, principal: CurrentPrincipal
) -> SecretOut:
    community_id = _community(principal, Role.admin)
    secret = service.rotate_secret(session, community_id, connection_id)
    return SecretOut(id=connection_id, inbound_secret=secret)


@router.delete(
    "/connections/{connection_id}",
    tags=["connections"],
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404),
    summary="Delete a connection; its unsent actions become to-dos",
)
def delete_connection(
    connection_id: ConnectionId, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> None:
    community_id = _community(principal, Role.admin)
    service.delete(session, community_id, connection_id)
    registry.forget(ctx, connection_id)


# --- actions ---------------------------------------------------------------------------


@router.get(
    "/actions",
    tags=["actions"],
    response_model=ActionPageOut,
    responses=error_responses(400, 401, 403),
    summary="The outbox and the to-dos, newest first, filtered and paginated",
)
def list_actions(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[list[StatusName] | None, Query(description="repeat for several")] = None,
    group_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ActionPageOut:
    community_id = _community(principal, Role.viewer)
    rows, total = outbox.list_actions(
        session,
        community_id,
        statuses=list(status) if status else None,
        group_id=group_id,
        kind=kind,
        limit=limit,
        offset=offset,
    )
    lang = language_of(request)
    return ActionPageOut(
        items=[action_out(session, row, lang) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/actions",
    tags=["actions"],
    status_code=201,
    response_model=ActionOut,
    responses=error_responses(400, 401, 403, 404),
    summary="Queue an action for a group (a to-do when the group is in manual mode)",
)
def create_action(
    request: Request, body: ActionIn, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> ActionOut:
    community_id = _community(principal, Role.operator)
    group = outbox.group_of(session, community_id, body.group_id)
    action = outbox.enqueue(
        session,
        community_id=community_id,
        group=group,
        kind=body.kind,
        params=body.params,
        reason=body.reason or f"user:{principal.user_id}",
        requested_by_id=principal.user_id or None,
        wake=outbox.waker(ctx),
    )
    row = outbox.get_action(session, community_id, action.id)
    return action_out(session, row, language_of(request))


@router.get(
    "/actions/{action_id}",
    tags=["actions"],
    response_model=ActionOut,
    responses=error_responses(401, 403, 404),
    summary="One action",
)
def get_action(
    request: Request, action_id: ActionId, session: DbSession, principal: CurrentPrincipal
) -> ActionOut:
    community_id = _community(principal, Role.viewer)
    row = outbox.get_action(session, community_id, action_id)
    return action_out(session, row, language_of(request))


def _changed(request: Request, session: DbSession, community_id: int, action_id: int) -> ActionOut:
    row = outbox.get_action(session, community_id, action_id)
    return action_out(session, row, language_of(request))


@router.post(
    "/actions/{action_id}/retry",
    tags=["actions"],
    response_model=ActionOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Try a failed or cancelled action again",
)
def retry_action(
    request: Request,
    action_id: ActionId,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> ActionOut:
    community_id = _community(principal, Role.operator)
    outbox.retry(session, community_id, action_id, wake=outbox.waker(ctx))
    return _changed(request, session, community_id, action_id)


@router.post(
    "/actions/{action_id}/cancel",
    tags=["actions"],
    response_model=ActionOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Give up on an action not yet done",
)
def cancel_action(
    request: Request, action_id: ActionId, session: DbSession, principal: CurrentPrincipal
) -> ActionOut:
    community_id = _community(principal, Role.operator)
    outbox.cancel(session, community_id, action_id)
    return _changed(request, session, community_id, action_id)


@router.post(
    "/actions/{action_id}/done",
    tags=["actions"],
    response_model=ActionOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Mark a to-do (or a failed action) as done by hand",
)
def mark_done(
    request: Request, action_id: ActionId, session: DbSession, principal: CurrentPrincipal
) -> ActionOut:
    community_id = _community(principal, Role.operator)
    outbox.mark_done(session, community_id, action_id, principal.user_id)
    return _changed(request, session, community_id, action_id)


@router.post(
    "/actions/query",
    tags=["actions"],
    response_model=QueryOut,
    responses=error_responses(400, 401, 403, 404),
    summary="Ask the platform now: group info, member list, member info (not queued)",
)
async def query(body: QueryIn, ctx: Ctx, principal: CurrentPrincipal) -> QueryOut:
    community_id = _community(principal, Role.operator)
    group = await anyio.to_thread.run_sync(_load_group, ctx, community_id, body.group_id)
    result = await outbox.perform_now(ctx, group, body.kind, body.params)
    return QueryOut(ok=result.ok, data=result.data, error=result.error)


@router.post(
    "/actions/sync-members",
    tags=["actions"],
    response_model=SyncOut,
    responses=error_responses(400, 401, 403, 404),
    summary="Fetch a group's member list from the platform and update nicknames and roles",
)
async def sync(body: SyncIn, ctx: Ctx, principal: CurrentPrincipal) -> SyncOut:
    community_id = _community(principal, Role.operator)
    group = await anyio.to_thread.run_sync(_load_group, ctx, community_id, body.group_id)
    result = await sync_members(ctx, group)
    return SyncOut(listed=result.listed, added=result.added, updated=result.updated)


def _load_group(ctx: AppContext, community_id: int, group_id: int) -> Group:
    with ctx.db.session(write=False) as session:
        group = outbox.group_of(session, community_id, group_id)
        session.expunge(group)
        return group
