"""Pages for people without an account: an invite code's page (which groups it opens,
what to write in the join request) and a newcomer's page to accept the rules.

Both are rate-limited per client address. The accept button posts a form protected by
the session's CSRF token; the token in the address is the acceptance's own, signed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from qunyun.accounts.deps import Ctx, DbSession, csrf_protect
from qunyun.community.models import Community, Group
from qunyun.entry import acceptance, invites
from qunyun.entry.env import EntryEnv
from qunyun.entry.models import RuleAcceptance
from qunyun.entry.requests import is_full
from qunyun.errors import DomainError
from qunyun.moderation import audit
from qunyun.moderation.books import effective_book
from qunyun.moderation.published import published_rules
from qunyun.ratelimit import Rate
from qunyun.visits.keys import local_day, visitor_key
from qunyun.web.client_ip import client_ip
from qunyun.web.context import AppContext
from qunyun.web.ratelimits import enforce
from qunyun.web.render import language_of, render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

VIEW_RATE = "60/minute"
ACCEPT_RATE = "10/minute"
Slug = Annotated[str, Path(max_length=64)]
Code = Annotated[str, Path(max_length=64)]
Token = Annotated[str, Path(max_length=acceptance.MAX_TOKEN)]


def _ip(request: Request, ctx: AppContext) -> str | None:
    peer = request.client.host if request.client else None
    return client_ip(
        peer, request.headers.get("x-forwarded-for"), tuple(ctx.settings.trusted_proxies)
    )


def _limit(request: Request, ctx: AppContext, what: str, rate: str) -> str | None:
    ip = _ip(request, ctx)
    enforce(ctx, f"{what}:{ip or '-'}", rate)
    return ip


# --- invite codes -----------------------------------------------------------------------


def _note_open(
    session: Session, request: Request, ctx: AppContext, found: invites.PublicInvite, ip: str | None
) -> None:
    """Record that the code's page was opened: once per visitor and day (a daily key of
    address and browser, as visits use), so reloads do not inflate it."""
    now = datetime.now(UTC)
    day = local_day(now.timestamp(), ZoneInfo(found.community.timezone))
    visitor = visitor_key(
        ctx.settings.secret_key.encode("utf-8"), day, ip, request.headers.get("user-agent")
    )
    first = ctx.limiter.hit(f"invite-open:{found.invite.id}:{visitor}", Rate(1, 86400))
    if first.allowed:
        audit.record(
            session,
            found.community.id,
            "invite.opened",
            summary=found.invite.code,
            group_id=found.invite.group_id,
            detail={"invite_code_id": found.invite.id, "code": found.invite.code},
        )


@router.get("/invite/{community_slug}/{code}")
def invite_page(
    request: Request, community_slug: Slug, code: Code, session: DbSession, ctx: Ctx
) -> Response:
    ip = _limit(request, ctx, "invite-page", VIEW_RATE)
    try:
        found = invites.public_invite(session, community_slug, code)
    except DomainError:
        return render(request, "entry/invite.html", status_code=404, found=None, state="unknown")
    if found.state == "live":
        _note_open(session, request, ctx, found, ip)
    open_groups = [g for g in found.groups if not is_full(g)]
    return render(
        request,
        "entry/invite.html",
        status_code=200 if found.state == "live" else 410,
        found=found,
        state=found.state,
        groups=open_groups,
        all_full=bool(found.groups) and not open_groups,
    )


# --- accepting the rules ----------------------------------------------------------------


def _accept_page(
    request: Request,
    session: Session,
    found: RuleAcceptance,
    token: str,
    *,
    just_accepted: bool = False,
    status_code: int = 200,
) -> Response:
    lang = language_of(request)
    group = session.get(Group, found.group_id)
    community = session.get(Community, found.community_id)
    assert group is not None
    assert community is not None
    book = effective_book(session, community.id, group.id).book
    return render(
        request,
        "entry/accept.html",
        status_code=status_code,
        group=group,
        acceptance=found,
        token=token,
        rules=published_rules(book, lang, group_name=group.name),
        rules_link=f"/rules/{community.slug}/{group.id}",
        just_accepted=just_accepted,
    )


@router.get("/accept/{token}")
def accept_page(request: Request, token: Token, session: DbSession, ctx: Ctx) -> Response:
    _limit(request, ctx, "accept-page", VIEW_RATE)
    try:
        found = acceptance.by_token(session, ctx.settings.secret_key, token)
    except DomainError:
        return render(request, "entry/accept_gone.html", status_code=404)
    return _accept_page(request, session, found, token)


@router.post("/accept/{token}")
def accept_rules(
    request: Request,
    token: Token,
    session: DbSession,
    ctx: Ctx,
) -> Response:
    _limit(request, ctx, "accept-post", ACCEPT_RATE)
    try:
        found = acceptance.by_token(session, ctx.settings.secret_key, token)
    except DomainError:
        return render(request, "entry/accept_gone.html", status_code=404)
    changed = acceptance.accept(session, EntryEnv.of(ctx), found, "button")
    session.commit()
    return _accept_page(request, session, found, token, just_accepted=changed)
