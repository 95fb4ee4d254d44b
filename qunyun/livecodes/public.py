"""What a visitor's browser asks for besides the landing: the QR images and the
long-press report. No sign-in, no session CSRF: each request carries a signed token
made for that one purpose, and the press report is rate-limited per visitor."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import anyio
from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from qunyun.accounts.deps import Ctx, DbSession
from qunyun.errors import DomainError
from qunyun.links.models import Link
from qunyun.livecodes.landing import landing_of
from qunyun.livecodes.members import member_image
from qunyun.livecodes.models import LiveCode, LiveCodeMember, LiveCodePress
from qunyun.livecodes.service import fallback_image
from qunyun.livecodes.tokens import Signer
from qunyun.visits.keys import local_day, visitor_key
from qunyun.web.client_ip import client_ip
from qunyun.web.context import AppContext
from qunyun.web.ratelimits import enforce

router = APIRouter(prefix="/livecodes", include_in_schema=False)

PRESS_RATE = "10/minute"
MAX_TOKEN_BYTES = 512
IMAGE_CACHE = "public, max-age=31536000, immutable"


def _signer(ctx: AppContext) -> Signer:
    landing = landing_of(ctx)
    return landing.signer if landing is not None else Signer(ctx.settings.secret_key)


@router.get("/img/{token}")
def image(token: str, session: DbSession, ctx: Ctx) -> Response:
    found = _signer(ctx).read_image(token) if len(token) <= MAX_TOKEN_BYTES else None
    stored = None
    if found is not None:
        kind, ident, version = found
        stored = (
            member_image(session, ident, version)
            if kind == "member"
            else fallback_image(session, ident)
        )
    if stored is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    return Response(
        stored.data,
        media_type=stored.mime,
        headers={"Cache-Control": IMAGE_CACHE, "X-Content-Type-Options": "nosniff"},
    )


def _visitor_ip(request: Request, ctx: AppContext) -> str | None:
    peer = request.client.host if request.client else None
    return client_ip(
        peer, request.headers.get("x-forwarded-for"), tuple(ctx.settings.trusted_proxies)
    )


async def _token_of(request: Request) -> str:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_TOKEN_BYTES:
            return ""
    text = body.decode("ascii", "replace").strip()
    # A form post (t=...) from a browser without sendBeacon works too.
    return text[2:] if text.startswith("t=") else text


@router.post("/press", status_code=204)
async def press(request: Request, ctx: Ctx) -> Response:
    """A long press on a landing page's QR; answers 204 whatever happens (a beacon
    reads no answer), except 429 when the visitor reports too often."""
    token = await _token_of(request)
    found = _signer(ctx).read_press(token) if token else None
    if found is None:
        return Response(status_code=204)
    ip = _visitor_ip(request, ctx)
    code_id, member_id, link_id = found
    try:
        enforce(ctx, f"lc-press:{code_id}:{ip or '-'}", PRESS_RATE)
    except DomainError:
        return Response(status_code=429)
    now = datetime.now(UTC)
    day = local_day(now.timestamp(), ZoneInfo(ctx.settings.timezone))
    key = visitor_key(
        ctx.settings.secret_key.encode("utf-8"), day, ip, request.headers.get("user-agent")
    )

    def write() -> None:
        with ctx.db.transaction() as session:
            record_press(session, code_id, member_id, link_id, now, day, key)

    await anyio.to_thread.run_sync(write)
    return Response(status_code=204)


def record_press(
    session: Session,
    code_id: int,
    member_id: int,
    link_id: int,
    now: datetime,
    day: date,
    visitor: str,
) -> bool:
    """Store one press; the member or link may have been removed since the page loaded."""
    if session.get(LiveCode, code_id) is None:
        return False
    member = session.scalar(select(LiveCodeMember.id).where(LiveCodeMember.id == member_id))
    link = session.scalar(select(Link.id).where(Link.id == link_id))
    session.add(
        LiveCodePress(
            live_code_id=code_id,
            member_id=member,
            link_id=link,
            ts=now,
            day=day,
            visitor_key=visitor,
        )
    )
    session.flush()
    return True
