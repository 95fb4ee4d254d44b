"""The published rules of a group, for members: ``/rules/<community slug>/<group id>``.

No sign-in: the link is shared in the group. Generated from the group's effective rule
book in zh-CN or en (``?lang=``, else Accept-Language, else zh-CN); archived and unknown
groups are the same 404. Rate-limited per client address.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from qunyun.accounts.deps import Ctx, DbSession
from qunyun.community.models import Community, Group, Member
from qunyun.errors import NotFound
from qunyun.i18n import gettext
from qunyun.moderation import books
from qunyun.moderation.published import published_rules, render_rules
from qunyun.moderation.rulebook import RuleBook
from qunyun.web.client_ip import client_ip
from qunyun.web.ratelimits import enforce
from qunyun.web.render import environment, language_of
from qunyun.web.schemas import MAX_ROW_ID

router = APIRouter(include_in_schema=False)
RULES_RATE = "60/minute"
Slug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
GroupId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def rules_url(base_url: str, slug: str, group_id: int) -> str:
    return f"{base_url.rstrip('/')}/rules/{slug}/{group_id}"


def _published_group(session: Session, slug: str, group_id: int) -> tuple[Community, Group]:
    community = session.scalar(select(Community).where(Community.slug == slug.lower()))
    group = session.get(Group, group_id) if community is not None else None
    if community is None or group is None or group.community_id != community.id:
        raise NotFound("rules.not_found")
    if group.status == "archived":
        raise NotFound("rules.not_found")
    return community, group


def _member_names(session: Session, community_id: int, book: RuleBook) -> dict[int, str]:
    ids = {m for e in book.exemptions for m in e.member_ids}
    if not ids:
        return {}
    rows = session.execute(
        select(Member.id, Member.display_name).where(
            Member.id.in_(ids), Member.community_id == community_id
        )
    )
    return dict(rows.all())


def published_markdown(
    session: Session, community_id: int, group_id: int, lang: str
) -> tuple[str, str]:
    """The group's rules as Markdown and the community's slug (for the page's address)."""
    community = session.get(Community, community_id)
    group = session.get(Group, group_id)
    if community is None or group is None or group.community_id != community_id:
        raise NotFound("rules.not_found")
    book = books.effective_book(session, community_id, group_id).book
    text = render_rules(
        book,
        lang,
        group_name=group.name,
        member_names=_member_names(session, community_id, book),
    )
    return text, community.slug


def _client(request: Request, ctx: Ctx) -> str:
    peer = request.client.host if request.client else None
    found = client_ip(
        peer, request.headers.get("x-forwarded-for"), tuple(ctx.settings.trusted_proxies)
    )
    return found or "unknown"


def _html(lang: str, status: int, cache: str, **context: Any) -> HTMLResponse:
    # Rendered without the session: a public, cacheable page sets no cookie.
    def _(key: str, **params: Any) -> str:
        return gettext(key, lang, **params)

    html = (
        environment().get_template("moderation/public_rules.html").render(lang=lang, _=_, **context)
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={"Cache-Control": cache, "Vary": "Accept-Language", "X-Robots-Tag": "noindex"},
    )


@router.get("/rules/{slug}/{group_id}")
def rules_page(
    request: Request, slug: Slug, group_id: GroupId, session: DbSession, ctx: Ctx
) -> Response:
    enforce(ctx, f"rules:{_client(request, ctx)}", RULES_RATE)
    lang = language_of(request)
    try:
        community, group = _published_group(session, slug, group_id)
    except NotFound:
        return _html(lang, 404, "no-store", rules=None, community=None, version=0)
    effective = books.effective_book(session, community.id, group.id)
    rules = published_rules(
        effective.book,
        lang,
        group_name=group.name,
        member_names=_member_names(session, community.id, effective.book),
    )
    return _html(
        lang,
        200,
        "public, max-age=60",
        rules=rules,
        community=community,
        version=effective.cited_version,
    )
