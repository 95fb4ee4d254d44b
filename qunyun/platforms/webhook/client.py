"""Actions for a bridge: POSTed as JSON to the connection's URL, signed like deliveries.

The body is ``{"id", "action", "group", "params"}``; the bridge answers 2xx when done,
with a JSON body that becomes the action's result data. A 2xx body of ``{"ok": false,
"error": "...", "retryable": bool}`` reports a failure. 4xx (except 408 and 429) says
trying again cannot help; 5xx, 408, 429 and network trouble may pass. Retrying with
backoff is the outbox's work; the client only reports.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from qunyun.platforms.actions import Action, ActionResult
from qunyun.platforms.models import PlatformConnection
from qunyun.platforms.webhook import signing

if TYPE_CHECKING:
    from qunyun.web.context import AppContext

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
RETRYABLE_4XX = frozenset({408, 425, 429})


def action_body(action: Action, delivery_id: str) -> bytes:
    return orjson.dumps(
        {
            "id": delivery_id,
            "action": action.kind.value,
            "group": action.group,
            "params": dict(action.params),
        }
    )


def _answer(response: httpx.Response) -> ActionResult:
    status = response.status_code
    try:
        data: Any = response.json() if response.content else None
    except ValueError:
        data = response.text[:2000]
    if 200 <= status < 300:
        if isinstance(data, Mapping) and data.get("ok") is False:
            return ActionResult(
                ok=False,
                data=data,
                error=f"webhook.refused {str(data.get('error', ''))[:300]}",
                retryable=bool(data.get("retryable", False)),
            )
        return ActionResult.success(data)
    detail = data.get("error", "") if isinstance(data, Mapping) else ""
    retryable = status >= 500 or status in RETRYABLE_4XX
    return ActionResult.failure(
        f"webhook.http_error {status} {str(detail)[:300]}".rstrip(), retryable=retryable
    )


class WebhookClient:
    def __init__(
        self,
        url: str | None,
        secret: str | None,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.secret = secret
        self._http = http or httpx.AsyncClient(timeout=TIMEOUT)
        self._clock = clock

    async def aclose(self) -> None:
        await self._http.aclose()

    async def perform(self, action: Action) -> ActionResult:
        if not self.url:
            return ActionResult.failure("webhook.no_url", retryable=False)
        if not self.secret:
            return ActionResult.failure("webhook.no_secret", retryable=False)
        body = action_body(action, action.id or uuid.uuid4().hex)
        headers = {"Content-Type": "application/json"}
        headers.update(signing.headers(self.secret, int(self._clock()), body))
        try:
            response = await self._http.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return ActionResult.failure("webhook.timeout", retryable=True)
        except httpx.HTTPError as exc:
            return ActionResult.failure(f"webhook.unreachable {type(exc).__name__}", retryable=True)
        return _answer(response)


def build_client(connection: PlatformConnection, ctx: AppContext) -> WebhookClient:
    return WebhookClient(connection.api_url, connection.inbound_secret)
