"""The JSON API under ``/api/v1/entry``: join requests, invite codes, rule acceptances
of the active community. Viewers read; operators act."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.entry import acceptance, invites, requests
from qunyun.entry.env import EntryEnv
from qunyun.entry.models import InviteCode
from qunyun.entry.present import acceptance_out, invite_out, request_out
from qunyun.entry.schemas import (
    AcceptanceOut,
    AcceptancePageOut,
    InviteCreateIn,
    InviteOut,
    InvitePageOut,
    JoinRequestOut,
    JoinRequestPageOut,
    RejectIn,
)
from qunyun.web.context import AppContext
from qunyun.web.schemas import MAX_ROW_ID, RowId, error_responses

router = APIRouter(prefix="/api/v1/entry", dependencies=[Depends(csrf_protect)])
TAGS: list[str | Enum] = ["entry"]
PageNo = Annotated[int, Query(ge=1, le=100_000)]
PerPage = Annotated[int, Query(ge=1, le=requests.MAX_PER_PAGE)]
OptGroup = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]


# --- join requests ----------------------------------------------------------------------


def _invite_out(
    session: Session, ctx: AppContext, community_id: int, invite: InviteCode
) -> InviteOut:
    return invite_out(
        invites.invite_row(session, invite),
        ctx.settings.base_url,
        invites.community_slug(session, community_id),
    )


@router.get(
    "/requests",
    tags=TAGS,
    response_model=JoinRequestPageOut,
    responses=error_responses(400, 401, 403),
    summary="Join requests, newest first (default: the queue of pending ones)",
)
def list_requests(
    session: DbSession,
    principal: CurrentPrincipal,
    status: Literal["pending", "approved", "rejected", "all"] = "pending",
    group_id: OptGroup = None,
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> JoinRequestPageOut:
    found = requests.list_requests(
        session,
        principal,
        principal.default_community(),
        status=None if status == "all" else status,
        group_id=group_id,
        page=page,
        per_page=per_page,
    )
    return JoinRequestPageOut(
        items=[request_out(r) for r in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
    )


@router.get(
    "/requests/{request_id}",
    tags=TAGS,
    response_model=JoinRequestOut,
    responses=error_responses(401, 403, 404),
    summary="One join request and what became of it",
)
def get_request(
    request_id: RowId, session: DbSession, principal: CurrentPrincipal
) -> JoinRequestOut:
    found = requests.get_request(session, principal, principal.default_community(), request_id)
    return request_out(requests.request_row(session, found))


@router.post(
    "/requests/{request_id}/approve",
    tags=TAGS,
    response_model=JoinRequestOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Approve a pending request (answered through the platform)",
)
def approve_request(
    request_id: RowId, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> JoinRequestOut:
    found = requests.approve_request(
        session, EntryEnv.of(ctx), principal, principal.default_community(), request_id
    )
    return request_out(requests.request_row(session, found))


@router.post(
    "/requests/{request_id}/reject",
    tags=TAGS,
    response_model=JoinRequestOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Reject a pending request, with the reason the applicant reads",
)
def reject_request(
    request_id: RowId,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    body: RejectIn | None = None,
) -> JoinRequestOut:
    found = requests.reject_request(
        session,
        EntryEnv.of(ctx),
        principal,
        principal.default_community(),
        request_id,
        body.reason if body is not None else None,
    )
    return request_out(requests.request_row(session, found))


# --- invite codes -----------------------------------------------------------------------


@router.get(
    "/invites",
    tags=TAGS,
    response_model=InvitePageOut,
    responses=error_responses(400, 401, 403),
    summary="Invite codes, newest first, with their uses",
)
def list_invites(
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    state: Literal["live", "expired", "revoked", "used_up", "all"] = "all",
    group_id: OptGroup = None,
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> InvitePageOut:
    community_id = principal.default_community()
    found = invites.list_invites(
        session,
        principal,
        community_id,
        state=None if state == "all" else state,
        group_id=group_id,
        page=page,
        per_page=per_page,
    )
    slug = invites.community_slug(session, community_id)
    return InvitePageOut(
        items=[invite_out(r, ctx.settings.base_url, slug) for r in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
    )


@router.post(
    "/invites",
    tags=TAGS,
    status_code=201,
    response_model=InviteOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Create an invite code (random unless given), for one group or any",
)
def create_invite(
    body: InviteCreateIn, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> InviteOut:
    community_id = principal.default_community()
    created = invites.create_invite(
        session,
        principal,
        community_id,
        code=body.code,
        group_id=body.group_id,
        quota=body.quota,
        expires_at=body.expires_at,
        label=body.label,
        inviter_member_id=body.inviter_member_id,
    )
    return _invite_out(session, ctx, community_id, created)


@router.get(
    "/invites/{invite_id}",
    tags=TAGS,
    response_model=InviteOut,
    responses=error_responses(401, 403, 404),
    summary="One invite code",
)
def get_invite(
    invite_id: RowId, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> InviteOut:
    community_id = principal.default_community()
    found = invites.get_invite(session, principal, community_id, invite_id)
    return _invite_out(session, ctx, community_id, found)


@router.post(
    "/invites/{invite_id}/revoke",
    tags=TAGS,
    response_model=InviteOut,
    responses=error_responses(401, 403, 404),
    summary="Revoke a code: it admits nobody from now on (its uses are kept)",
)
def revoke_invite(
    invite_id: RowId, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> InviteOut:
    community_id = principal.default_community()
    found = invites.revoke_invite(session, principal, community_id, invite_id)
    return _invite_out(session, ctx, community_id, found)


# --- rule acceptances -------------------------------------------------------------------


@router.get(
    "/acceptances",
    tags=TAGS,
    response_model=AcceptancePageOut,
    responses=error_responses(400, 401, 403),
    summary="Newcomers asked to accept the rules (default: those still pending)",
)
def list_acceptances(
    session: DbSession,
    principal: CurrentPrincipal,
    status: Literal["pending", "accepted", "all"] = "pending",
    group_id: OptGroup = None,
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> AcceptancePageOut:
    found = acceptance.list_acceptances(
        session,
        principal,
        principal.default_community(),
        status=None if status == "all" else status,
        group_id=group_id,
        page=page,
        per_page=per_page,
    )
    return AcceptancePageOut(
        items=[acceptance_out(r) for r in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
    )


@router.post(
    "/acceptances/{acceptance_id}/accept",
    tags=TAGS,
    response_model=AcceptanceOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Mark a newcomer's acceptance (lifts their mute)",
)
def mark_accepted(
    acceptance_id: RowId, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> AcceptanceOut:
    found = acceptance.mark_accepted(
        session, EntryEnv.of(ctx), principal, principal.default_community(), acceptance_id
    )
    return acceptance_out(acceptance.acceptance_row(session, found))
