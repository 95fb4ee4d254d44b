"""Pages under ``/entry``: the join request queue, invite codes, and newcomers who have
yet to accept the rules. Viewers read; operators approve, reject, create, revoke and
mark accepted. Every change posts a form and comes back with a one-line notice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community import groups as group_service
from qunyun.entry import acceptance, invites, requests
from qunyun.entry.env import EntryEnv
from qunyun.entry.present import invite_url
from qunyun.errors import DomainError
from qunyun.i18n import error_text, gettext
from qunyun.web.context import AppContext
from qunyun.web.render import language_of, render
from qunyun.web.schemas import MAX_ROW_ID

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

PAGE_SIZE = 50
_NOTICE = "entry_notice"
PageNo = Annotated[int, Query(ge=1, le=100_000)]


def _notice(request: Request, text: str, kind: str = "success") -> None:
    request.session[_NOTICE] = {"text": text, "kind": kind}


def _take_notice(request: Request) -> dict[str, str] | None:
    notice = request.session.pop(_NOTICE, None)
    return notice if isinstance(notice, dict) else None


def _back(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


def _attempt(request: Request, session: Session, action: Callable[[], Any], ok: str) -> bool:
    """Run ``action``; a refusal the user can act on becomes the page's notice."""
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


def _local(ctx: AppContext) -> Callable[[datetime | None], str]:
    zone = ZoneInfo(ctx.settings.timezone)

    def fmt(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return fmt


def _page(
    request: Request, ctx: AppContext, template: str, principal: Principal, **context: Any
) -> Response:
    community_id = principal.default_community()
    principal.require(community_id, Role.viewer)
    return render(
        request,
        template,
        notice=_take_notice(request),
        can_write=principal.can(community_id, Role.operator),
        local=_local(ctx),
        **context,
    )


@router.get("/entry")
def entry_home(principal: CurrentPrincipal) -> Response:
    return _back("/entry/requests")


# --- join requests ----------------------------------------------------------------------


@router.get("/entry/requests")
def requests_page(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    status: Annotated[str, Query(max_length=16)] = "pending",
    page: PageNo = 1,
) -> Response:
    shown = status if status in (*requests.STATUSES, "all") else "pending"
    found = requests.list_requests(
        session,
        principal,
        principal.default_community(),
        status=None if shown == "all" else shown,
        page=page,
        per_page=PAGE_SIZE,
    )
    return _page(
        request,
        ctx,
        "entry/requests.html",
        principal,
        tab="requests",
        rows=found,
        status=shown,
        statuses=(*requests.STATUSES, "all"),
    )


@router.post("/entry/requests/{request_id:int}/approve")
def approve(
    request: Request, request_id: int, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    _attempt(
        request,
        session,
        lambda: requests.approve_request(
            session, EntryEnv.of(ctx), principal, principal.default_community(), request_id
        ),
        "entry.request.approved",
    )
    return _back("/entry/requests")


@router.post("/entry/requests/{request_id:int}/reject")
def reject(
    request: Request,
    request_id: int,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    reason: Annotated[str, Form(max_length=requests.MAX_REASON)] = "",
) -> Response:
    _attempt(
        request,
        session,
        lambda: requests.reject_request(
            session, EntryEnv.of(ctx), principal, principal.default_community(), request_id, reason
        ),
        "entry.request.rejected",
    )
    return _back("/entry/requests")


# --- invite codes -----------------------------------------------------------------------


@router.get("/entry/invites")
def invites_page(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    state: Annotated[str, Query(max_length=16)] = "all",
    page: PageNo = 1,
) -> Response:
    community_id = principal.default_community()
    shown = state if state in (*invites.STATES, "all") else "all"
    found = invites.list_invites(
        session,
        principal,
        community_id,
        state=None if shown == "all" else shown,
        page=page,
        per_page=PAGE_SIZE,
    )
    slug = invites.community_slug(session, community_id)
    return _page(
        request,
        ctx,
        "entry/invites.html",
        principal,
        tab="invites",
        rows=found,
        state=shown,
        states=(*invites.STATES, "all"),
        groups=group_service.list_groups(session, principal, community_id, include_archived=False),
        url_of=lambda code: invite_url(ctx.settings.base_url, slug, code),
    )


def _optional_int(value: str, field: str, low: int, high: int) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise DomainError("invite.bad_number", field=field)
    return int(text)


@router.post("/entry/invites")
def create_invite(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    code: Annotated[str, Form(max_length=64)] = "",
    group_id: Annotated[str, Form(max_length=20)] = "",
    quota: Annotated[str, Form(max_length=20)] = "",
    expires: Annotated[str, Form(max_length=32)] = "",
    label: Annotated[str, Form(max_length=invites.MAX_LABEL)] = "",
    inviter_member_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    community_id = principal.default_community()

    def act() -> None:
        invites.create_invite(
            session,
            principal,
            community_id,
            code=code,
            group_id=_optional_int(group_id, "group_id", 1, MAX_ROW_ID),
            quota=_optional_int(quota, "quota", 1, invites.MAX_QUOTA),
            expires_at=invites.parse_expiry(expires, ctx.settings.timezone),
            label=label,
            inviter_member_id=_optional_int(inviter_member_id, "inviter_member_id", 1, MAX_ROW_ID),
        )

    _attempt(request, session, act, "entry.invite.created")
    return _back("/entry/invites")


@router.post("/entry/invites/{invite_id:int}/revoke")
def revoke_invite(
    request: Request, invite_id: int, session: DbSession, principal: CurrentPrincipal
) -> Response:
    _attempt(
        request,
        session,
        lambda: invites.revoke_invite(session, principal, principal.default_community(), invite_id),
        "entry.invite.revoked",
    )
    return _back("/entry/invites")


# --- rule acceptances -------------------------------------------------------------------


@router.get("/entry/acceptances")
def acceptances_page(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    status: Annotated[str, Query(max_length=16)] = "pending",
    page: PageNo = 1,
) -> Response:
    shown = status if status in (*acceptance.STATUSES, "all") else "pending"
    found = acceptance.list_acceptances(
        session,
        principal,
        principal.default_community(),
        status=None if shown == "all" else shown,
        page=page,
        per_page=PAGE_SIZE,
    )
    return _page(
        request,
        ctx,
        "entry/acceptances.html",
        principal,
        tab="acceptances",
        rows=found,
        status=shown,
        statuses=(*acceptance.STATUSES, "all"),
    )


@router.post("/entry/acceptances/{acceptance_id:int}/accept")
def mark_accepted(
    request: Request,
    acceptance_id: int,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> Response:
    _attempt(
        request,
        session,
        lambda: acceptance.mark_accepted(
            session, EntryEnv.of(ctx), principal, principal.default_community(), acceptance_id
        ),
        "entry.acceptance.marked",
    )
    return _back("/entry/acceptances")
