"""End to end over real HTTP, through the OneBot and the Telegram test peers: a member
posts an ad (warned), posts again (muted: the platform sees the mute), appeals from the
link with the one-time code the platform carried to them privately, a reviewer
overturns over the API, and the platform sees the unmute."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from qunyun.accounts import service as accounts
from qunyun.accounts.passwords import Passwords
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from tests.appeals.helpers import CODE_RE
from tests.enforcement.support import AD, AD_AGAIN, cases
from tests.enforcement.test_end_to_end import (
    GROUP,
    LI,
    OB_SECRET,
    OB_TOKEN,
    TG_CHAT,
    TG_SECRET,
    TG_TOKEN,
    FakeOneBotApi,
    onebot_message,
    telegram_update,
)
from tests.platforms.onebot.support import HttpPeer
from tests.platforms.served import Served, add_connection, serve, wait_until
from tests.platforms.telegram.support import FakeBotApi, TelegramPeer

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _reviewer(db: Database) -> dict[str, str]:
    """An owner (who acts nowhere here) and a second user, an admin, who reviews."""
    with db.transaction() as s:
        accounts.create_user(s, Passwords("test"), "owner", "correct horse battery", Role.owner, 1)
        admin = accounts.create_user(
            s, Passwords("test"), "reviewer", "correct horse battery", Role.admin, 1
        )
        token = accounts.create_token(s, admin.id, "e2e").plaintext
    return {"Authorization": f"Bearer {token}"}


class Member:
    """The member's phone browser: opens the link, asks for a code, sends the appeal."""

    def __init__(self, server: Served, token: str) -> None:
        self.http = httpx.Client(base_url=server.url, trust_env=False, timeout=20)
        self.path = f"/appeal/{token}"

    def page(self) -> str:
        response = self.http.get(self.path)
        assert response.status_code == 200, response.text
        return response.text

    def post(self, **form: str) -> httpx.Response:
        found = CSRF.search(self.page())
        assert found is not None
        return self.http.post(self.path, data={"csrf_token": found.group(1), **form})

    def close(self) -> None:
        self.http.close()


def _appeal_and_overturn(
    server: Served, db: Database, code_text: Any, statement: str
) -> dict[str, Any]:
    """The member appeals the second (mute) case; the admin overturns it."""
    headers = _reviewer(db)
    muted = cases(db)[1]
    assert muted.step_action == "mute" and muted.appeal_token
    member = Member(server, muted.appeal_token)
    try:
        asked = member.post(step="code")
        assert asked.status_code == 303, asked.text
        wait_until(lambda: code_text() is not None, "the code in a private message")
        found = CODE_RE.search(code_text())
        assert found is not None
        opened = member.post(step="appeal", code=found.group(1), statement=statement)
        assert opened.status_code == 303, opened.text
    finally:
        member.close()
    with httpx.Client(base_url=server.url, trust_env=False, timeout=20) as api:
        queue = api.get("/api/v1/appeals?status=open", headers=headers).json()
        [appeal] = queue["items"]
        assert (appeal["via"], appeal["case_id"], appeal["statement"]) == (
            "member",
            muted.id,
            statement,
        )
        decided = api.post(
            f"/api/v1/appeals/{appeal['id']}/decision",
            json={"outcome": "overturn", "note": "转发的是物业通知"},
            headers=headers,
        )
    assert decided.status_code == 200, decided.text
    body: dict[str, Any] = decided.json()
    assert body["undo"] == ["not_restorable", "unmute"] and not body["appeal"]["self_review"]
    return body


# --- OneBot (QQ) ----------------------------------------------------------------------


@pytest.fixture
def onebot(server: Served, db: Database) -> Iterator[tuple[HttpPeer, FakeOneBotApi]]:
    api = FakeOneBotApi(OB_TOKEN)
    with serve(api.app()) as served_api:
        conn = add_connection(
            db, "onebot", secret=OB_SECRET, token=OB_TOKEN, api_url=served_api.url
        )
        peer = HttpPeer(server.url, conn.key, OB_SECRET)
        try:
            yield peer, api
        finally:
            peer.close()


