"""The JSON API: ``/api/v1/communities``, ``/api/v1/groups``, ``/api/v1/members``.

Groups and members are those of the active community: the one named by the
``X-Qunyun-Community`` header (id or slug), else the user's first.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.roles import Role
from qunyun.community import groups as group_service
from qunyun.community import identities, members
from qunyun.community import service as community_service
from qunyun.community.members import DirectoryQuery
from qunyun.community.present import (
    community_out,
    group_member_out,
    group_out,
    history_out,
    member_out,
    node_out,
    profile_out,
    timeline_item_out,
)
from qunyun.community.runtime import identities_changed
from qunyun.community.schemas import (
    CommunityCreateIn,
    CommunityOut,
    CommunityUpdateIn,
    DirectoryOut,
    GrantIn,
    GroupCreateIn,
    GroupMemberOut,
    GroupNodeOut,
    GroupOut,
    GroupRoleIn,
    GroupUpdateIn,
    IdentityChangeOut,
    MemberUpdateIn,
    MergeIn,
    ProfileOut,
    RoleHolderOut,
    SplitIn,
    TagsIn,
    TimelineOut,
)
from qunyun.web.schemas import MAX_ROW_ID, RowId, error_responses

router = APIRouter(prefix="/api/v1", dependencies=[Depends(csrf_protect)])
UserRef = Annotated[str, Path(min_length=1, max_length=64, description="user name or id")]
Page = Annotated[int, Query(ge=1, le=members.MAX_PAGE)]
PerPage = Annotated[int, Query(ge=1, le=members.MAX_PER_PAGE)]
OptId = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
Text = Annotated[str | None, Query(max_length=100)]
Sort = Annotated[Literal["join_order", "last_active", "name"], Query()]
C: list[str | Enum] = ["communities"]
G: list[str | Enum] = ["groups"]
M: list[str | Enum] = ["members"]


def _user(ref: str) -> str | int:
    return int(ref) if ref.isdigit() and len(ref) <= 18 else ref


# --- communities ---------------------------------------------------------------------


@router.get(
    "/communities",
    tags=C,
    response_model=list[CommunityOut],
    responses=error_responses(401),
    summary="The communities you hold a role in",
)
def list_communities(session: DbSession, principal: CurrentPrincipal) -> list[CommunityOut]:
    return [
        community_out(c, principal) for c in community_service.list_communities(session, principal)
    ]


@router.post(
    "/communities",
    tags=C,
    status_code=201,
    response_model=CommunityOut,
    responses=error_responses(400, 401, 403, 409),
    summary="Create a community (owners only); you become its owner",
)
def create_community(
    body: CommunityCreateIn, session: DbSession, principal: CurrentPrincipal
) -> CommunityOut:
    community = community_service.create_community(
        session,
        principal,
        slug=body.slug,
        name=body.name,
        timezone=body.timezone,
        description=body.description,
    )
    roles = {**principal.roles, community.id: Role.owner}
    return community_out(community, dataclasses.replace(principal, roles=roles))


@router.get(
    "/communities/{community_id}",
    tags=C,
    response_model=CommunityOut,
    responses=error_responses(401, 404),
    summary="One community and its settings",
)
def get_community(
    community_id: RowId, session: DbSession, principal: CurrentPrincipal
) -> CommunityOut:
    return community_out(
        community_service.get_community(session, principal, community_id), principal
    )


@router.patch(
    "/communities/{community_id}",
    tags=C,
    response_model=CommunityOut,
    responses=error_responses(400, 401, 403, 404),
    summary="Change settings (admins): name, time zone, group kinds, tiers",
)
def update_community(
    community_id: RowId, body: CommunityUpdateIn, session: DbSession, principal: CurrentPrincipal
) -> CommunityOut:
    fields = body.fields()
    if "tier_bands" in fields:
        fields["tier_bands"] = [dict(b) for b in fields["tier_bands"]]
    community = community_service.update_community(session, principal, community_id, fields)
    return community_out(community, principal)


@router.get(
    "/communities/{community_id}/roles",
    tags=C,
    response_model=list[RoleHolderOut],
    responses=error_responses(401, 403, 404),
    summary="Who holds which role (admins)",
)
def list_roles(
    community_id: RowId, session: DbSession, principal: CurrentPrincipal
) -> list[RoleHolderOut]:
    return [
        RoleHolderOut(user_id=h.user_id, name=h.name, role=h.role.value)
        for h in community_service.list_roles(session, principal, community_id)
    ]


@router.put(
    "/communities/{community_id}/roles/{user}",
    tags=C,
    response_model=RoleHolderOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Give a user a role (admins; owners for the owner role)",
)
def grant_role(
    community_id: RowId,
    user: UserRef,
    body: GrantIn,
    session: DbSession,
    principal: CurrentPrincipal,
) -> RoleHolderOut:
    holder = community_service.grant_role(
        session, principal, community_id, _user(user), Role(body.role)
    )
    return RoleHolderOut(user_id=holder.user_id, name=holder.name, role=holder.role.value)


@router.delete(
    "/communities/{community_id}/roles/{user}",
    tags=C,
    status_code=204,
    responses=error_responses(401, 403, 404, 409),
    summary="Take a user's role away (never the last owner's)",
)
def revoke_role(
    community_id: RowId, user: UserRef, session: DbSession, principal: CurrentPrincipal
) -> Response:
    community_service.revoke_role(session, principal, community_id, _user(user))
    return Response(status_code=204)


# --- groups --------------------------------------------------------------------------


@router.get(
    "/groups",
    tags=G,
    response_model=list[GroupOut],
    responses=error_responses(401, 403),
    summary="Every group of the active community",
)
def list_groups(
    session: DbSession, principal: CurrentPrincipal, include_archived: bool = True
) -> list[GroupOut]:
    rows = group_service.list_groups(
        session, principal, principal.default_community(), include_archived=include_archived
    )
    return [group_out(g) for g in rows]


@router.get(
    "/groups/tree",
    tags=G,
    response_model=list[GroupNodeOut],
    responses=error_responses(401, 403),
    summary="The groups as a tree (parents and their subgroups)",
)
def group_tree(
    session: DbSession, principal: CurrentPrincipal, include_archived: bool = True
) -> list[GroupNodeOut]:
    roots = group_service.group_tree(
        session, principal, principal.default_community(), include_archived=include_archived
    )
    return [node_out(n) for n in roots]


@router.post(
    "/groups",
    tags=G,
    status_code=201,
    response_model=GroupOut,
    responses=error_responses(400, 401, 403, 409),
    summary="Create a group (operators)",
)
def create_group(body: GroupCreateIn, session: DbSession, principal: CurrentPrincipal) -> GroupOut:
    group = group_service.create_group(
        session, principal, principal.default_community(), body.fields()
    )
    return group_out(group)


@router.get(
    "/groups/{group_id}",
    tags=G,
    response_model=GroupOut,
    responses=error_responses(401, 403, 404),
    summary="One group",
)
def get_group(group_id: RowId, session: DbSession, principal: CurrentPrincipal) -> GroupOut:
    return group_out(
        group_service.get_group(session, principal, principal.default_community(), group_id)
    )


@router.patch(
    "/groups/{group_id}",
    tags=G,
    response_model=GroupOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Change a group (operators; only the fields sent)",
)
def update_group(
    group_id: RowId, body: GroupUpdateIn, session: DbSession, principal: CurrentPrincipal
) -> GroupOut:
    group = group_service.update_group(
        session, principal, principal.default_community(), group_id, body.fields()
    )
    return group_out(group)


@router.post(
    "/groups/{group_id}/archive",
    tags=G,
    response_model=GroupOut,
    responses=error_responses(401, 403, 404),
    summary="Archive a group (admins)",
)
def archive_group(group_id: RowId, session: DbSession, principal: CurrentPrincipal) -> GroupOut:
    return group_out(
        group_service.set_status(
            session, principal, principal.default_community(), group_id, "archived"
        )
    )


@router.post(
    "/groups/{group_id}/restore",
    tags=G,
    response_model=GroupOut,
    responses=error_responses(401, 403, 404),
    summary="Bring an archived group back (admins)",
)
def restore_group(group_id: RowId, session: DbSession, principal: CurrentPrincipal) -> GroupOut:
    return group_out(
        group_service.set_status(
            session, principal, principal.default_community(), group_id, "active"
        )
    )


@router.get(
    "/groups/{group_id}/members",
    tags=G,
    response_model=list[GroupMemberOut],
    responses=error_responses(401, 403, 404),
    summary="A group's members, active first",
)
def group_members(
    group_id: RowId, session: DbSession, principal: CurrentPrincipal
) -> list[GroupMemberOut]:
    community_id = principal.default_community()
    group_service.get_group(session, principal, community_id, group_id)
    return [
        group_member_out(ms, m)
        for ms, m in members.group_members(session, principal, community_id, group_id)
    ]


# --- members -------------------------------------------------------------------------


def directory_query(
    q: Annotated[str, Query(max_length=100)] = "",
    group_id: OptId = None,
    role: Text = None,
    tier: Text = None,
    tag: Text = None,
    source: Text = None,
    status: Text = None,
    sort: Sort = "join_order",
    page: Page = 1,
    per_page: PerPage = 50,
) -> DirectoryQuery:
    return DirectoryQuery(
        q=q,
        group_id=group_id,
        role=role or None,
        tier=tier or None,
        tag=tag or None,
        source=source or None,
        status=status or None,
        sort=sort,
        page=page,
        per_page=per_page,
    )


Directory = Annotated[DirectoryQuery, Depends(directory_query)]


@router.get(
    "/members",
    tags=M,
    response_model=DirectoryOut,
    responses=error_responses(400, 401, 403),
    summary="The member directory: search, filter, sort, page",
)
def directory(query: Directory, session: DbSession, principal: CurrentPrincipal) -> DirectoryOut:
    page = members.directory(session, principal, principal.default_community(), query)
    return DirectoryOut(
        items=[member_out(r) for r in page.items],
        total=page.total,
        page=page.page,
        per_page=page.per_page,
    )


@router.get(
    "/members/export.csv",
    tags=M,
    responses={
        **error_responses(400, 401, 403),
        200: {"content": {"text/csv": {}}, "description": "the matching members as CSV"},
    },
    summary="The directory (same filters, no paging) as CSV (operators)",
    response_class=Response,
)
def export_members(query: Directory, session: DbSession, principal: CurrentPrincipal) -> Response:
    text = members.export_csv(session, principal, principal.default_community(), query)
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="members.csv"'},
    )


@router.post(
    "/members/changes/{change_id}/undo",
    tags=M,
    response_model=IdentityChangeOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Undo a merge or a split (admins)",
)
def undo_change(
    change_id: RowId, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> IdentityChangeOut:
    community_id = principal.default_community()
    change = identities.undo(session, principal, community_id, change_id)
    identities_changed(session, ctx)
    return _change_out(session, community_id, change.id, change.member_id)


@router.get(
    "/members/{member_id}",
    tags=M,
    response_model=ProfileOut,
    responses=error_responses(401, 403, 404),
    summary="A member's profile: identities, groups, referrals, history",
)
def get_member(member_id: RowId, session: DbSession, principal: CurrentPrincipal) -> ProfileOut:
    return profile_out(
        members.profile(session, principal, principal.default_community(), member_id)
    )


@router.get(
    "/members/{member_id}/timeline",
    tags=M,
    response_model=TimelineOut,
    responses=error_responses(401, 403, 404),
    summary="Joins, departures and messages across every group, newest first",
)
def member_timeline(
    member_id: RowId,
    session: DbSession,
    principal: CurrentPrincipal,
    page: Page = 1,
    per_page: PerPage = 50,
) -> TimelineOut:
    result = members.timeline(
        session, principal, principal.default_community(), member_id, page=page, per_page=per_page
    )
    return TimelineOut(
        items=[timeline_item_out(i) for i in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@router.patch(
    "/members/{member_id}",
    tags=M,
    response_model=ProfileOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Change a member (operators): name, titles, notes, source, inviter, tags",
)
def update_member(
    member_id: RowId, body: MemberUpdateIn, session: DbSession, principal: CurrentPrincipal
) -> ProfileOut:
    community_id = principal.default_community()
    members.update_member(session, principal, community_id, member_id, body.fields())
    return profile_out(members.profile(session, principal, community_id, member_id))


@router.post(
    "/members/{member_id}/tags",
    tags=M,
    response_model=list[str],
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Add and remove tags (operators)",
)
def change_tags(
    member_id: RowId, body: TagsIn, session: DbSession, principal: CurrentPrincipal
) -> list[str]:
    return members.change_tags(
        session,
        principal,
        principal.default_community(),
        member_id,
        add=body.add,
        remove=body.remove,
    )


@router.put(
    "/members/{member_id}/groups/{group_id}/role",
    tags=M,
    response_model=ProfileOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Set the member's role in one group (operators)",
)
def set_group_role(
    member_id: RowId,
    group_id: RowId,
    body: GroupRoleIn,
    session: DbSession,
    principal: CurrentPrincipal,
) -> ProfileOut:
    community_id = principal.default_community()
    members.set_group_role(session, principal, community_id, member_id, group_id, body.role)
    return profile_out(members.profile(session, principal, community_id, member_id))


@router.post(
    "/members/{member_id}/merge",
    tags=M,
    response_model=IdentityChangeOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Merge another member into this one (admins)",
)
def merge_member(
    member_id: RowId, body: MergeIn, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> IdentityChangeOut:
    community_id = principal.default_community()
    change = identities.merge(
        session, principal, community_id, member_id, body.other_id, note=body.note
    )
    identities_changed(session, ctx)
    return _change_out(session, community_id, change.id, member_id)


@router.post(
    "/members/{member_id}/split",
    tags=M,
    response_model=IdentityChangeOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Move identities off this member onto a new one (admins)",
)
def split_member(
    member_id: RowId, body: SplitIn, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> IdentityChangeOut:
    community_id = principal.default_community()
    change = identities.split(
        session,
        principal,
        community_id,
        member_id,
        body.identity_ids,
        display_name=body.display_name,
        note=body.note,
    )
    identities_changed(session, ctx)
    return _change_out(session, community_id, change.id, member_id)


def _change_out(
    session: DbSession, community_id: int, change_id: int, member_id: int
) -> IdentityChangeOut:
    for entry in members.identity_history(session, community_id, member_id):
        if entry.change.id == change_id:
            return history_out(entry)
    raise AssertionError("the change just recorded is missing")
