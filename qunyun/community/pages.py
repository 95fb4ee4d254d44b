"""Pages: communities and their settings, the group tree, the member directory and
profiles. Every change posts a form and comes back with a one-line notice."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form
from pydantic import BaseModel
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community import groups as group_service
from qunyun.community import identities, members, tiers
from qunyun.community import service as community_service
from qunyun.community.defaults import GROUP_ROLES, MEMBER_SOURCES, MEMBERSHIP_STATUSES
from qunyun.community.members import SORTS, DirectoryQuery
from qunyun.community.models import Community
from qunyun.community.runtime import identities_changed
from qunyun.community.tree import flatten
from qunyun.errors import DomainError
from qunyun.i18n import error_text, gettext
from qunyun.web.context import get_ctx
from qunyun.web.render import environment, language_of, render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
ROLES = ("viewer", "operator", "admin", "owner")


def community_choices(request: Request) -> list[tuple[int, str]]:
    """The header's community switcher: the communities the signed-in user may open."""
    principal = request.scope.get("qunyun.principal")
    if not isinstance(principal, Principal) or len(principal.roles) < 2:
        return []
    with get_ctx(request).db.session(write=False) as session:
        rows = session.execute(
            select(Community.id, Community.name)
            .where(Community.id.in_(list(principal.roles)))
            .order_by(Community.id)
        ).all()
    return [(cid, name) for cid, name in rows]


environment().globals["community_choices"] = community_choices


# --- helpers -------------------------------------------------------------------------


def _notice(request: Request, text: str, kind: str = "success") -> None:
    request.session["community_notice"] = {"text": text, "kind": kind}


def _take_notice(request: Request) -> dict[str, str] | None:
    notice = request.session.pop("community_notice", None)
    return notice if isinstance(notice, dict) else None


