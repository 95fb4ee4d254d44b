"""Where OneBot implementations deliver events: HTTP POST and the reverse WebSocket.

Machine endpoints: no session, no CSRF. A connection is found by the key in its URL;
HTTP deliveries are signed with the connection's secret (``X-Signature: sha1=<HMAC of
the raw body>``), WebSocket connections present its access token. A delivery is
answered only once its records are committed (see platforms/ingress.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import logging
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Path
from sqlalchemy import update
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from qunyun.db.base import utcnow
from qunyun.db.engine import Database
from qunyun.platforms.hooks import (
    InboundConnection,
    error,
    find_connection,
    json_object,
    note_refused,
    refuse,
    remember,
)
from qunyun.platforms.ingress import Source
from qunyun.platforms.models import PlatformConnection
from qunyun.platforms.onebot.events import parse_event
from qunyun.platforms.onebot.sockets import OneBotSocket, register, unregister
from qunyun.web.context import AppContext
from qunyun.web.schemas import error_responses

log = logging.getLogger("qunyun.platforms.onebot")

router = APIRouter(prefix="/hooks/onebot", tags=["platforms"])

Key = Annotated[str, Path(min_length=1, max_length=64)]
ROLES = {"universal": "Universal", "event": "Event", "api": "API"}
# Events of one socket being written at once; more wait (and so does the socket).
MAX_IN_FLIGHT = 64


def _save_self_id(db: Database, connection_id: int, self_id: str) -> None:
    with db.transaction() as session:
        session.execute(
            update(PlatformConnection)
            .where(PlatformConnection.id == connection_id)
            .values(self_id=self_id[:64])
        )


async def _note_self_id(
    ctx: AppContext, key: str | None, conn: InboundConnection, self_id: str | None
) -> None:
    if self_id and self_id != conn.self_id:
        await anyio.to_thread.run_sync(_save_self_id, ctx.db, conn.id, self_id)
        if key is not None:
            remember(ctx, "onebot", key, dataclasses.replace(conn, self_id=self_id[:64]))


def _ctx(connection: HTTPConnection) -> AppContext:
    ctx: AppContext = connection.app.state.ctx
    return ctx


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """OneBot's ``X-Signature: sha1=<hex>``: HMAC-SHA1 of the raw body, keyed by the secret."""
    if not header:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha1":
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(
        expected.encode("ascii"), given.strip().lower().encode("ascii", "replace")
    )


@router.post(
    "/{key}",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 404),
    summary="Receive a OneBot v11 event (HTTP POST)",
)
async def deliver(key: Key, request: Request) -> Response:
    ctx = _ctx(request)
    conn = await find_connection(ctx, "onebot", key)
    if conn is None:
        return error(request, ctx, "onebot.unknown_connection", 404)
    body = await request.body()
    if conn.secret is not None:
        header = request.headers.get("x-signature")
        if not signature_ok(conn.secret, body, header):
            reason = "missing signature" if not header else "bad signature"
            return refuse(request, ctx, conn, "onebot.bad_signature", reason)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return error(request, ctx, "onebot.bad_encoding", 400)
    event = json_object(body)
    if event is None:
        return error(request, ctx, "onebot.bad_json", 400)
    parsed = parse_event(event, received_at=utcnow())
    await _note_self_id(ctx, key, conn, parsed.self_id or request.headers.get("x-self-id"))
    if parsed.records:
        await ctx.stream_writer.write(Source(conn.community_id, conn.id), parsed.records)
    return Response(status_code=204)


def _presented_token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization")
    if header:
        scheme, _, value = header.strip().partition(" ")
        # "Token" is what CQHTTP, OneBot's predecessor, sent.
        if scheme.lower() in ("bearer", "token") and value.strip():
            return value.strip()
        return None
    return websocket.query_params.get("access_token") or None


async def _deny(websocket: WebSocket, ctx: AppContext, code: str, status: int) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(error(websocket, ctx, code, status))
    else:
        await websocket.close(code=1008)


@router.websocket("/{key}/ws")
async def reverse_websocket(websocket: WebSocket, key: str) -> None:
    ctx = _ctx(websocket)
    conn = await find_connection(ctx, "onebot", key) if len(key) <= 64 else None
    if conn is None:
        await _deny(websocket, ctx, "onebot.unknown_connection", 404)
        return
    peer = websocket.client.host if websocket.client else None
    role = ROLES.get(websocket.headers.get("x-client-role", "Universal").strip().lower())
    if role is None:
        await _deny(websocket, ctx, "onebot.bad_role", 400)
        return
    if conn.access_token is not None:
        given = _presented_token(websocket)
        if given is None:
            note_refused(websocket, ctx, conn, "missing access token", "websocket")
            await _deny(websocket, ctx, "onebot.token_required", 401)
            return
        if not hmac.compare_digest(given.encode("utf-8"), conn.access_token.encode("utf-8")):
            note_refused(websocket, ctx, conn, "wrong access token", "websocket")
            await _deny(websocket, ctx, "onebot.bad_token", 403)
            return
    await websocket.accept()
    socket = OneBotSocket(websocket, conn.id, role)
    if role != "Event":
        register(ctx, socket)
    log.info("onebot connection %s connected (%s) from %s", conn.id, role, peer)
    await _note_self_id(ctx, key, conn, websocket.headers.get("x-self-id"))
    try:
        await _serve(ctx, conn, websocket, socket)
    finally:
        unregister(ctx, socket)
        log.info("onebot connection %s disconnected (%s)", conn.id, role)


async def _serve(
    ctx: AppContext, conn: InboundConnection, websocket: WebSocket, socket: OneBotSocket
) -> None:
    source = Source(conn.community_id, conn.id)
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)
    writing: set[asyncio.Task[None]] = set()
    known_self = conn.self_id

    async def write(records: Any) -> None:
        try:
            await ctx.stream_writer.write(source, records)
        except Exception:
            log.exception("onebot connection %s: storing an event failed", conn.id)
        finally:
            slots.release()

    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text") or message.get("bytes") or b""
            try:
                frame: Any = orjson.loads(data)
            except orjson.JSONDecodeError:
                log.warning("onebot connection %s sent a frame that is not JSON", conn.id)
                continue
            if isinstance(frame, dict) and "post_type" not in frame and "echo" in frame:
                socket.resolve(frame)
                continue
            parsed = parse_event(frame, received_at=utcnow())
            if parsed.self_id and parsed.self_id != known_self:
                await _note_self_id(ctx, None, conn, parsed.self_id)
                known_self = parsed.self_id
            if parsed.records:
                await slots.acquire()
                task = asyncio.create_task(write(parsed.records))
                writing.add(task)
                task.add_done_callback(writing.discard)
    finally:
        if writing:
            await asyncio.gather(*writing, return_exceptions=True)
