"""The ceiling for webhook deliveries: read the whole body, answer 204, store nothing.

Served by the same server software and settings as Qunyun, so the benchmark's ratio
measures Qunyun's own cost (lookup, signature, parsing, the committed write).
"""

from __future__ import annotations

from typing import Any

HEADERS = [(b"content-length", b"0")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": HEADERS})
    await send({"type": "http.response.body", "body": b""})
