"""Actions to a OneBot implementation: over its reverse WebSocket when it is connected,
otherwise through its HTTP API (``POST {api_url}/{action}`` with the access token)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx

from qunyun.platforms.actions import Action, ActionResult
from qunyun.platforms.models import PlatformConnection
from qunyun.platforms.onebot.calls import Call, Unsupported, to_call, to_result
from qunyun.platforms.onebot.sockets import SocketClosed, sockets_of

if TYPE_CHECKING:
    from qunyun.web.context import AppContext

log = logging.getLogger("qunyun.platforms.onebot")

TIMEOUT_SECONDS = 15.0
# HTTP statuses of OneBot's HTTP API that a retry will not change.
_FINAL_HTTP = {400: "bad_request", 401: "unauthorized", 403: "unauthorized", 404: "unsupported",
               406: "bad_request"}  # fmt: skip


class OneBotClient:
    def __init__(
        self,
        ctx: AppContext,
        connection_id: int,
        api_url: str | None,
        access_token: str | None,
        *,
        timeout: float = TIMEOUT_SECONDS,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.ctx = ctx
        self.connection_id = connection_id
        self.api_url = api_url.rstrip("/") if api_url else None
        self.access_token = access_token
        self.timeout = timeout
        self._http = http

    async def perform(self, action: Action) -> ActionResult:
        try:
            call = to_call(action)
        except Unsupported:
            return ActionResult.failure("onebot.unsupported", retryable=False)
        except (ValueError, TypeError) as exc:
            return ActionResult.failure(f"onebot.bad_params {exc}", retryable=False)
        return await self.call(call)

    async def call(self, call: Call) -> ActionResult:
        socket = sockets_of(self.ctx).get(self.connection_id)
        if socket is not None and not socket.closed:
            try:
                answer = await socket.call(call.action, call.params, self.timeout)
            except TimeoutError:
                return ActionResult.failure("onebot.timeout", retryable=True)
            except SocketClosed:
                if self.api_url is None:
                    return ActionResult.failure("onebot.not_connected", retryable=True)
                # The socket dropped mid-call: the HTTP API may still answer.
            else:
                return to_result(answer)
        if self.api_url is None:
            return ActionResult.failure("onebot.not_connected", retryable=True)
        return await self._post(call)

    async def _post(self, call: Call) -> ActionResult:
        assert self.api_url is not None
        headers = {"Content-Type": "application/json"}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.timeout)
        try:
            response = await self._http.post(
                f"{self.api_url}/{call.action}", json=call.params, headers=headers
            )
        except httpx.TimeoutException:
            return ActionResult.failure("onebot.timeout", retryable=True)
        except httpx.HTTPError as exc:
            return ActionResult.failure(f"onebot.unreachable {type(exc).__name__}", retryable=True)
        if response.status_code in _FINAL_HTTP:
            reason = _FINAL_HTTP[response.status_code]
            return ActionResult.failure(
                f"onebot.{reason} http={response.status_code}", retryable=False
            )
        if response.status_code >= 300:
            return ActionResult.failure(f"onebot.http_error http={response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            return ActionResult.failure("onebot.bad_answer", retryable=True)
        return to_result(answer)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def build_client(connection: PlatformConnection, ctx: AppContext) -> OneBotClient:
    return OneBotClient(ctx, connection.id, connection.api_url, connection.access_token)
