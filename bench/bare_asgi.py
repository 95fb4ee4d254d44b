"""The ceiling: the smallest ASGI application that answers every request with a 302.

Served by the same server software and settings as Qunyun, so the benchmark's ratio
measures Qunyun's own cost, not uvicorn's.
"""

from __future__ import annotations

from typing import Any

HEADERS = [
    (b"location", b"https://example.com/landing"),
    (b"cache-control", b"no-store"),
    (b"content-length", b"0"),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 302, "headers": HEADERS})
    await send({"type": "http.response.body", "body": b""})
