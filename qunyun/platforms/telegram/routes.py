"""Where Telegram delivers Updates: ``POST /hooks/telegram/{key}`` (setWebhook's URL).

Telegram sends the ``secret_token`` given to setWebhook in the
``X-Telegram-Bot-Api-Secret-Token`` header; it must equal the connection's inbound
secret. A connection without one refuses everything (fail closed). An Update is
answered only once its records are committed: Telegram redelivers whatever got no 2xx,
and record ids make a redelivery harmless.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import Response

from qunyun.db.base import utcnow
from qunyun.platforms.hooks import (
    BodyTooLarge,
    error,
    find_connection,
    json_object,
    read_body,
    refuse,
)
from qunyun.platforms.ingress import Source
from qunyun.platforms.telegram.updates import records_from_update
from qunyun.web.context import AppContext
from qunyun.web.schemas import error_responses

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
# An Update is a few kilobytes; a megabyte leaves room for long captions and entities.
MAX_BODY = 1 << 20

router = APIRouter(prefix="/hooks/telegram", tags=["platforms"])

Key = Annotated[str, Path(min_length=1, max_length=64)]


def secret_matches(expected: str | None, supplied: str | None) -> bool:
    if not expected or supplied is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), supplied.encode("utf-8", "replace"))


@router.post(
    "/{key}",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 404, 413),
    summary="Receive a Telegram Bot API Update (webhook)",
)
async def deliver(key: Key, request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    conn = await find_connection(ctx, "telegram", key)
    if conn is None:
        return error(request, ctx, "telegram.unknown_connection", 404)
    supplied = request.headers.get(SECRET_HEADER)
    if not secret_matches(conn.secret, supplied):
        if conn.secret is None:
            reason = "no secret configured"
        else:
            reason = "missing secret token" if supplied is None else "wrong secret token"
        return refuse(request, ctx, conn, "telegram.bad_secret", reason)
    try:
        body = await read_body(request, MAX_BODY)
    except BodyTooLarge:
        return error(request, ctx, "telegram.too_large", 413)
    update = json_object(body)
    if update is None:
        return error(request, ctx, "telegram.bad_json", 400)
    records = records_from_update(update, received_at=utcnow())
    await ctx.stream_writer.write(Source(conn.community_id, conn.id), records)
    return Response(status_code=204)
