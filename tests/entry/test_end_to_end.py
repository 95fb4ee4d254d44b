"""Entry control end to end: a running Qunyun hears a platform peer over HTTP, its
entry follower decides, and its outbox answers through the platform's API.

- OneBot: a group add request with a comment → set_group_add_request (approve, or
  refuse with a reason); a group_increase → set_group_ban for the newcomer; "同意" →
  the ban lifted (duration 0).
- Telegram: chat_join_request → approveChatJoinRequest / declineChatJoinRequest, the
  Bot API server checked by aiogram's models.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from qunyun.app import create_app
from qunyun.db.engine import Database
from qunyun.platforms.models import PlatformConnection
from tests.conftest import make_settings
from tests.entry.conftest import set_entry
from tests.platforms.onebot.support import HttpPeer
from tests.platforms.onebot.support import fixture as onebot_fixture
from tests.platforms.served import Served, serve, wait_until
from tests.platforms.telegram.support import FakeBotApi, TelegramPeer
from tests.platforms.telegram.support import fixture as telegram_fixture

QUESTION = {"question": "从哪里知道我们的？", "keywords": ["公众号", "朋友介绍"]}
ONEBOT_SECRET = "onebot-hmac-secret"
TG_SECRET = "tg_secret-0123456789"
TG_TOKEN = "123456:TEST-token"


class FakeOneBot:
    """A OneBot implementation's HTTP API: records every call, answers ok."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.app = Starlette(routes=[Route("/{action}", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> JSONResponse:
        self.calls.append((request.path_params["action"], json.loads(await request.body())))
        return JSONResponse({"status": "ok", "retcode": 0, "data": None})

    def of(self, action: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == action]


def add_connection(db: Database, platform: str, **fields: Any) -> PlatformConnection:
    with db.transaction() as session:
        conn = PlatformConnection(
            community_id=1,
            platform=platform,
            name=f"{platform} 机器人",
            key=secrets.token_urlsafe(16),
            enabled=True,
            **fields,
        )
        session.add(conn)
        session.flush()
        session.expunge(conn)
    return conn


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[Served]:
    with serve(create_app(make_settings(tmp_path, db), db)) as served:
        yield served


@pytest.fixture
def onebot(server: Served, db: Database) -> Iterator[tuple[HttpPeer, FakeOneBot]]:
    fake = FakeOneBot()
    with serve(fake.app) as api:
        conn = add_connection(db, "onebot", inbound_secret=ONEBOT_SECRET, api_url=api.url)
        peer = HttpPeer(server.url, conn.key, ONEBOT_SECRET)
        yield peer, fake
        peer.close()


def now() -> int:
    # The recorded fixtures are from 2024; requests that old would wait for a person.
    return int(time.time())


def group_request(user: int, comment: str, flag: str) -> dict[str, Any]:
    event = deepcopy(onebot_fixture("request_group_add"))
    event.update(user_id=user, comment=comment, flag=flag, time=now())
    return event


def test_onebot_join_requests_are_answered_by_their_answers(
    onebot: tuple[HttpPeer, FakeOneBot], db: Database
) -> None:
    peer, fake = onebot
    set_entry(db, questions=[QUESTION], unanswered="reject")
    good = peer.post(
        group_request(7788990011, "问题：从哪里知道我们的？\n答案：公众号文章", "f-good")
    )
    bad = peer.post(group_request(7788990022, "问题：从哪里知道我们的？\n答案：随便看看", "f-bad"))
    assert (good.status_code, bad.status_code) == (204, 204)

    wait_until(lambda: len(fake.of("set_group_add_request")) == 2, "both answers")
    answers = {call["flag"]: call for call in fake.of("set_group_add_request")}
    assert answers["f-good"] == {"flag": "f-good", "sub_type": "add", "approve": True}
    refused = answers["f-bad"]
    assert (refused["approve"], refused["sub_type"]) == (False, "add")
    assert refused["reason"].startswith("抱歉，你的回答没有通过入群问题")


def test_onebot_newcomer_is_muted_until_they_say_the_keyword(
    onebot: tuple[HttpPeer, FakeOneBot], db: Database
) -> None:
    peer, fake = onebot
    set_entry(db, accept_rules=True, accept_mute_seconds=86400)
    joined = {**onebot_fixture("notice_group_increase_approve"), "time": now()}
    peer.post(joined)
    newcomer = joined["user_id"]
    wait_until(lambda: len(fake.of("set_group_ban")) == 1, "the mute")
    assert fake.of("set_group_ban")[0] == {
        "group_id": joined["group_id"],
        "user_id": newcomer,
        "duration": 86400,
    }
    wait_until(lambda: len(fake.of("send_group_msg")) == 1, "the welcome")
    welcome = json.dumps(fake.of("send_group_msg")[0], ensure_ascii=False)
    assert "/accept/" in welcome and "/rules/default/" in welcome

    said = deepcopy(onebot_fixture("message_group_string"))
    said.update(
        user_id=newcomer,
        group_id=joined["group_id"],
        message="同意",
        raw_message="同意",
        message_id=424242,
        time=joined["time"] + 60,
    )
    said["sender"] = {**said.get("sender", {}), "user_id": newcomer}
    peer.post(said)
    wait_until(lambda: len(fake.of("set_group_ban")) == 2, "the unmute")
    assert fake.of("set_group_ban")[1] == {
        "group_id": joined["group_id"],
        "user_id": newcomer,
        "duration": 0,
    }


@pytest.fixture
def telegram(server: Served, db: Database) -> Iterator[tuple[TelegramPeer, FakeBotApi]]:
    fake = FakeBotApi(TG_TOKEN)
    with serve(fake.app()) as api:
        conn = add_connection(
            db, "telegram", inbound_secret=TG_SECRET, access_token=TG_TOKEN, api_url=api.url
        )
        peer = TelegramPeer(server.url, conn.key, TG_SECRET)
        yield peer, fake
        peer.close()


def join_request_update(update_id: int, user: int, bio: str) -> dict[str, Any]:
    update = deepcopy(telegram_fixture("chat_join_request"))
    update["update_id"] = update_id
    request = update["chat_join_request"]
    request["from"]["id"] = request["user_chat_id"] = user
    request["bio"] = bio
    request["date"] = now()
    return update


def test_telegram_join_requests_are_approved_or_declined(
    telegram: tuple[TelegramPeer, FakeBotApi], db: Database
) -> None:
    peer, fake = telegram
    set_entry(
        db, questions=[{"question": "学号？", "patterns": [r"学号\s*\d{7}"]}], unanswered="reject"
    )
    assert (
        peer.post(join_request_update(1, 333333333, "我是来学习的，学号 2024001")).status_code
        == 204
    )
    assert peer.post(join_request_update(2, 333333334, "路过")).status_code == 204

    def answered() -> list[tuple[str, dict[str, Any]]]:
        return [
            c for c in fake.calls if c[0] in ("approveChatJoinRequest", "declineChatJoinRequest")
        ]

    wait_until(lambda: len(answered()) == 2, "both answers")
    chat = telegram_fixture("chat_join_request")["chat_join_request"]["chat"]["id"]
    assert sorted(answered()) == [
        ("approveChatJoinRequest", {"chat_id": chat, "user_id": 333333333}),
        ("declineChatJoinRequest", {"chat_id": chat, "user_id": 333333334}),
    ]
    assert fake.invalid == []
