"""Qunyun delivering actions to a bridge: a receiving server on loopback verifies the
signature as the documentation describes, and answers as a bridge would."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qunyun.platforms.actions import Action, ActionKind, ActionResult
from qunyun.platforms.models import PlatformConnection
from qunyun.platforms.webhook.client import WebhookClient, build_client
from tests.conftest import run_async
from tests.platforms.served import serve

SECRET = "whsec_outbound_0123456789"


@dataclass
class Receiver:
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    answers: list[Response] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        stamp = request.headers.get("x-qunyun-timestamp", "")
        expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        supplied = request.headers.get("x-qunyun-signature", "")
        if not hmac.compare_digest(f"sha256={expected.hexdigest()}", supplied):
            self.refused.append("signature")
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if abs(time.time() - int(stamp)) > 300:
            self.refused.append("timestamp")
            return JSONResponse({"error": "stale"}, status_code=401)
        self.received.append(json.loads(body))
        if self.answers:
            return self.answers.pop(0)
        return JSONResponse({"message_id": "m-1"})


@pytest.fixture(scope="module")
def receiving() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/actions", receiver.handle, methods=["POST"])])
    with serve(app) as served:
        yield receiver, f"{served.url}/actions"


@pytest.fixture
def bridge(receiving: tuple[Receiver, str]) -> tuple[Receiver, str]:
    receiver, url = receiving
    receiver.received.clear()
    receiver.refused.clear()
    receiver.answers.clear()
    return receiver, url


def perform(url: str, action: Action, secret: str = SECRET) -> ActionResult:
    async def go() -> ActionResult:
        client = WebhookClient(url, secret)
        try:
            return await client.perform(action)
        finally:
            await client.aclose()

    return run_async(go())


MUTE = Action(ActionKind.mute, "g1", {"user": "zhangsan", "seconds": 600})


def test_an_action_is_delivered_signed(bridge: tuple[Receiver, str]) -> None:
    receiver, url = bridge
    result = perform(url, MUTE)
    assert result.ok and result.data == {"message_id": "m-1"}
    (body,) = receiver.received
    assert body["action"] == "mute"
    assert body["group"] == "g1"
    assert body["params"] == {"user": "zhangsan", "seconds": 600}
    assert len(body["id"]) == 32
    assert receiver.refused == []


def test_a_wrong_secret_is_refused_by_the_bridge_and_not_retried(
    bridge: tuple[Receiver, str],
) -> None:
    receiver, url = bridge
    result = perform(url, MUTE, secret="another")
    assert (result.ok, result.retryable) == (False, False)
    assert receiver.refused == ["signature"]
    assert result.error is not None and "401" in result.error


@pytest.mark.parametrize(
    ("answer", "ok", "retryable"),
    [
        (Response(status_code=204), True, True),
        (JSONResponse({"ok": False, "error": "no such group"}), False, False),
        (JSONResponse({"ok": False, "error": "busy", "retryable": True}), False, True),
        (JSONResponse({"error": "unknown action"}, status_code=400), False, False),
        (JSONResponse({"error": "slow down"}, status_code=429), False, True),
        (Response("oops", status_code=500), False, True),
        (Response("<html>bad gateway</html>", status_code=502), False, True),
    ],
)
def test_answers_map_to_results(
    bridge: tuple[Receiver, str], answer: Response, ok: bool, retryable: bool
) -> None:
    receiver, url = bridge
    receiver.answers.append(answer)
    result = perform(url, MUTE)
    assert result.ok is ok
    if not ok:
        assert result.retryable is retryable
        assert result.error is not None and result.error.startswith("webhook.")


def _refuse_to_connect(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def test_an_unreachable_bridge_is_retryable() -> None:
    async def go() -> ActionResult:
        http = httpx.AsyncClient(transport=httpx.MockTransport(_refuse_to_connect))
        client = WebhookClient("http://bridge.invalid/actions", SECRET, http=http)
        try:
            return await client.perform(MUTE)
        finally:
            await client.aclose()

    result = run_async(go())
    assert (result.ok, result.retryable) == (False, True)


def test_a_connection_without_url_or_secret_cannot_deliver() -> None:
    assert perform("", MUTE).retryable is False
    assert perform("http://127.0.0.1:9/x", MUTE, secret="").error == "webhook.no_secret"


def test_build_client_reads_the_connection(bridge: tuple[Receiver, str]) -> None:
    receiver, url = bridge
    connection = PlatformConnection(platform="webhook", api_url=url, inbound_secret=SECRET)

    async def go() -> ActionResult:
        client = build_client(connection, None)  # type: ignore[arg-type]
        try:
            return await client.perform(Action(ActionKind.send_message, "g1", {"text": "你好"}))
        finally:
            await client.aclose()

    assert run_async(go()).ok
    assert receiver.received[0]["params"] == {"text": "你好"}


def test_a_private_message_reaches_the_bridge_with_its_user(bridge: tuple[Receiver, str]) -> None:
    receiver, url = bridge
    action = Action(ActionKind.send_private, "g1", {"user": "zhangsan", "text": "验证码 1234"})
    assert perform(url, action).ok
    (body,) = receiver.received
    assert (body["action"], body["group"]) == ("send_private", "g1")
    assert body["params"] == {"user": "zhangsan", "text": "验证码 1234"}