def _back(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


def _attempt(request: Request, session: DbSession, action: Callable[[], Any], ok: str) -> bool:
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


def _local(zone: str) -> Callable[[datetime | None], str]:
    tz = ZoneInfo(zone)

    def fmt(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    return fmt


def _page(request: Request, template: str, principal: Principal, **context: Any) -> Response:
    community_id = principal.default_community()
    return render(
        request,
        template,
        notice=_take_notice(request),
        can_write=principal.can(community_id, Role.operator),
        can_admin=principal.can(community_id, Role.admin),
        **context,
    )


def _split_list(text: str) -> list[str]:
    return [p.strip() for p in text.replace("，", ",").replace("\n", ",").split(",") if p.strip()]


# --- communities ---------------------------------------------------------------------


@router.get("/communities")
def communities_page(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    rows = community_service.list_communities(session, principal)
    return _page(
        request,
        "community/communities.html",
        principal,
        communities=rows,
        role_of=principal.role_in,
        active=principal.default_community() if principal.roles else None,
        can_create=Role.owner in principal.roles.values(),
    )


@router.post("/communities")
def create_community(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    slug: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    created: list[Community] = []

    def act() -> None:
        created.append(community_service.create_community(session, principal, slug=slug, name=name))

    if _attempt(request, session, act, "community.created"):
        request.session["community"] = created[0].id
        return _back(f"/communities/{created[0].id}/settings")
    return _back("/communities")


@router.post("/communities/switch")
def switch_community(
    request: Request,
    principal: CurrentPrincipal,
    community: Annotated[int, Form()],
    next: Annotated[str, Form(max_length=2000)] = "/links",
) -> Response:
    if community not in principal.roles:
        raise DomainError("community.not_found", status=404)
    request.session["community"] = community
    # Only the first path segment: the page of one community's id makes no sense in another.
    segment = next.split("?", 1)[0].strip("/").split("/", 1)[0]
    safe = f"/{segment}" if segment.replace("-", "").replace("_", "").isalnum() else "/links"
    return _back(safe)


class SettingsForm(BaseModel):
    name: str = ""
    description: str = ""
    timezone: str = "Asia/Shanghai"
    group_kinds: str = ""
    tiers: str = ""


@router.get("/communities/{community_id:int}/settings")
def settings_page(
    request: Request, community_id: int, session: DbSession, principal: CurrentPrincipal
) -> Response:
    community = community_service.get_community(session, principal, community_id)
    principal.require(community_id, Role.admin)
    return render(
        request,
        "community/settings.html",
        notice=_take_notice(request),
        community=community,
        kinds=", ".join(community_service.group_kinds(community)),
        tier_spec=tiers.format_spec(community_service.tier_scheme(community)),
        holders=community_service.list_roles(session, principal, community_id),
        roles=ROLES,
        is_owner=principal.can(community_id, Role.owner),
    )


@router.post("/communities/{community_id:int}/settings")
def save_settings(
    request: Request,
    community_id: int,
    form: Annotated[SettingsForm, Form()],
    session: DbSession,
    principal: CurrentPrincipal,
) -> Response:
    def act() -> None:
        bands, cap = tiers.parse_spec(form.tiers)
        community_service.update_community(
            session,
            principal,
            community_id,
            {
                "name": form.name,
                "description": form.description,
                "timezone": form.timezone,
                "group_kinds": _split_list(form.group_kinds),
                "tier_bands": [{"name": b.name, "upto": b.upto} for b in bands],
                "tier_cap": cap,
            },
        )

    _attempt(request, session, act, "community.saved")
    return _back(f"/communities/{community_id}/settings")


@router.post("/communities/{community_id:int}/roles")
def grant(
    request: Request,
    community_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    user: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=16)] = "viewer",
    revoke: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    def act() -> None:
        if revoke:
            community_service.revoke_role(session, principal, community_id, user)
        elif role in ROLES:
            community_service.grant_role(session, principal, community_id, user, Role(role))

    _attempt(request, session, act, "community.roles_saved")
    return _back(f"/communities/{community_id}/settings")


# --- groups --------------------------------------------------------------------------


@router.get("/groups")
def groups_page(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    community_id = principal.default_community()
    roots = group_service.group_tree(session, principal, community_id)
    return _page(
        request,
        "community/groups.html",
        principal,
        nodes=flatten(roots),
        use=group_service.capacity_use,
    )


class GroupForm(BaseModel):
    name: str = ""
    platform: str = "manual"
    platform_group_id: str = ""
    kind: str = ""
    standing: str = ""
    ends_on: str = ""
    capacity: str = "500"
    parent_id: str = ""
    introduction: str = ""
    announcement: str = ""
    timezone: str = ""

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = self.model_dump()
        out["standing"] = self.standing != "temporary"
        out["parent_id"] = self.parent_id or None
        if not self.kind:
            out.pop("kind")
        return out


def _group_form_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    form: GroupForm,
    group_id: int | None,
    error: str | None = None,
) -> Response:
    community_id = principal.default_community()
    community = community_service.get_community(session, principal, community_id)
    parents = [
        g for g in group_service.list_groups(session, principal, community_id) if g.id != group_id
    ]
    return render(
        request,
        "community/group_form.html",
        status_code=400 if error else 200,
        form=form,
        group_id=group_id,
        kinds=community_service.group_kinds(community),
        parents=parents,
        error=error,
    )


@router.get("/groups/new")
def new_group_page(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    principal.require(principal.default_community(), Role.operator)
    return _group_form_page(request, session, principal, GroupForm(), None)


@router.post("/groups/new")
def create_group(
    request: Request,
    form: Annotated[GroupForm, Form()],
    session: DbSession,
    principal: CurrentPrincipal,
) -> Response:
    try:
        group = group_service.create_group(
            session, principal, principal.default_community(), form.fields()
        )
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        session.rollback()
        message = error_text(exc, language_of(request))
        return _group_form_page(request, session, principal, form, None, message)
    return _back(f"/groups/{group.id}")


@router.get("/groups/{group_id:int}")
def group_page(
    request: Request, group_id: int, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = principal.default_community()
    group = group_service.get_group(session, principal, community_id, group_id)
    community = community_service.get_community(session, principal, community_id)
    days = group_service.joins_per_day(session, group, group.timezone or community.timezone)
    chart = {
        "days": [d.day.isoformat() for d in days],
        "joined": [d.joined for d in days],
        "left": [d.left for d in days],
    }
    parent = (
        group_service.get_group(session, principal, community_id, group.parent_id)
        if group.parent_id
        else None
    )
    return _page(
        request,
        "community/group.html",
        principal,
        group=group,
        parent=parent,
        use=group_service.capacity_use(group),
        rows=members.group_members(session, principal, community_id, group.id),
        chart_json=json.dumps(chart),
        local=_local(group.timezone or community.timezone),
    )


@router.get("/groups/{group_id:int}/edit")
def edit_group_page(
    request: Request, group_id: int, session: DbSession, principal: CurrentPrincipal
) -> Response:
    community_id = principal.default_community()
    principal.require(community_id, Role.operator)
    g = group_service.get_group(session, principal, community_id, group_id)
    form = GroupForm(
        name=g.name,
        platform=g.platform,
        platform_group_id=g.platform_group_id,
        kind=g.kind,
        standing="" if g.standing else "temporary",
        ends_on=g.ends_on.isoformat() if g.ends_on else "",
        capacity=str(g.capacity),
        parent_id=str(g.parent_id or ""),
        introduction=g.introduction or "",
        announcement=g.announcement or "",
        timezone=g.timezone or "",
    )
    return _group_form_page(request, session, principal, form, group_id)


@router.post("/groups/{group_id:int}/edit")
def update_group(
    request: Request,
    group_id: int,
    form: Annotated[GroupForm, Form()],
    session: DbSession,
    principal: CurrentPrincipal,
) -> Response:
    try:
        group_service.update_group(
            session, principal, principal.default_community(), group_id, form.fields()
        )
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        session.rollback()
        message = error_text(exc, language_of(request))
        return _group_form_page(request, session, principal, form, group_id, message)
    _notice(request, gettext("group.saved", language_of(request)))
    return _back(f"/groups/{group_id}")


@router.post("/groups/{group_id:int}/status")
def group_status(
    request: Request,
    group_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[str, Form(max_length=16)] = "archived",
) -> Response:
    _attempt(
        request,
        session,
        lambda: group_service.set_status(
            session, principal, principal.default_community(), group_id, status
        ),
        "group.saved",
    )
    return _back(f"/groups/{group_id}")


# --- members -------------------------------------------------------------------------


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 18 else None


def _query(request: Request) -> DirectoryQuery:
    p = request.query_params
    sort = p.get("sort", "join_order")
    return DirectoryQuery(
        q=p.get("q", "")[:100],
        group_id=_int(p.get("group")),
        role=p.get("role") or None,
        tier=p.get("tier") or None,
        tag=p.get("tag") or None,
        source=p.get("source") or None,
        status=p.get("status") or None,
        sort=sort if sort in SORTS else "join_order",
        page=_int(p.get("page")) or 1,
        per_page=min(_int(p.get("per_page")) or 50, members.MAX_PER_PAGE),
    )


@router.get("/members")
def directory_page(
    request: Request, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = principal.default_community()
    community = community_service.get_community(session, principal, community_id)
    query = _query(request)
    error = None
    try:
        page = members.directory(session, principal, community_id, query)
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        error = error_text(exc, language_of(request))
        page = members.directory(session, principal, community_id, DirectoryQuery())
    params = {k: v for k, v in request.query_params.items() if k != "page" and v}

    def url(**changes: Any) -> str:
        merged = {**params, **{k: str(v) for k, v in changes.items()}}
        return "/members?" + urlencode(merged)

    return _page(
        request,
        "community/members.html",
        principal,
        page=page,
        query=query,
        error=error,
        url=url,
        export_url="/api/v1/members/export.csv?" + urlencode(params),
        groups=group_service.list_groups(session, principal, community_id),
        tiers=community_service.tier_scheme(community).names,
        tags=members.all_tags(session, principal, community_id),
        roles=GROUP_ROLES,
        sources=MEMBER_SOURCES,
        statuses=MEMBERSHIP_STATUSES,
        local=_local(community.timezone),
    )


@router.get("/members/{member_id:int}")
def profile_page(
    request: Request, member_id: int, session: DbSession, principal: CurrentPrincipal
) -> Response:
    community_id = principal.default_community()
    community = community_service.get_community(session, principal, community_id)
    profile = members.profile(session, principal, community_id, member_id)
    page = _int(request.query_params.get("page")) or 1
    timeline = members.timeline(session, principal, community_id, member_id, page=page)
    return _page(
        request,
        "community/member.html",
        principal,
        p=profile,
        m=profile.member,
        timeline=timeline,
        roles=GROUP_ROLES,
        sources=MEMBER_SOURCES,
        local=_local(community.timezone),
    )


class MemberForm(BaseModel):
    display_name: str = ""
    titles: str = ""
    tags: str = ""
    notes: str = ""
    source: str = "unknown"
    inviter_id: str = ""


@router.post("/members/{member_id:int}/edit")
def edit_member(
    request: Request,
    member_id: int,
    form: Annotated[MemberForm, Form()],
    session: DbSession,
    principal: CurrentPrincipal,
) -> Response:
    fields = {
        "display_name": form.display_name,
        "titles": _split_list(form.titles),
        "tags": _split_list(form.tags),
        "notes": form.notes,
        "source": form.source,
        "inviter_id": _int(form.inviter_id.strip().lstrip("#")),
    }
    _attempt(
        request,
        session,
        lambda: members.update_member(
            session, principal, principal.default_community(), member_id, fields
        ),
        "member.saved",
    )
    return _back(f"/members/{member_id}")


@router.post("/members/{member_id:int}/role")
def member_role(
    request: Request,
    member_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    group_id: Annotated[int, Form()],
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    _attempt(
        request,
        session,
        lambda: members.set_group_role(
            session, principal, principal.default_community(), member_id, group_id, role
        ),
        "member.saved",
    )
    return _back(f"/members/{member_id}")


@router.post("/members/{member_id:int}/merge")
def merge_member(
    request: Request,
    member_id: int,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    other_id: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    if not confirm:
        _notice(request, gettext("member.confirm_needed", language_of(request)), "error")
        return _back(f"/members/{member_id}#merge")
    other = _int(other_id.strip().lstrip("#")) or 0

    def act() -> None:
        identities.merge(
            session, principal, principal.default_community(), member_id, other, note=note
        )
        identities_changed(session, ctx)

    _attempt(request, session, act, "member.merged_done")
    return _back(f"/members/{member_id}")


@router.post("/members/{member_id:int}/split")
def split_member(
    request: Request,
    member_id: int,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    identity: Annotated[list[str] | None, Form(max_length=100)] = None,
    display_name: Annotated[str, Form(max_length=200)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    if not confirm:
        _notice(request, gettext("member.confirm_needed", language_of(request)), "error")
        return _back(f"/members/{member_id}#split")
    chosen = [int(v) for v in identity or [] if v.isdigit() and len(v) <= 18]
    created: list[int] = []

    def act() -> None:
        change = identities.split(
            session,
            principal,
            principal.default_community(),
            member_id,
            chosen,
            display_name=display_name,
            note=note,
        )
        identities_changed(session, ctx)
        created.append(change.other_member_id or member_id)

    _attempt(request, session, act, "member.split_done")
    return _back(f"/members/{created[0]}" if created else f"/members/{member_id}#split")


@router.post("/members/changes/{change_id:int}/undo")
def undo_change(
    request: Request,
    change_id: int,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    back: Annotated[int, Form()] = 0,
) -> Response:
    def act() -> None:
        identities.undo(session, principal, principal.default_community(), change_id)
        identities_changed(session, ctx)

    _attempt(request, session, act, "member.undone")
    return _back(f"/members/{back}" if back else "/members")
