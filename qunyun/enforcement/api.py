"""The JSON API: ``/api/v1/cases`` and ``/api/v1/reports`` in the active community.

Viewers read cases and the review queue; operators export, act on members and handle
reports.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.web.language import request_language
from qunyun.web.schemas import MAX_ROW_ID, RowId, error_responses

from . import manual, queries, reports
from .env import EnforcementEnv
from .present import case_detail_out, case_out, report_out
from .queries import CaseQuery
from .schemas import (
    ApplyRuleIn,
    CaseDetailOut,
    CasePageOut,
    DismissIn,
    ManualActionIn,
    ReportOut,
    ReportPageOut,
)

router = APIRouter(prefix="/api/v1", dependencies=[Depends(csrf_protect)])
TAGS: list[str | Enum] = ["cases"]
REPORT_TAGS: list[str | Enum] = ["reports"]
OptId = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]


def case_query(
    group_id: OptId = None,
    member_id: OptId = None,
    rule: Annotated[
        str | None,
        Query(max_length=80, description='a rule id, or "category:" for every category'),
    ] = None,
    status: Annotated[Literal["applied", "dry_run", "exempt", "overturned"] | None, Query()] = None,
    source: Annotated[Literal["auto", "report", "operator"] | None, Query()] = None,
    since: Annotated[date | None, Query(description="first day (community time zone)")] = None,
    until: Annotated[date | None, Query(description="last day, included")] = None,
    page: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=queries.MAX_PER_PAGE)] = 50,
) -> CaseQuery:
    return CaseQuery(group_id, member_id, rule, status, source, since, until, page, per_page)


Filters = Annotated[CaseQuery, Depends(case_query)]


@router.get(
    "/cases",
    tags=TAGS,
    response_model=CasePageOut,
    responses=error_responses(400, 401, 403),
    summary="Cases: every decision, newest first, filtered and paginated",
)
def list_cases(
    query: Filters, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> CasePageOut:
    page = queries.list_cases(session, principal, principal.default_community(), query)
    env = EnforcementEnv.of(ctx)
    return CasePageOut(
        items=[case_out(row, env) for row in page.items],
        total=page.total,
        page=page.page,
        per_page=page.per_page,
    )


@router.get(
    "/cases/export.csv",
    tags=TAGS,
    responses={
        **error_responses(400, 401, 403),
        200: {"content": {"text/csv": {}}, "description": "the matching cases as CSV"},
    },
    summary="The cases (same filters, no paging) as CSV (operators)",
    response_class=Response,
)
def export_cases(
    request: Request, query: Filters, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    lang = request_language(request, ctx.settings.language)
    text = "".join(
        queries.export_csv(session, principal, principal.default_community(), query, lang)
    )
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="cases.csv"'},
    )


@router.get(
    "/cases/{case_id}",
    tags=TAGS,
    response_model=CaseDetailOut,
    responses=error_responses(401, 403, 404),
    summary="One case: evidence, ladder step, actions and their outbox status, appeals",
)
def get_case(
    case_id: RowId, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> CaseDetailOut:
    detail = queries.case_detail(session, principal, principal.default_community(), case_id)
    return case_detail_out(detail, EnforcementEnv.of(ctx))


@router.post(
    "/cases",
    tags=TAGS,
    status_code=201,
    response_model=CaseDetailOut,
    responses=error_responses(400, 401, 403, 404),
    summary="Act on a member by hand (operators): warn, mute, remove or ban, with a reason",
)
def act_on_member(
    body: ManualActionIn, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> CaseDetailOut:
    community_id = principal.default_community()
    env = EnforcementEnv.of(ctx)
    case = manual.act_on_member(
        session,
        principal,
        env,
        community_id,
        member_id=body.member_id,
        group_id=body.group_id,
        action=body.action,
        seconds=body.seconds,
        reason=body.reason,
    )
    session.flush()
    detail = queries.case_detail(session, principal, community_id, case.id)
    return case_detail_out(detail, env)


# --- the review queue -------------------------------------------------------------------


@router.get(
    "/reports",
    tags=REPORT_TAGS,
    response_model=ReportPageOut,
    responses=error_responses(400, 401, 403),
    summary="Member reports: the review queue (open ones by default)",
)
def list_reports(
    session: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[Literal["open", "actioned", "dismissed", "all"], Query()] = "open",
    page: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=reports.MAX_PER_PAGE)] = 50,
) -> ReportPageOut:
    found = reports.list_reports(
        session,
        principal,
        principal.default_community(),
        status=status,
        page=page,
        per_page=per_page,
    )
    return ReportPageOut(
        items=[report_out(r) for r in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
    )


def _report(session: DbSession, principal: CurrentPrincipal, report_id: int) -> ReportOut:
    session.flush()
    return report_out(
        reports.report_row(session, principal, principal.default_community(), report_id)
    )


@router.post(
    "/reports/{report_id}/dismiss",
    tags=REPORT_TAGS,
    response_model=ReportOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Dismiss a report (operators); closes every open report of that message",
)
def dismiss_report(
    report_id: RowId, body: DismissIn, session: DbSession, principal: CurrentPrincipal
) -> ReportOut:
    reports.dismiss(session, principal, principal.default_community(), report_id, body.note)
    return _report(session, principal, report_id)


@router.post(
    "/reports/{report_id}/delete",
    tags=REPORT_TAGS,
    response_model=ReportOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Delete the reported message only, without a case (operators)",
)
def delete_reported(
    report_id: RowId, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> ReportOut:
    reports.delete_only(
        session, principal, EnforcementEnv.of(ctx), principal.default_community(), report_id
    )
    return _report(session, principal, report_id)


@router.post(
    "/reports/{report_id}/apply",
    tags=REPORT_TAGS,
    response_model=ReportOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Judge the reported message under a rule: a case that steps the ladder (operators)",
)
def apply_rule(
    report_id: RowId,
    body: ApplyRuleIn,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> ReportOut:
    reports.apply_rule(
        session,
        principal,
        EnforcementEnv.of(ctx),
        principal.default_community(),
        report_id,
        body.rule,
    )
    return _report(session, principal, report_id)
