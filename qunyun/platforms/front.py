"""Platform deliveries skip the web framework's router.

Routing a request through FastAPI's few hundred routes and its dependency machinery
costs more CPU than storing the delivery; chat platforms post one event per request,
thousands a second. So ``POST /hooks/<platform>/<key>`` is matched here, in front of
the application, and handed straight to the same endpoint function the router would
call (the route stays registered, for the OpenAPI document and for anything that
reaches the application directly).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from qunyun.platforms.onebot import routes as onebot
from qunyun.platforms.telegram import routes as telegram
from qunyun.platforms.webhook import routes as webhook

log = logging.getLogger("qunyun.platforms")

Endpoint = Callable[[str, Request], Awaitable[Response]]

ENDPOINTS: dict[str, Endpoint] = {
    "onebot": onebot.deliver,
    "telegram": telegram.deliver,
    "webhook": webhook.deliver,
}
HOOK_PATH = re.compile(r"/hooks/(onebot|telegram|webhook)/([A-Za-z0-9_\-]{1,64})")


class HooksFront:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __getattr__(self, name: str) -> object:
        # Reads through to the application (its routes, its OpenAPI document).
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            match = HOOK_PATH.fullmatch(scope["path"])
            if match is not None:
                scope["app"] = self.app
                request = Request(scope, receive)
                response = await self._answer(match.group(1), match.group(2), request)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _answer(self, platform: str, key: str, request: Request) -> Response:
        try:
            return await ENDPOINTS[platform](key, request)
        except ClientDisconnect:
            # The platform gave up waiting; it will deliver again.
            return Response(status_code=499)
        except Exception:
            log.exception("%s delivery failed", platform)
            return JSONResponse({"code": "internal", "message": "internal error"}, status_code=500)
