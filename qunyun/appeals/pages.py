"""Pages for the team: the appeals queue, one appeal's review, and a case with the
form to open an appeal for the member. Viewers read; operators open appeals; admins
and owners decide them (see :mod:`qunyun.appeals.rules`)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.roles import Role
from qunyun.appeals import queue, review, service
from qunyun.appeals.present import case_view, local_time, self_reviewed
from qunyun.appeals.rules import UndoKind
from qunyun.community.models import Community
from qunyun.errors import DomainError
from qunyun.i18n import error_text, gettext
from qunyun.moderation.models import MemberWarning
from qunyun.platforms import outbox
from qunyun.web.render import language_of, render

router = APIRouter(prefix="/appeals", dependencies=[Depends(csrf_protect)], include_in_schema=False)
PER_PAGE = 25
NOTICE = "appeals_notice"


def _notice(request: Request, text: str, kind: str = "success") -> None:
    request.session[NOTICE] = {"text": text, "kind": kind}


def _take_notice(request: Request) -> dict[str, str] | None:
    notice = request.session.pop(NOTICE, None)
    return notice if isinstance(notice, dict) else None


def _zone(session: DbSession, community_id: int) -> str:
    community = session.get(Community, community_id)
    return community.timezone if community is not None else "Asia/Shanghai"


@router.get("")
def queue_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[str, Query(max_length=12)] = "",
    page: Annotated[int, Query(ge=1, le=queue.MAX_PAGE)] = 1,
) -> Response:
    community_id = principal.default_community()
    shown = status if status in queue.STATUSES else ""
    rows = queue.list_appeals(
        session, principal, community_id, status=shown or None, page=page, per_page=PER_PAGE
    )
    lang = language_of(request)
    zone = _zone(session, community_id)

    def url(**changes: Any) -> str:
        params = {"status": shown, "page": page, **changes}
        return "/appeals?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})

    return render(
        request,
        "appeals/queue.html",
        rows=rows,
        status=shown,
        statuses=queue.STATUSES,
        url=url,
        rule=lambda case: case.label.get(lang) or case.rule_id,
        local=lambda value: local_time(value, zone),
        self_reviewed=self_reviewed,
        notice=_take_notice(request),
    )


@router.get("/{appeal_id:int}")
def review_page(
    request: Request, appeal_id: int, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = principal.default_community()
    row = queue.appeal_row(session, principal, community_id, appeal_id)
    lang = language_of(request)
    right = review.right_of(session, principal, row.appeal, row.case)
    zone = _zone(session, community_id)
    return render(
        request,
        "appeals/review.html",
        row=row,
        case=case_view(session, row.case, lang),
        right=right,
        refusal=gettext(f"error.{right.refusal}", lang) if right.refusal else "",
        self_review=self_reviewed(row.appeal, row.case),
        link=service.appeal_url(ctx.settings.base_url, row.case.appeal_token)
        if row.case.appeal_token
        else "",
        local=lambda value: local_time(value, zone),
        notice=_take_notice(request),
    )


def _outcome_text(decided: review.Decided, lang: str) -> str:
    if decided.appeal.status == "upheld":
        text = gettext("appeals.decided.upheld", lang)
    else:
        done = [
            gettext(f"appeals.undo.{kind.value}", lang)
            for kind in dict.fromkeys(u.kind for u in decided.plan)
        ]
        if decided.warning_revoked:
            done.append(gettext("appeals.undo.warning", lang))
        if decided.lifted_bans:
            done.append(gettext("appeals.undo.ban_list", lang))
        joiner = "；" if lang == "zh-CN" else "; "
        text = gettext(
            "appeals.decided.overturned",
            lang,
            done=joiner.join(done) or gettext("appeals.undo.nothing", lang),
        )
    if decided.notice_action_id is None:
        text += " " + gettext("appeals.decided.unreachable", lang)
    return text


@router.post("/{appeal_id:int}/decide")
def decide(
    request: Request,
    appeal_id: int,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    outcome: Annotated[str, Form(max_length=12)] = "",
    note: Annotated[str, Form(max_length=4 * review.MAX_NOTE)] = "",
) -> Response:
    community_id = principal.default_community()
    lang = language_of(request)
    try:
        decided = review.decide(
            session,
            principal,
            community_id,
            appeal_id,
            outcome,
            note,
            wake=outbox.waker(ctx),
        )
    except DomainError as exc:
        if exc.status in (401, 404):
            raise
        session.rollback()
        _notice(request, error_text(exc, lang), "error")
    else:
        kind = "warn" if any(u.kind is UndoKind.not_restorable for u in decided.plan) else "success"
        _notice(request, _outcome_text(decided, lang), kind)
    return RedirectResponse(f"/appeals/{appeal_id}", status_code=303)


@router.get("/cases/{case_id:int}")
def case_page(
    request: Request, case_id: int, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = principal.default_community()
    principal.require(community_id, Role.viewer)
    case = service.get_case(session, community_id, case_id)
    lang = language_of(request)
    zone = _zone(session, community_id)
    warning = session.scalar(select(MemberWarning).where(MemberWarning.case_id == case.id))
    return render(
        request,
        "appeals/case.html",
        case=case_view(session, case, lang),
        row=case,
        warning=warning,
        appeals=service.appeals_of_case(session, case.id),
        can_open=principal.can(community_id, Role.operator),
        link=service.appeal_url(ctx.settings.base_url, case.appeal_token)
        if case.appeal_token
        else "",
        local=lambda value: local_time(value, zone),
        notice=_take_notice(request),
    )


@router.post("/cases/{case_id:int}")
def open_appeal(
    request: Request,
    case_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    statement: Annotated[str, Form(max_length=4 * service.MAX_STATEMENT)] = "",
) -> Response:
    community_id = principal.default_community()
    try:
        appeal = service.open_by_operator(session, principal, community_id, case_id, statement)
    except DomainError as exc:
        if exc.status in (401, 404):
            raise
        session.rollback()
        _notice(request, error_text(exc, language_of(request)), "error")
        return RedirectResponse(f"/appeals/cases/{case_id}", status_code=303)
    _notice(request, gettext("appeals.opened", language_of(request)))
    return RedirectResponse(f"/appeals/{appeal.id}", status_code=303)
