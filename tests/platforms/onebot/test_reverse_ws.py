"""Reverse WebSocket over a real socket: the peer connects to Qunyun as an implementation
does (X-Client-Role, Authorization: Bearer), sends events and answers API calls by echo.
API calls fall back to the implementation's HTTP API, served here by a fake OneBot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from qunyun.db.engine import Database
from qunyun.platforms.actions import Action, ActionKind, ActionResult
from qunyun.platforms.onebot.client import OneBotClient
from qunyun.platforms.onebot.sockets import sockets_of
from qunyun.platforms.registry import build_client
from tests.platforms.onebot.support import (
    add_connection,
    fixture,
    reload,
)
from tests.platforms.served import Served, free_port, serve, stored, wait_until

TOKEN = "ws-token-0f9a"
API_TOKEN = "http-api-token"


class FakeOneBotApi:
    """OneBot's HTTP API: ``POST /{action}`` with a JSON body, checking the Bearer token."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []
        self.app = Starlette(routes=[Route("/{action}", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        auth = request.headers.get("authorization")
        action = request.path_params["action"]
        self.calls.append((action, json.loads(await request.body()), auth))
        if auth is None:
            return Response(status_code=401)
        if auth != f"Bearer {API_TOKEN}":
            return Response(status_code=403)
        if action == "get_group_info":
            return Response(status_code=500)
        if action == "set_group_card":
            return JSONResponse(
                {"status": "failed", "retcode": 102, "data": None, "msg": "NO_PERMISSION"}
            )
        return JSONResponse({"status": "ok", "retcode": 0, "data": {"message_id": 4242}})


@pytest.fixture
def fake_api() -> Iterator[tuple[FakeOneBotApi, str]]:
    fake = FakeOneBotApi()
    with serve(fake.app) as served:
        yield fake, served.url


def ws_url(server: Served, key: str, query: str = "") -> str:
    return server.url.replace("http://", "ws://") + f"/hooks/onebot/{key}/ws{query}"


def open_ws(
    server: Served, key: str, token: str | None = TOKEN, role: str = "Universal", query: str = ""
) -> ClientConnection:
    headers = {"X-Self-ID": "2854196310", "X-Client-Role": role, "User-Agent": "OneBot/11"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return connect(ws_url(server, key, query), additional_headers=headers, proxy=None)


def refused_status(server: Served, key: str, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as refused:
        open_ws(server, key, **kwargs)
    return refused.value.response.status_code


def perform(server: Served, client: OneBotClient, action: Action) -> Any:
    """Start ``action`` on the server's loop; the caller answers it as the peer."""
    import asyncio

    return asyncio.run_coroutine_threadsafe(client.perform(action), server.loop)


_OPEN_CLIENTS: list[OneBotClient] = []


@pytest.fixture(autouse=True)
def _close_clients(sqlite_server: Served) -> Iterator[None]:
    yield
    while _OPEN_CLIENTS:
        sqlite_server.run(_OPEN_CLIENTS.pop().aclose())


def client_of(server: Served, db: Database, connection_id: int, **kwargs: Any) -> OneBotClient:
    client = build_client(reload(db, connection_id), server.ctx)
    assert isinstance(client, OneBotClient)
    _OPEN_CLIENTS.append(client)
    for name, value in kwargs.items():
        setattr(client, name, value)
    return client


def test_tokens_are_checked(sqlite_server: Served, sqlite_db: Database) -> None:
    conn = add_connection(sqlite_db, token=TOKEN)
    assert refused_status(sqlite_server, conn.key, token=None) == 401
    assert refused_status(sqlite_server, conn.key, token="wrong") == 403
    assert refused_status(sqlite_server, conn.key, token=None, query="?access_token=nope") == 403
    assert refused_status(sqlite_server, "no-such-key") == 404
    assert refused_status(sqlite_server, conn.key, role="Spectator") == 400
    assert sockets_of(sqlite_server.ctx) == {}
    # The spec's other way to present the token: the query string.
    with open_ws(sqlite_server, conn.key, token=None, query=f"?access_token={TOKEN}"):
        wait_until(lambda: conn.id in sockets_of(sqlite_server.ctx), "the socket")
    # Refusals are counted with the next batch the stream writer commits.
    add = add_connection(sqlite_db)
    with open_ws(sqlite_server, add.key, token=None) as ws:
        ws.send(json.dumps(fixture("notice_group_card")))
        wait_until(lambda: len(stored(sqlite_db)) == 1, "the event")
    assert reload(sqlite_db, conn.id).rejected_count == 3


def test_events_arrive_and_api_calls_match_by_echo(
    sqlite_server: Served, sqlite_db: Database
) -> None:
    conn = add_connection(sqlite_db, token=TOKEN)
    client = client_of(sqlite_server, sqlite_db, conn.id)
    with open_ws(sqlite_server, conn.key) as ws:
        for name in ("meta_lifecycle_connect", "message_group_string", "notice_group_recall"):
            ws.send(json.dumps(fixture(name), ensure_ascii=False))
        ws.send(b"not json")  # ignored, the socket stays up
        ws.send(json.dumps(fixture("message_group_string")).encode())  # a duplicate, as bytes
        wait_until(lambda: len(stored(sqlite_db)) == 2, "two records")
        wait_until(lambda: conn.id in sockets_of(sqlite_server.ctx), "the socket")

        action = Action(
            ActionKind.send_message,
            "736584321",
            {"text": "欢迎！", "reply_to": "1944201187", "mentions": ["1580512077"]},
        )
        pending = perform(sqlite_server, client, action)
        second = perform(
            sqlite_server,
            client,
            Action(ActionKind.mute, "736584321", {"user": "5566778899", "seconds": 600}),
        )
        frames = [json.loads(ws.recv(timeout=10)), json.loads(ws.recv(timeout=10))]
        by_action = {f["action"]: f for f in frames}
        assert by_action["send_group_msg"]["params"] == {
            "group_id": 736584321,
            "auto_escape": False,
            "message": [
                {"type": "reply", "data": {"id": "1944201187"}},
                {"type": "at", "data": {"qq": "1580512077"}},
                {"type": "text", "data": {"text": " "}},
                {"type": "text", "data": {"text": "欢迎！"}},
            ],
        }
        assert by_action["set_group_ban"]["params"] == {
            "group_id": 736584321,
            "user_id": 5566778899,
            "duration": 600,
        }
        assert frames[0]["echo"] != frames[1]["echo"]
        # Answered in the other order: each reaches its own caller.
        ws.send(
            json.dumps(
                {
                    "status": "failed",
                    "retcode": 102,
                    "data": None,
                    "echo": by_action["set_group_ban"]["echo"],
                }
            )
        )
        ws.send(
            json.dumps(
                {
                    "status": "ok",
                    "retcode": 0,
                    "data": {"message_id": 77},
                    "echo": by_action["send_group_msg"]["echo"],
                }
            )
        )
        assert pending.result(10) == ActionResult.success({"message_id": 77})
        muted = second.result(10)
        assert not muted.ok and not muted.retryable
    rows = stored(sqlite_db)
    assert [r.kind for r in rows] == ["message_posted", "message_recalled"]
    assert reload(sqlite_db, conn.id).self_id == "2854196310"
    wait_until(lambda: conn.id not in sockets_of(sqlite_server.ctx), "the socket to go")


def test_a_reconnect_replaces_the_old_socket(sqlite_server: Served, sqlite_db: Database) -> None:
    conn = add_connection(sqlite_db, token=TOKEN)
    client = client_of(sqlite_server, sqlite_db, conn.id)
    registry = sockets_of(sqlite_server.ctx)
    with open_ws(sqlite_server, conn.key) as old:
        wait_until(lambda: conn.id in registry, "the first socket")
        first = registry[conn.id]
        with open_ws(sqlite_server, conn.key) as new:
            wait_until(lambda: registry.get(conn.id) not in (None, first), "the second socket")
            old.close()
            wait_until(lambda: first.closed, "the first socket to close")
            assert conn.id in registry
            pending = perform(
                sqlite_server, client, Action(ActionKind.whole_mute, "736584321", {"enable": True})
            )
            frame = json.loads(new.recv(timeout=10))
            assert frame["action"] == "set_group_whole_ban"
            new.send(
                json.dumps({"status": "ok", "retcode": 0, "data": None, "echo": frame["echo"]})
            )
            assert pending.result(10).ok
            # Events still arrive on the new socket.
            new.send(json.dumps(fixture("notice_group_increase_invite")))
            wait_until(lambda: len(stored(sqlite_db)) == 1, "the event")


def test_an_event_socket_carries_no_calls_and_silence_times_out(
    sqlite_server: Served, sqlite_db: Database
) -> None:
    conn = add_connection(sqlite_db, token=TOKEN)
    client = client_of(sqlite_server, sqlite_db, conn.id, timeout=0.3)
    action = Action(ActionKind.get_group_info, "736584321")
    with open_ws(sqlite_server, conn.key, role="Event") as ws:
        ws.send(json.dumps(fixture("notice_group_card")))
        wait_until(lambda: len(stored(sqlite_db)) == 1, "the event")
        assert conn.id not in sockets_of(sqlite_server.ctx)
        assert perform(sqlite_server, client, action).result(10) == ActionResult.failure(
            "onebot.not_connected", retryable=True
        )
    with open_ws(sqlite_server, conn.key, role="API") as ws:
        wait_until(lambda: conn.id in sockets_of(sqlite_server.ctx), "the socket")
        result = perform(sqlite_server, client, action).result(10)
        assert json.loads(ws.recv(timeout=10))["action"] == "get_group_info"
        assert result == ActionResult.failure("onebot.timeout", retryable=True)


def test_the_http_api_when_no_socket_is_live(
    sqlite_server: Served, sqlite_db: Database, fake_api: tuple[FakeOneBotApi, str]
) -> None:
    fake, api_url = fake_api
    conn = add_connection(sqlite_db, token=API_TOKEN, api_url=api_url + "/")
    client = client_of(sqlite_server, sqlite_db, conn.id)
    kick = Action(ActionKind.kick, "736584321", {"user": "2233445566", "reject_rejoin": True})
    assert sqlite_server.run(client.perform(kick)) == ActionResult.success({"message_id": 4242})
    assert fake.calls[-1] == (
        "set_group_kick",
        {"group_id": 736584321, "user_id": 2233445566, "reject_add_request": True},
        f"Bearer {API_TOKEN}",
    )
    answer = Action(
        ActionKind.answer_join_request,
        "736584321",
        {"request_id": "invite:1717201600123456", "approve": False, "reason": "不接受"},
    )
    assert sqlite_server.run(client.perform(answer)).ok
    assert fake.calls[-1][:2] == (
        "set_group_add_request",
        {"flag": "1717201600123456", "sub_type": "invite", "approve": False, "reason": "不接受"},
    )
    card = Action(ActionKind.set_nickname, "736584321", {"user": "1", "nickname": "x"})
    assert sqlite_server.run(client.perform(card)) == ActionResult.failure(
        "onebot.failed retcode=102 NO_PERMISSION", retryable=False
    )
    info = sqlite_server.run(client.perform(Action(ActionKind.get_group_info, "736584321")))
    assert info == ActionResult.failure("onebot.http_error http=500", retryable=True)
    unban = Action(ActionKind.unban, "736584321", {"user": "1"})
    assert sqlite_server.run(client.perform(unban)) == ActionResult.failure(
        "onebot.unsupported", retryable=False
    )
    calls_before = len(fake.calls)
    # With a live socket the same client goes over the socket instead.
    with open_ws(sqlite_server, conn.key, token=API_TOKEN) as ws:
        wait_until(lambda: conn.id in sockets_of(sqlite_server.ctx), "the socket")
        pending = perform(sqlite_server, client, kick)
        frame = json.loads(ws.recv(timeout=10))
        ws.send(json.dumps({"status": "ok", "retcode": 0, "data": None, "echo": frame["echo"]}))
        assert pending.result(10).ok
    assert len(fake.calls) == calls_before


def test_http_api_refusals_and_outages(
    sqlite_server: Served, sqlite_db: Database, fake_api: tuple[FakeOneBotApi, str]
) -> None:
    fake, api_url = fake_api
    action = Action(ActionKind.delete_message, "736584321", {"message_id": "-5"})
    wrong = add_connection(sqlite_db, token="wrong", api_url=api_url)
    result = sqlite_server.run(client_of(sqlite_server, sqlite_db, wrong.id).perform(action))
    assert result == ActionResult.failure("onebot.unauthorized http=403", retryable=False)
    assert fake.calls[-1][:2] == ("delete_msg", {"message_id": -5})
    nowhere = add_connection(sqlite_db, api_url=f"http://127.0.0.1:{free_port()}")
    result = sqlite_server.run(client_of(sqlite_server, sqlite_db, nowhere.id).perform(action))
    assert not result.ok and result.retryable
    assert (result.error or "").startswith("onebot.unreachable")
    bad = Action(ActionKind.kick, "not-a-group", {"user": "1"})
    result = sqlite_server.run(client_of(sqlite_server, sqlite_db, wrong.id).perform(bad))
    assert not result.ok and not result.retryable
