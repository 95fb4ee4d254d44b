"""End to end over real HTTP: a OneBot implementation and Telegram deliver messages to a
running Qunyun; the moderation follower judges them and the outbox carries the
decisions to fake platform APIs, which record every call they receive.

- OneBot: events posted by :class:`~tests.platforms.onebot.support.HttpPeer`, actions
  answered by :class:`FakeOneBotApi` (OneBot v11's HTTP API: ``POST /<action>``).
- Telegram: Updates posted by :class:`~tests.platforms.telegram.support.TelegramPeer`,
  actions answered by :class:`~tests.platforms.telegram.support.FakeBotApi`, which
  validates every request with aiogram's method models.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from qunyun.community.models import GroupMembership, MemberIdentity
from qunyun.db.engine import Database
from qunyun.platforms.models import PlatformAction
from tests.enforcement.support import AD, AD_AGAIN, cases, save_book
from tests.platforms.onebot.support import HttpPeer
from tests.platforms.served import Served, add_connection, serve, wait_until
from tests.platforms.telegram.support import FakeBotApi, TelegramPeer

GROUP = 736584321
BOT_QQ = 2854196310
OB_SECRET = "onebot-secret-e2e"
OB_TOKEN = "onebot-access-token"
TG_SECRET = "tg_secret-e2e_0123456789"
TG_TOKEN = "123456789:AAH-enforcement_e2e_token"
TG_CHAT = -1001234567890


@dataclass
class FakeOneBotApi:
    """OneBot v11's HTTP API: every call recorded, every answer a success."""

    token: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{action}", self._handle, methods=["POST"])])

    async def _handle(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            self.refused.append(request.path_params["action"])
            return JSONResponse({"status": "failed", "retcode": 1403}, status_code=403)
        action = request.path_params["action"]
        self.calls.append((action, await request.json()))
        data = {"message_id": 9000 + len(self.calls)} if action.startswith("send_") else None
        return JSONResponse({"status": "ok", "retcode": 0, "data": data})

    def named(self, action: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == action]


def onebot_message(
    message_id: int, user: int, text: str, *, role: str = "member", card: str = ""
) -> dict[str, Any]:
    """A group message as NapCat/Lagrange post it (array format)."""
    return {
        "self_id": BOT_QQ,
        "user_id": user,
        "time": int(time.time()),
        "message_id": message_id,
        "message_seq": message_id,
        "real_id": message_id,
        "message_type": "group",
        "sender": {"user_id": user, "nickname": f"QQ{user}", "card": card, "role": role},
        "raw_message": text,
        "font": 14,
        "sub_type": "normal",
        "message": [{"type": "text", "data": {"text": text}}],
        "message_format": "array",
        "post_type": "message",
        "group_id": GROUP,
    }


@dataclass
class OneBotSetup:
    server: Served
    peer: HttpPeer
    api: FakeOneBotApi
    db: Database


@pytest.fixture
def onebot(server: Served, db: Database) -> Iterator[OneBotSetup]:
    api = FakeOneBotApi(OB_TOKEN)
    with serve(api.app()) as served_api:
        conn = add_connection(
            db, "onebot", secret=OB_SECRET, token=OB_TOKEN, api_url=served_api.url
        )
        peer = HttpPeer(server.url, conn.key, OB_SECRET)
        try:
            yield OneBotSetup(server, peer, api, db)
        finally:
            peer.close()


def _post(setup: OneBotSetup, event: dict[str, Any]) -> None:
    response = setup.peer.post(event)
    assert response.status_code == 204, response.text


def _open_actions(db: Database) -> int:
    with db.session(write=False) as session:
        return len(list(session.scalars(select(PlatformAction.id))))


def test_onebot_an_evaded_ad_is_deleted_warned_then_muted(onebot: OneBotSetup) -> None:
    api, db = onebot.api, onebot.db
    _post(onebot, onebot_message(101, 10001, "大家好，我是新来的"))
    _post(onebot, onebot_message(102, 10001, AD))
    wait_until(
        lambda: bool(api.named("delete_msg") and api.named("send_group_msg")), "delete + notice"
    )
    assert api.named("delete_msg") == [{"message_id": 102}]
    (notice,) = api.named("send_group_msg")
    assert notice["group_id"] == GROUP
    segments = notice["message"]
    assert segments[0] == {"type": "at", "data": {"qq": "10001"}}
    text = segments[-1]["data"]["text"]
    (case,) = cases(db)
    assert case.rule_id == "category:ads" and case.step_action == "warn"
    assert "薇❤信" in text and "提醒（第 1 次）" in text
    assert f"/appeal/{case.appeal_token}" in text

    _post(onebot, onebot_message(103, 10001, AD_AGAIN))
    wait_until(lambda: bool(api.named("set_group_ban")), "the mute")
    assert api.named("set_group_ban") == [{"group_id": GROUP, "user_id": 10001, "duration": 3600}]
    wait_until(lambda: len(api.named("send_group_msg")) == 2, "the second notice")
    assert "禁言 1 小时" in api.named("send_group_msg")[1]["message"][-1]["data"]["text"]
    assert {m["message_id"] for m in api.named("delete_msg")} == {102, 103}
    assert api.refused == []
    # A redelivery of the same event is stored once and judged once.
    _post(onebot, onebot_message(103, 10001, AD_AGAIN))
    assert len(cases(db)) == 2


def test_onebot_the_group_owner_is_treated_the_same(onebot: OneBotSetup) -> None:
    api, db = onebot.api, onebot.db
    _post(onebot, onebot_message(201, 20002, "今晚群里有活动", role="owner"))
    wait_until(lambda: _membership(db, "qq", "20002") is not None, "the owner's membership")
    _set_role(db, "qq", "20002", "owner")
    _post(onebot, onebot_message(202, 20002, AD, role="owner"))
    wait_until(lambda: bool(api.named("delete_msg")), "the owner's ad deleted")
    _post(onebot, onebot_message(203, 20002, AD_AGAIN, role="owner"))
    wait_until(lambda: bool(api.named("set_group_ban")), "the owner muted")
    assert api.named("set_group_ban") == [{"group_id": GROUP, "user_id": 20002, "duration": 3600}]
    assert [c.status for c in cases(db)] == ["applied", "applied"]


def test_onebot_dry_run_records_and_the_platform_sees_nothing(onebot: OneBotSetup) -> None:
    api, db = onebot.api, onebot.db
    save_book(db, {"dry_run": True})
    _post(onebot, onebot_message(301, 30003, AD))
    _post(onebot, onebot_message(302, 30003, AD_AGAIN))
    wait_until(lambda: len(cases(db)) == 2, "two cases")
    assert [c.status for c in cases(db)] == ["dry_run", "dry_run"]
    assert _open_actions(db) == 0  # nothing was queued for the platform
    # A clean message after them shows the follower has moved on: still nothing sent.
    _post(onebot, onebot_message(303, 30003, "谢谢大家"))
    wait_until(lambda: _cursor(db) >= _last_record(db), "the follower to catch up")
    assert api.calls == []


def _membership(db: Database, platform: str, user: str) -> GroupMembership | None:
    with db.session(write=False) as session:
        return session.scalar(
            select(GroupMembership)
            .join(MemberIdentity, MemberIdentity.member_id == GroupMembership.member_id)
            .where(MemberIdentity.platform == platform, MemberIdentity.platform_user_id == user)
        )


def _set_role(db: Database, platform: str, user: str, role: str) -> None:
    with db.transaction() as session:
        membership = session.scalar(
            select(GroupMembership)
            .join(MemberIdentity, MemberIdentity.member_id == GroupMembership.member_id)
            .where(MemberIdentity.platform == platform, MemberIdentity.platform_user_id == user)
        )
        assert membership is not None
        membership.role = role


def _cursor(db: Database) -> int:
    from qunyun.stream.models import ConsumerCursor

    with db.session(write=False) as session:
        found = session.get(ConsumerCursor, "moderation")
        return found.position if found is not None else 0


def _last_record(db: Database) -> int:
    from qunyun.stream.models import StreamRecord

    with db.session(write=False) as session:
        return int(session.scalar(select(StreamRecord.id).order_by(StreamRecord.id.desc())) or 0)


# --- Telegram --------------------------------------------------------------------------


@dataclass
class TelegramSetup:
    peer: TelegramPeer
    api: FakeBotApi
    db: Database


@pytest.fixture
def telegram(server: Served, db: Database) -> Iterator[TelegramSetup]:
    api = FakeBotApi(TG_TOKEN)
    with serve(api.app()) as served_api:
        conn = add_connection(
            db, "telegram", secret=TG_SECRET, token=TG_TOKEN, api_url=served_api.url
        )
        peer = TelegramPeer(server.url, conn.key, TG_SECRET)
        try:
            yield TelegramSetup(peer, api, db)
        finally:
            peer.close()


def telegram_update(
    update_id: int, message_id: int, user: dict[str, Any], text: str
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": TG_CHAT, "type": "supergroup", "title": "春季训练营 1 群"},
            "from": user,
            "text": text,
        },
    }


