"""Qunyun calling the Bot API: a fake Bot API server on loopback checks every request
with aiogram's method models and answers with shapes aiogram accepts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from qunyun.platforms.actions import Action, ActionKind, ActionResult
from qunyun.platforms.models import PlatformConnection
from qunyun.platforms.telegram.client import (
    ALLOWED_UPDATES,
    SEND_PERMISSIONS,
    TelegramClient,
    build_client,
    register_webhook,
    with_mentions,
)
from tests.conftest import run_async
from tests.platforms.served import serve
from tests.platforms.telegram.support import CHAT, FakeBotApi, error_body

TOKEN = "123456789:AAH-test_token_for_the_fake_bot_api"
GROUP = str(CHAT)
NOW = 1_718_000_000.0


@pytest.fixture(scope="module")
def bot_api() -> Iterator[tuple[FakeBotApi, str]]:
    fake = FakeBotApi(TOKEN)
    with serve(fake.app()) as served:
        yield fake, served.url


@pytest.fixture
def api(bot_api: tuple[FakeBotApi, str]) -> tuple[FakeBotApi, str]:
    fake, url = bot_api
    fake.calls.clear()
    fake.scripted.clear()
    fake.invalid.clear()
    return fake, url


def perform(url: str, kind: ActionKind, token: str = TOKEN, **params: Any) -> ActionResult:
    async def go() -> ActionResult:
        client = TelegramClient(token, url, clock=lambda: NOW)
        try:
            return await client.perform(Action(kind, GROUP, params))
        finally:
            await client.aclose()

    return run_async(go())


CASES: list[tuple[ActionKind, dict[str, Any], list[tuple[str, dict[str, Any]]]]] = [
    (
        ActionKind.send_message,
        {"text": "欢迎新同学", "reply_to": "101"},
        [
            (
                "sendMessage",
                {
                    "chat_id": CHAT,
                    "text": "欢迎新同学",
                    "reply_parameters": {"message_id": 101, "allow_sending_without_reply": True},
                },
            )
        ],
    ),
    (
        ActionKind.send_private,
        {"user": "222222222", "text": "您的消息已被撤回"},
        [("sendMessage", {"chat_id": 222222222, "text": "您的消息已被撤回"})],
    ),
    (
        ActionKind.delete_message,
        {"message_id": "101"},
        [("deleteMessage", {"chat_id": CHAT, "message_id": 101})],
    ),
    (
        ActionKind.kick,
        {"user": "222222222"},
        [
            ("banChatMember", {"chat_id": CHAT, "user_id": 222222222}),
            ("unbanChatMember", {"chat_id": CHAT, "user_id": 222222222, "only_if_banned": True}),
        ],
    ),
    (
        ActionKind.kick,
        {"user": "222222222", "reject_rejoin": True},
        [("banChatMember", {"chat_id": CHAT, "user_id": 222222222})],
    ),
    (
        ActionKind.ban,
        {"user": "222222222"},
        [("banChatMember", {"chat_id": CHAT, "user_id": 222222222})],
    ),
    (
        ActionKind.unban,
        {"user": "222222222"},
        [("unbanChatMember", {"chat_id": CHAT, "user_id": 222222222, "only_if_banned": True})],
    ),
    (
        ActionKind.set_title,
        {"user": "333333333", "title": "助教"},
        [
            (
                "setChatAdministratorCustomTitle",
                {"chat_id": CHAT, "user_id": 333333333, "custom_title": "助教"},
            )
        ],
    ),
    (
        ActionKind.answer_join_request,
        {"request_id": f"{CHAT}:333333333", "approve": True},
        [("approveChatJoinRequest", {"chat_id": CHAT, "user_id": 333333333})],
    ),
    (
        ActionKind.answer_join_request,
        {"request_id": f"{CHAT}:333333333", "approve": False, "reason": "名额已满"},
        [("declineChatJoinRequest", {"chat_id": CHAT, "user_id": 333333333})],
    ),
    (
        ActionKind.get_member_info,
        {"user": "111111111"},
        [("getChatMember", {"chat_id": CHAT, "user_id": 111111111})],
    ),
]


@pytest.mark.parametrize(("kind", "params", "expected"), CASES)
def test_actions_become_the_documented_calls(
    api: tuple[FakeBotApi, str],
    kind: ActionKind,
    params: dict[str, Any],
    expected: list[tuple[str, dict[str, Any]]],
) -> None:
    fake, url = api
    result = perform(url, kind, **params)
    assert result.ok, result.error
    assert fake.invalid == []
    assert fake.calls == expected


def test_mute_restricts_until_a_date(api: tuple[FakeBotApi, str]) -> None:
    fake, url = api
    assert perform(url, ActionKind.mute, user="222222222", seconds=600).ok
    ((method, body),) = fake.calls
    assert method == "restrictChatMember"
    assert body["until_date"] == int(NOW) + 600
    assert body["use_independent_chat_permissions"] is True
    assert set(body["permissions"]) == set(SEND_PERMISSIONS)
    assert not any(body["permissions"].values())
    assert fake.invalid == []


def test_a_very_short_mute_is_not_forever(api: tuple[FakeBotApi, str]) -> None:
    """Telegram restricts forever below 30 seconds; we round up to 30."""
    fake, url = api
    assert perform(url, ActionKind.mute, user="222222222", seconds=5).ok
    assert fake.calls[0][1]["until_date"] == int(NOW) + 30


def test_unmute_grants_every_permission(api: tuple[FakeBotApi, str]) -> None:
    fake, url = api
    assert perform(url, ActionKind.mute, user="222222222", seconds=0).ok
    ((_, body),) = fake.calls
    assert "until_date" not in body
    assert body["permissions"] and all(body["permissions"].values())


@pytest.mark.parametrize("enable", [True, False])
def test_whole_mute_keeps_the_other_permissions(api: tuple[FakeBotApi, str], enable: bool) -> None:
    fake, url = api
    assert perform(url, ActionKind.whole_mute, enable=enable).ok
    assert fake.methods() == ["getChat", "setChatPermissions"]
    permissions = fake.calls[1][1]["permissions"]
    assert all(permissions[name] is (not enable) for name in SEND_PERMISSIONS)
    # The group's own settings, read from getChat, are left as they were.
    assert (permissions["can_invite_users"], permissions["can_pin_messages"]) == (True, False)
    assert fake.invalid == []


def test_mentions_link_people_by_id(api: tuple[FakeBotApi, str]) -> None:
    fake, url = api
    result = perform(
        url,
        ActionKind.send_message,
        text="请交作业",
        mentions=["111111111", {"user": "333333333", "name": "王五"}, "@lisi"],
    )
    assert result.ok
    body = fake.calls[0][1]
    assert body["text"] == "@111111111 @王五 @lisi 请交作业"
    links = [(e["offset"], e["length"], e["url"]) for e in body["entities"]]
    assert links == [(0, 10, "tg://user?id=111111111"), (11, 3, "tg://user?id=333333333")]
    assert fake.invalid == []
    # The sent message comes back as the result (aiogram-valid Message).
    assert result.data["text"] == body["text"]


def test_mention_offsets_count_utf16() -> None:
    text, entities = with_mentions("x", [{"user": "1", "name": "😀"}, {"user": "2", "name": "a"}])
    assert text == "@😀 @a x"
    assert [(e["offset"], e["length"]) for e in entities] == [(0, 3), (4, 2)]


def test_group_info_includes_the_member_count(api: tuple[FakeBotApi, str]) -> None:
    fake, url = api
    result = perform(url, ActionKind.get_group_info)
    assert result.ok
    assert fake.methods() == ["getChat", "getChatMemberCount"]
    assert (result.data["title"], result.data["member_count"]) == ("春季训练营 1 群", 42)


def test_member_list_is_the_administrators_and_says_it_is_incomplete(
    api: tuple[FakeBotApi, str],
) -> None:
    from qunyun.platforms.member_list import parse_member_list

    fake, url = api
    result = perform(url, ActionKind.get_member_list)
    assert result.ok
    assert fake.methods() == ["getChatAdministrators"]
    assert result.data["complete"] is False
    listed = parse_member_list(result.data)
    assert [(m.user_id, m.role) for m in listed] == [
        ("111111111", "owner"),
        ("7000000001", "admin"),
    ]


def test_nicknames_are_not_a_telegram_thing(api: tuple[FakeBotApi, str]) -> None:
    fake, url = api
    result = perform(url, ActionKind.set_nickname, user="1", nickname="x")
    assert (result.ok, result.retryable) == (False, False)
    assert result.error is not None and result.error.startswith("telegram.unsupported")
    assert fake.calls == []


def test_a_wrong_token_is_not_retried(api: tuple[FakeBotApi, str]) -> None:
    _, url = api
    result = perform(url, ActionKind.ban, token="999:wrong", user="1")
    assert (result.ok, result.retryable) == (False, False)
    assert result.error is not None and "401" in result.error
    assert "999:wrong" not in result.error


@pytest.mark.parametrize(
    ("status", "body", "retryable", "code"),
    [
        (429, error_body(429, "Too Many Requests: retry after 7", retry_after=7), True, "rate"),
        (400, error_body(400, "Bad Request: not enough rights"), False, "api_error 400"),
        (403, error_body(403, "Forbidden: bot was kicked from the group chat"), False, "403"),
        (500, error_body(500, "Internal Server Error"), True, "api_error 500"),
        (502, "<html>Bad Gateway</html>", True, "api_error 502"),
    ],
)
def test_bot_api_errors_map_to_retryable_or_not(
    api: tuple[FakeBotApi, str], status: int, body: Any, retryable: bool, code: str
) -> None:
    fake, url = api
    fake.script("banChatMember", status, body)
    result = perform(url, ActionKind.ban, user="222222222")
    assert result.ok is False
    assert result.retryable is retryable
    assert result.error is not None and code in result.error
    if status == 429:
        assert result.data == {"retry_after": 7}


def test_kick_reports_a_failed_unban(api: tuple[FakeBotApi, str]) -> None:
    fake, url = api
    fake.script("unbanChatMember", 500, error_body(500, "Internal Server Error"))
    result = perform(url, ActionKind.kick, user="222222222")
    assert (result.ok, result.retryable) == (False, True)
    assert fake.methods() == ["banChatMember", "unbanChatMember"]


def test_bad_ids_are_refused_before_calling(api: tuple[FakeBotApi, str]) -> None:
    fake, url = api
    result = perform(url, ActionKind.ban, user="张三")
    assert (result.ok, result.retryable) == (False, False)
    assert result.error is not None and result.error.startswith("telegram.bad_params")
    assert fake.calls == []


def test_an_unreachable_bot_api_is_retryable() -> None:
    async def go() -> ActionResult:
        transport = httpx.MockTransport(
            lambda request: (_ for _ in ()).throw(httpx.ConnectError("down"))
        )
        client = TelegramClient(
            TOKEN, "http://bot-api.invalid", http=httpx.AsyncClient(transport=transport)
        )
        try:
            return await client.perform(Action(ActionKind.ban, GROUP, {"user": "1"}))
        finally:
            await client.aclose()

    result = run_async(go())
    assert (result.ok, result.retryable) == (False, True)
    assert result.error is not None and TOKEN not in result.error


def test_register_webhook_asks_for_chat_member_updates_and_the_secret(
    api: tuple[FakeBotApi, str],
) -> None:
    fake, url = api
    connection = PlatformConnection(
        platform="telegram", access_token=TOKEN, api_url=url, inbound_secret="abc_DEF-123"
    )
    hook = "https://qunyun.example.com/hooks/telegram/k3y"
    result = run_async(register_webhook(connection, hook))
    assert result.ok
    ((method, body),) = fake.calls
    assert method == "setWebhook"
    assert body == {"url": hook, "allowed_updates": ALLOWED_UPDATES, "secret_token": "abc_DEF-123"}
    assert {"chat_member", "chat_join_request", "message_reaction"} <= set(ALLOWED_UPDATES)
    assert fake.invalid == []


def test_build_client_reads_the_connection(api: tuple[FakeBotApi, str]) -> None:
    fake, url = api
    connection = PlatformConnection(platform="telegram", access_token=TOKEN, api_url=url + "/")

    async def go() -> ActionResult:
        client = build_client(connection, None)  # type: ignore[arg-type]
        try:
            return await client.perform(Action(ActionKind.unban, GROUP, {"user": "5"}))
        finally:
            await client.aclose()

    assert run_async(go()).ok
    assert fake.methods() == ["unbanChatMember"]