def test_onebot_mute_appealed_with_the_private_code_and_lifted(
    server: Served, db: Database, onebot: tuple[HttpPeer, FakeOneBotApi]
) -> None:
    peer, api = onebot
    for message_id, text in ((701, AD), (702, AD_AGAIN)):
        assert peer.post(onebot_message(message_id, 10001, text)).status_code == 204
    wait_until(lambda: api.named("set_group_ban"), "the mute")
    assert api.named("set_group_ban") == [{"group_id": GROUP, "user_id": 10001, "duration": 3600}]
    assert [c.step_action for c in cases(db)] == ["warn", "mute"]

    def code_text() -> str | None:
        sent = api.named("send_private_msg")
        return str(sent[-1]["message"][0]["data"]["text"]) if sent else None

    _appeal_and_overturn(server, db, code_text, "我转发的是物业的停水通知")
    [private] = api.named("send_private_msg")
    # To the member, through the group (a temporary chat when not the bot's friend).
    assert (private["user_id"], private["group_id"]) == (10001, GROUP)
    assert "申诉验证码" in private["message"][0]["data"]["text"]
    wait_until(lambda: len(api.named("set_group_ban")) == 2, "the unmute")
    assert api.named("set_group_ban")[1] == {"group_id": GROUP, "user_id": 10001, "duration": 0}
    wait_until(lambda: len(api.named("send_group_msg")) == 3, "the member told")
    told = api.named("send_group_msg")[2]["message"]
    assert told[0] == {"type": "at", "data": {"qq": "10001"}}
    assert "禁言已解除" in told[-1]["data"]["text"]
    assert cases(db)[1].status == "overturned" and api.refused == []


# --- Telegram -------------------------------------------------------------------------


@pytest.fixture
def telegram(server: Served, db: Database) -> Iterator[tuple[TelegramPeer, FakeBotApi]]:
    api = FakeBotApi(TG_TOKEN)
    with serve(api.app()) as served_api:
        conn = add_connection(
            db, "telegram", secret=TG_SECRET, token=TG_TOKEN, api_url=served_api.url
        )
        peer = TelegramPeer(server.url, conn.key, TG_SECRET)
        try:
            yield peer, api
        finally:
            peer.close()


def _restricts(api: FakeBotApi) -> list[dict[str, Any]]:
    return [body for name, body in api.calls if name == "restrictChatMember"]


def _to_user(api: FakeBotApi) -> list[str]:
    return [
        str(body["text"])
        for name, body in api.calls
        if name == "sendMessage" and str(body["chat_id"]) == str(LI["id"])
    ]


def test_telegram_mute_appealed_with_the_private_code_and_lifted(
    server: Served, db: Database, telegram: tuple[TelegramPeer, FakeBotApi]
) -> None:
    peer, api = telegram
    for n, text in ((1, AD), (2, AD_AGAIN)):
        assert peer.post(telegram_update(n, 800 + n, LI, text)).status_code == 204
    wait_until(lambda: _restricts(api), "the mute")
    [mute] = _restricts(api)
    assert mute["user_id"] == LI["id"] and mute["permissions"]["can_send_messages"] is False

    def code_text() -> str | None:
        sent = _to_user(api)
        return sent[-1] if sent else None

    _appeal_and_overturn(server, db, code_text, "I was forwarding the landlord's notice")
    # Li's Telegram speaks English: the private code and the notice are in English.
    assert _to_user(api)[0].startswith("[Appeal code]")
    wait_until(lambda: len(_restricts(api)) == 2, "the unmute")
    lifted = _restricts(api)[1]
    assert (lifted["chat_id"], lifted["user_id"]) == (TG_CHAT, LI["id"])
    assert lifted["permissions"]["can_send_messages"] is True
    assert "until_date" not in lifted
    wait_until(
        lambda: any("overturned" in str(b.get("text")) for n, b in api.calls if n == "sendMessage"),
        "the member told",
    )
    assert cases(db)[1].status == "overturned" and api.invalid == []
