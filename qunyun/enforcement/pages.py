"""Pages: the case list and one case, the review queue of member reports, and a
member's moderation record with the operator's action form. Viewers read; operators
act (every form posts with its CSRF token and comes back with a one-line notice)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Community, Group, GroupMembership, Member
from qunyun.errors import DomainError, NotFound
from qunyun.i18n import error_text, gettext
from qunyun.moderation.books import effective_book
from qunyun.moderation.models import MemberWarning
from qunyun.web.render import language_of, render

from . import manual, queries, reports
from .decisions import MANUAL_STEPS, rule_choices
from .env import EnforcementEnv
from .notices import step_text
from .queries import CaseQuery

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
NOTICE_KEY = "enforcement_notice"


# --- helpers -------------------------------------------------------------------------


def _notice(request: Request, text: str, kind: str = "success") -> None:
    request.session[NOTICE_KEY] = {"text": text, "kind": kind}


def _take_notice(request: Request) -> dict[str, str] | None:
    notice = request.session.pop(NOTICE_KEY, None)
    return notice if isinstance(notice, dict) else None


def _back(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


def _attempt(request: Request, session: DbSession, action: Callable[[], Any], ok: str) -> bool:
    try:
        action()
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        session.rollback()
        _notice(request, error_text(exc, language_of(request)), "error")
        return False
    _notice(request, gettext(ok, language_of(request)))
    return True


def _local(session: DbSession, community_id: int) -> Callable[[datetime | None], str]:
    community = session.get(Community, community_id)
    try:
        zone = ZoneInfo(community.timezone if community is not None else "Asia/Shanghai")
    except (KeyError, ValueError):
        zone = ZoneInfo("Asia/Shanghai")

    def fmt(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return fmt


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 18 else None


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError("enforcement.bad_date") from None


def _step(lang: str) -> Callable[[str | None, int], str]:
    def text(action: str | None, seconds: int) -> str:
        return step_text(action, seconds, lang) if action else "—"

    return text


def _page(request: Request, template: str, principal: Principal, **context: Any) -> Response:
    community_id = principal.default_community()
    lang = language_of(request)
    return render(
        request,
        template,
        notice=_take_notice(request),
        can_write=principal.can(community_id, Role.operator),
        step=_step(lang),
        label=lambda texts: (texts or {}).get(lang) or (texts or {}).get("zh-CN") or "",
        **context,
    )


def _groups(session: DbSession, community_id: int) -> list[Group]:
    return list(
        session.scalars(
            select(Group).where(Group.community_id == community_id).order_by(Group.name)
        )
    )


# --- cases ---------------------------------------------------------------------------


def _case_query(request: Request) -> CaseQuery:
    p = request.query_params
    return CaseQuery(
        group_id=_int(p.get("group")),
        member_id=_int(p.get("member")),
        rule=(p.get("rule") or None) and p.get("rule", "")[:80],
        status=p.get("status") or None,
        source=p.get("source") or None,
        since=_date(p.get("since")),
        until=_date(p.get("until")),
        page=min(_int(p.get("page")) or 1, queries.MAX_PAGE),
        per_page=min(_int(p.get("per_page")) or 50, queries.MAX_PER_PAGE),
    )


@router.get("/cases")
def cases_page(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    community_id = principal.default_community()
    error = None
    try:
        query = _case_query(request)
        page = queries.list_cases(session, principal, community_id, query)
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        error = error_text(exc, language_of(request))
        query = CaseQuery()
        page = queries.list_cases(session, principal, community_id, query)
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}

    def url(**changes: Any) -> str:
        return "/cases?" + urlencode({**params, **{k: str(v) for k, v in changes.items()}})

    return _page(
        request,
        "enforcement/cases.html",
        principal,
        page=page,
        query=query,
        params=params,
        error=error,
        url=url,
        export_url="/api/v1/cases/export.csv?" + urlencode(params),
        groups=_groups(session, community_id),
        rules=queries.rule_ids(session, community_id),
        statuses=queries.STATUSES,
        sources=queries.SOURCES,
        local=_local(session, community_id),
    )


@router.get("/cases/{case_id:int}")
def case_page(
    request: Request, case_id: int, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = principal.default_community()
    detail = queries.case_detail(session, principal, community_id, case_id)
    token = detail.case.appeal_token
    return _page(
        request,
        "enforcement/case.html",
        principal,
        d=detail,
        c=detail.case,
        appeal_link=EnforcementEnv.of(ctx).appeal_url(token) if token else "",
        local=_local(session, community_id),
    )


# --- the review queue -----------------------------------------------------------------


@router.get("/reports")
def reports_page(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    community_id = principal.default_community()
    status = request.query_params.get("status") or "open"
    if status not in (*reports.STATUSES, "all"):
        status = "open"
    page = reports.list_reports(
        session,
        principal,
        community_id,
        status=status,
        page=_int(request.query_params.get("page")) or 1,
    )
    lang = language_of(request)
    choices: dict[int, list[tuple[str, str]]] = {}
    for row in page.items:
        group_id = row.report.group_id
        if group_id not in choices:
            choices[group_id] = rule_choices(
                effective_book(session, community_id, group_id).book, lang
            )
    return _page(
        request,
        "enforcement/reports.html",
        principal,
        page=page,
        status=status,
        statuses=(*reports.STATUSES, "all"),
        rule_options=choices,
        local=_local(session, community_id),
    )


@router.post("/reports/{report_id:int}/dismiss")
def dismiss_report(
    request: Request,
    report_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    community_id = principal.default_community()
    _attempt(
        request,
        session,
        lambda: reports.dismiss(session, principal, community_id, report_id, note),
        "enforcement.report.dismissed",
    )
    return _back("/reports")


@router.post("/reports/{report_id:int}/delete")
def delete_reported(
    request: Request, report_id: int, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = principal.default_community()
    env = EnforcementEnv.of(ctx)
    _attempt(
        request,
        session,
        lambda: reports.delete_only(session, principal, env, community_id, report_id),
        "enforcement.report.deleted",
    )
    return _back("/reports")


@router.post("/reports/{report_id:int}/apply")
def apply_rule(
    request: Request,
    report_id: int,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    rule: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    community_id = principal.default_community()
    env = EnforcementEnv.of(ctx)
    made: list[int] = []

    def act() -> None:
        made.append(reports.apply_rule(session, principal, env, community_id, report_id, rule).id)

    if _attempt(request, session, act, "enforcement.report.actioned"):
        return _back(f"/cases/{made[0]}")
    return _back("/reports")


# --- a member's record and the operator's action ------------------------------------------


@router.get("/moderation/members/{member_id:int}")
def member_page(
    request: Request, member_id: int, session: DbSession, principal: CurrentPrincipal
) -> Response:
    community_id = principal.default_community()
    principal.require(community_id, Role.viewer)
    member = session.get(Member, member_id) if member_id < 2**63 else None
    if member is None or member.community_id != community_id:
        raise NotFound("enforcement.member_not_found", id=member_id)
    page = queries.list_cases(
        session,
        principal,
        community_id,
        CaseQuery(member_id=member_id, page=_int(request.query_params.get("page")) or 1),
    )
    groups = list(
        session.scalars(
            select(Group)
            .join(GroupMembership, GroupMembership.group_id == Group.id)
            .where(GroupMembership.member_id == member_id)
            .order_by(Group.name)
        )
    )
    active = list(
        session.scalars(
            select(MemberWarning)
            .where(
                MemberWarning.member_id == member_id,
                MemberWarning.revoked_at.is_(None),
                MemberWarning.expires_at > datetime.now(ZoneInfo("UTC")),
            )
            .order_by(MemberWarning.given_at.desc())
        )
    )
    return _page(
        request,
        "enforcement/member.html",
        principal,
        member=member,
        page=page,
        groups=groups,
        warnings=active,
        weight=sum(w.weight for w in active),
        steps=MANUAL_STEPS,
        local=_local(session, community_id),
    )


@router.post("/moderation/members/{member_id:int}/act")
def act_on_member(
    request: Request,
    member_id: int,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    group: Annotated[int, Form(ge=1, le=2**63 - 1)],
    action: Annotated[str, Form(max_length=16)] = "warn",
    minutes: Annotated[int, Form(ge=0, le=30 * 24 * 60)] = 0,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    community_id = principal.default_community()
    env = EnforcementEnv.of(ctx)
    made: list[int] = []

    def act() -> None:
        case = manual.act_on_member(
            session,
            principal,
            env,
            community_id,
            member_id=member_id,
            group_id=group,
            action=action,
            seconds=minutes * 60,
            reason=reason,
        )
        made.append(case.id)

    if _attempt(request, session, act, "enforcement.member.acted"):
        return _back(f"/cases/{made[0]}")
    return _back(f"/moderation/members/{member_id}")
