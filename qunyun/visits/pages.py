"""Statistics pages. The per-link panel is included by the link's own page."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from qunyun.accounts.deps import CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.roles import Role
from qunyun.visits.stats import tag_by_name
from qunyun.web.render import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


@router.get("/links/tags/{name}/stats")
def tag_stats_page(
    request: Request, name: str, session: DbSession, principal: CurrentPrincipal
) -> Response:
    community = principal.default_community()
    principal.require(community, Role.viewer)
    tag = tag_by_name(session, community, name)
    return render(request, "visits/tag_stats.html", tag_name=tag.name, stats_tag=tag.name)
