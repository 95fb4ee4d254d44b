"""Where bridges deliver records: ``POST /hooks/webhook/{key}``.

The body is one record or ``{"records": [...]}`` (see schema.py and
docs/platforms.md), signed with the connection's secret (see signing.py). A delivery is
all or nothing: one invalid record refuses the whole request with 422 and the list of
problems, so a bridge can fix and resend it without working out what was kept.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qunyun.platforms.hooks import BodyTooLarge, error, find_connection, read_body, refuse
from qunyun.platforms.ingress import Source
from qunyun.platforms.webhook import signing
from qunyun.platforms.webhook.schema import parse_delivery
from qunyun.web.context import AppContext
from qunyun.web.schemas import ErrorOut, error_responses

# 1000 records of a few kilobytes each.
MAX_BODY = 8 << 20

router = APIRouter(prefix="/hooks/webhook", tags=["platforms"])

Key = Annotated[str, Path(min_length=1, max_length=64)]


class DeliveryOut(BaseModel):
    added: int = Field(description="records stored now")
    duplicates: int = Field(description="records already stored before (or twice in this body)")


class RecordProblemOut(BaseModel):
    record: int | None = Field(description="index in records; null: the delivery itself")
    field: str
    problem: str


class InvalidRecordsOut(ErrorOut):
    errors: list[RecordProblemOut]


RESPONSES = error_responses(400, 401, 404, 413)
RESPONSES[422] = {"model": InvalidRecordsOut, "description": "Invalid records; none stored"}


@router.post(
    "/{key}",
    response_model=DeliveryOut,
    responses=RESPONSES,
    summary="Receive records from a bridge (generic signed webhook)",
)
async def deliver(key: Key, request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    conn = await find_connection(ctx, "webhook", key)
    if conn is None:
        return error(request, ctx, "webhook.unknown_connection", 404)
    try:
        body = await read_body(request, MAX_BODY)
    except BodyTooLarge:
        return error(request, ctx, "webhook.too_large", 413)
    reason = signing.problem(
        conn.secret,
        request.headers.get(signing.TIMESTAMP_HEADER),
        request.headers.get(signing.SIGNATURE_HEADER),
        body,
        time.time(),
    )
    if reason is not None:
        code = "webhook.stale_timestamp" if "timestamp" in reason else "webhook.bad_signature"
        return refuse(request, ctx, conn, code, reason)
    try:
        payload: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return error(request, ctx, "webhook.bad_json", 400)
    records, problems = parse_delivery(payload)
    if problems:
        return error(
            request,
            ctx,
            "webhook.invalid_records",
            422,
            errors=[p.as_dict() for p in problems],
        )
    result = await ctx.stream_writer.write(Source(conn.community_id, conn.id), records)
    return JSONResponse({"added": len(result.added), "duplicates": result.duplicates})
