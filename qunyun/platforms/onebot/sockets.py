"""Live reverse WebSockets from OneBot implementations, and API calls over them.

One socket per connection carries API calls (the latest Universal or API socket: a
reconnect replaces the old one). A call goes out as ``{action, params, echo}``; the
answer comes back on the same socket with the same ``echo``.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from starlette.websockets import WebSocket

if TYPE_CHECKING:
    from qunyun.web.context import AppContext

EXTRAS_KEY = "onebot_sockets"


class SocketClosed(ConnectionError):
    pass


class OneBotSocket:
    def __init__(self, websocket: WebSocket, connection_id: int, role: str) -> None:
        self.websocket = websocket
        self.connection_id = connection_id
        self.role = role
        self.closed = False
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._send_lock = asyncio.Lock()
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(1)

    async def call(self, action: str, params: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        """Send one API call and wait for its answer (raises TimeoutError, SocketClosed)."""
        if self.closed:
            raise SocketClosed("the socket is closed")
        echo = f"qy-{self._prefix}-{next(self._counter)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[echo] = future
        try:
            frame = orjson.dumps({"action": action, "params": dict(params), "echo": echo})
            try:
                async with self._send_lock:
                    await self.websocket.send_text(frame.decode("utf-8"))
            except (RuntimeError, OSError) as exc:  # the socket went away while sending
                raise SocketClosed(str(exc)) from exc
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(echo, None)

    def resolve(self, frame: Mapping[str, Any]) -> bool:
        """Hand an API answer to its caller; False when nobody waits for that echo."""
        echo = frame.get("echo")
        future = self._pending.get(echo) if isinstance(echo, str) else None
        if future is None or future.done():
            return False
        future.set_result(dict(frame))
        return True

    def close(self) -> None:
        self.closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(SocketClosed("the socket closed before answering"))
        self._pending.clear()


def sockets_of(ctx: AppContext) -> dict[int, OneBotSocket]:
    registry: dict[int, OneBotSocket] = ctx.extras.setdefault(EXTRAS_KEY, {})
    return registry


def register(ctx: AppContext, socket: OneBotSocket) -> None:
    sockets_of(ctx)[socket.connection_id] = socket


def unregister(ctx: AppContext, socket: OneBotSocket) -> None:
    socket.close()
    registry = sockets_of(ctx)
    if registry.get(socket.connection_id) is socket:
        del registry[socket.connection_id]
