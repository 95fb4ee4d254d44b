"""What the inbound endpoints under ``/hooks/...`` share: finding the connection a
delivery is for, refusing it in the caller's language, reading a bounded body and
parsing it as a JSON object."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from sqlalchemy import select
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse

from qunyun.db.engine import Database
from qunyun.i18n import gettext, negotiate
from qunyun.platforms.models import PlatformConnection
from qunyun.web.context import AppContext

log = logging.getLogger("qunyun.platforms.hooks")


@dataclass(frozen=True)
class InboundConnection:
    id: int
    community_id: int
    platform: str
    secret: str | None
    # OneBot's reverse WebSocket: the token it must present, and the bot account last seen.
    access_token: str | None = None
    self_id: str | None = None


class BodyTooLarge(Exception):
    pass


def _find(db: Database, platform: str, key: str) -> InboundConnection | None:
    with db.session(write=False) as session:
        row = session.scalar(
            select(PlatformConnection).where(
                PlatformConnection.key == key,
                PlatformConnection.platform == platform,
                PlatformConnection.enabled.is_(True),
            )
        )
        if row is None:
            return None
        return InboundConnection(
            row.id,
            row.community_id,
            row.platform,
            row.inbound_secret or None,
            row.access_token or None,
            row.self_id,
        )


# A platform posts thousands of deliveries a second to the same URL: the connection
# behind it is remembered for a few seconds instead of read for each one. Changes made
# through the connections service are seen at once in this process (it bumps the
# generation after commit); other worker processes see them within CACHE_SECONDS.
CACHE_SECONDS = 5.0
_CACHE = "inbound_connections"
_generation = 0


def connections_changed() -> None:
    """Forget every remembered connection (called after a connection changed)."""
    global _generation
    _generation += 1


def _cache(ctx: AppContext) -> dict[tuple[str, str], tuple[float, int, InboundConnection | None]]:
    cache: dict[tuple[str, str], tuple[float, int, InboundConnection | None]]
    cache = ctx.extras.setdefault(_CACHE, {})
    return cache


async def find_connection(ctx: AppContext, platform: str, key: str) -> InboundConnection | None:
    """The enabled connection of ``platform`` whose URL key is ``key``."""
    cache = _cache(ctx)
    now = time.monotonic()
    hit = cache.get((platform, key))
    if hit is not None and hit[0] > now and hit[1] == _generation:
        return hit[2]
    generation = _generation
    found = await anyio.to_thread.run_sync(_find, ctx.db, platform, key)
    if len(cache) > 10_000:
        cache.clear()
    cache[(platform, key)] = (now + CACHE_SECONDS, generation, found)
    return found


def remember(ctx: AppContext, platform: str, key: str, conn: InboundConnection) -> None:
    """Replace the remembered connection after this process changed it."""
    cache = _cache(ctx)
    hit = cache.get((platform, key))
    if hit is not None:
        cache[(platform, key)] = (hit[0], hit[1], conn)


def error(
    connection: HTTPConnection, ctx: AppContext, code: str, status: int, **extra: Any
) -> JSONResponse:
    """``{code, message}`` in the caller's language (machines get JSON, never a page)."""
    lang = negotiate(connection.headers.get("accept-language"), ctx.settings.language)
    body: dict[str, Any] = {"code": code, "message": gettext(f"error.{code}", lang)}
    body.update(extra)
    return JSONResponse(body, status_code=status)


def note_refused(
    connection: HTTPConnection,
    ctx: AppContext,
    conn: InboundConnection,
    reason: str,
    where: str = "delivery",
) -> None:
    """Log (never the secret) and count a delivery or socket that failed its check."""
    peer = connection.client.host if connection.client else None
    log.warning(
        "%s %s refused: connection=%s reason=%s peer=%s",
        conn.platform,
        where,
        conn.id,
        reason,
        peer,
    )
    ctx.stream_writer.note_rejected(conn.id)


def refuse(
    request: Request, ctx: AppContext, conn: InboundConnection, code: str, reason: str
) -> JSONResponse:
    """401 for a delivery that failed its check: logged and counted (see note_refused)."""
    note_refused(request, ctx, conn, reason)
    return error(request, ctx, code, 401)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (BodyTooLarge) past ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object; None when it is not JSON (or not UTF-8) or not an object."""
    try:
        value: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