LI = {
    "id": 222222222,
    "is_bot": False,
    "first_name": "Lei",
    "last_name": "Li",
    "language_code": "en",
}
OWNER = {
    "id": 111111111,
    "is_bot": False,
    "first_name": "三",
    "last_name": "张",
    "language_code": "zh-hans",
}


def _send(setup: TelegramSetup, update: dict[str, Any]) -> None:
    response = setup.peer.post(update)
    assert response.status_code == 204, response.text


def test_telegram_an_ad_is_deleted_the_member_told_in_english_then_muted(
    telegram: TelegramSetup,
) -> None:
    api, db = telegram.api, telegram.db
    _send(telegram, telegram_update(1, 501, LI, "hello everyone"))
    _send(telegram, telegram_update(2, 502, LI, AD))
    wait_until(lambda: {"deleteMessage", "sendMessage"} <= set(api.methods()), "delete + notice")
    assert ("deleteMessage", {"chat_id": TG_CHAT, "message_id": 502}) in api.calls
    notice = next(body for name, body in api.calls if name == "sendMessage")
    (case,) = cases(db)
    assert case.language == "en"
    assert notice["chat_id"] == TG_CHAT
    assert notice["text"].startswith("@Lei Li ")
    assert notice["entities"][0]["url"] == "tg://user?id=222222222"
    assert "Advertising and contact solicitation" in notice["text"]
    assert f"/appeal/{case.appeal_token}" in notice["text"]

    _send(telegram, telegram_update(3, 503, LI, AD_AGAIN))
    wait_until(lambda: "restrictChatMember" in api.methods(), "the mute")
    restrict = next(body for name, body in api.calls if name == "restrictChatMember")
    assert restrict["user_id"] == 222222222
    assert restrict["permissions"]["can_send_messages"] is False
    assert api.invalid == []  # every request was a valid Bot API call (aiogram's models)


def test_telegram_the_group_owner_is_treated_the_same(telegram: TelegramSetup) -> None:
    api, db = telegram.api, telegram.db
    _send(telegram, telegram_update(11, 601, OWNER, "各位晚上好"))
    wait_until(lambda: _membership(db, "telegram", "111111111") is not None, "membership")
    _set_role(db, "telegram", "111111111", "owner")
    _send(telegram, telegram_update(12, 602, OWNER, AD))
    wait_until(lambda: "sendMessage" in api.methods(), "the owner's notice")
    assert ("deleteMessage", {"chat_id": TG_CHAT, "message_id": 602}) in api.calls
    (case,) = cases(db)
    assert (case.status, case.step_action, case.language) == ("applied", "warn", "zh-CN")
    notice = next(body for name, body in api.calls if name == "sendMessage")
    assert "广告与引流" in notice["text"]
    assert api.invalid == []
