"""The JSON API: ``/api/v1/appeals`` in the active community.

Everyone with a role reads; operators open an appeal on a case; admins and owners
decide (never on a case they acted on or an appeal they opened, unless they are the
community's only admin/owner: see :mod:`qunyun.appeals.rules`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.appeals import queue, review, service
from qunyun.appeals.present import appeal_out
from qunyun.appeals.schemas import AppealIn, AppealOut, AppealPageOut, DecisionIn, DecisionOut
from qunyun.platforms import outbox
from qunyun.web.schemas import MAX_ROW_ID, error_responses

router = APIRouter(prefix="/api/v1/appeals", tags=["appeals"], dependencies=[Depends(csrf_protect)])
AppealId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the appeal's id")]


@router.get(
    "",
    response_model=AppealPageOut,
    responses=error_responses(401, 403),
    summary="The appeals queue: open ones first (oldest first), then decided ones",
)
def list_appeals(
    session: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[Literal["open", "upheld", "overturned"] | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=queue.MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=queue.MAX_PER_PAGE)] = 50,
) -> AppealPageOut:
    found = queue.list_appeals(
        session,
        principal,
        principal.default_community(),
        status=status,
        page=page,
        per_page=per_page,
    )
    return AppealPageOut(
        items=[appeal_out(r) for r in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
    )


@router.get(
    "/{appeal_id}",
    response_model=AppealOut,
    responses=error_responses(401, 403, 404),
    summary="One appeal with its case",
)
def get_appeal(appeal_id: AppealId, session: DbSession, principal: CurrentPrincipal) -> AppealOut:
    return appeal_out(
        queue.appeal_row(session, principal, principal.default_community(), appeal_id)
    )


@router.post(
    "",
    status_code=201,
    response_model=AppealOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Open an appeal on a case for the member (operators)",
)
def open_appeal(body: AppealIn, session: DbSession, principal: CurrentPrincipal) -> AppealOut:
    community_id = principal.default_community()
    appeal = service.open_by_operator(
        session, principal, community_id, body.case_id, body.statement
    )
    return appeal_out(queue.appeal_row(session, principal, community_id, appeal.id))


@router.post(
    "/{appeal_id}/decision",
    response_model=DecisionOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Uphold or overturn (admins, owners); overturning undoes the case",
)
def decide(
    appeal_id: AppealId,
    body: DecisionIn,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> DecisionOut:
    community_id = principal.default_community()
    decided = review.decide(
        session,
        principal,
        community_id,
        appeal_id,
        body.outcome,
        body.note,
        wake=outbox.waker(ctx),
    )
    return DecisionOut(
        appeal=appeal_out(queue.appeal_row(session, principal, community_id, appeal_id)),
        undo=[u.kind.value for u in decided.plan],
        queued_action_ids=decided.queued,
        cancelled_action_ids=decided.cancelled,
        lifted_ban_ids=decided.lifted_bans,
        warning_revoked=decided.warning_revoked,
        message_lost=decided.message_lost,
        notice_action_id=decided.notice_action_id,
    )
