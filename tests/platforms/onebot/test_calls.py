"""Actions as OneBot API calls (names and params per api/public.md), answers as results."""

from __future__ import annotations

from typing import Any

import pytest

from qunyun.platforms.actions import Action, ActionKind, ActionResult
from qunyun.platforms.onebot.calls import Call, Unsupported, to_call, to_result

G = "736584321"


@pytest.mark.parametrize(
    ("kind", "params", "call"),
    [
        (
            ActionKind.send_message,
            {"text": "欢迎 [新人]"},
            Call(
                "send_group_msg",
                {
                    "group_id": 736584321,
                    "auto_escape": False,
                    "message": [{"type": "text", "data": {"text": "欢迎 [新人]"}}],
                },
            ),
        ),
        (
            ActionKind.send_message,
            {"text": "看群公告", "reply_to": "-5", "mentions": ["10001", "all"]},
            Call(
                "send_group_msg",
                {
                    "group_id": 736584321,
                    "auto_escape": False,
                    "message": [
                        {"type": "reply", "data": {"id": "-5"}},
                        {"type": "at", "data": {"qq": "10001"}},
                        {"type": "text", "data": {"text": " "}},
                        {"type": "at", "data": {"qq": "all"}},
                        {"type": "text", "data": {"text": " "}},
                        {"type": "text", "data": {"text": "看群公告"}},
                    ],
                },
            ),
        ),
        (
            ActionKind.send_private,
            {"user": "10001", "text": "申诉验证码 482913"},
            Call(
                "send_private_msg",
                {
                    "group_id": 736584321,
                    "user_id": 10001,
                    "auto_escape": False,
                    "message": [{"type": "text", "data": {"text": "申诉验证码 482913"}}],
                },
            ),
        ),
        (
            ActionKind.delete_message,
            {"message_id": "-2147480113"},
            Call("delete_msg", {"message_id": -2147480113}),
        ),
        (
            ActionKind.mute,
            {"user": "10001", "seconds": 600},
            Call("set_group_ban", {"group_id": 736584321, "user_id": 10001, "duration": 600}),
        ),
        (
            ActionKind.mute,
            {"user": "10001", "seconds": 0},
            Call("set_group_ban", {"group_id": 736584321, "user_id": 10001, "duration": 0}),
        ),
        (
            ActionKind.whole_mute,
            {"enable": True},
            Call("set_group_whole_ban", {"group_id": 736584321, "enable": True}),
        ),
        (
            ActionKind.kick,
            {"user": "10001"},
            Call(
                "set_group_kick",
                {"group_id": 736584321, "user_id": 10001, "reject_add_request": False},
            ),
        ),
        (
            ActionKind.ban,
            {"user": "10001"},
            Call(
                "set_group_kick",
                {"group_id": 736584321, "user_id": 10001, "reject_add_request": True},
            ),
        ),
        (
            ActionKind.set_nickname,
            {"user": "10001", "nickname": "北京-小林"},
            Call("set_group_card", {"group_id": 736584321, "user_id": 10001, "card": "北京-小林"}),
        ),
        (
            ActionKind.set_title,
            {"user": "10001", "title": "班长"},
            Call(
                "set_group_special_title",
                {"group_id": 736584321, "user_id": 10001, "special_title": "班长", "duration": -1},
            ),
        ),
        (
            ActionKind.answer_join_request,
            {"request_id": "add:17172", "approve": True},
            Call("set_group_add_request", {"flag": "17172", "sub_type": "add", "approve": True}),
        ),
        (
            ActionKind.answer_join_request,
            {"request_id": "invite:99", "approve": False, "reason": "不接受邀请"},
            Call(
                "set_group_add_request",
                {"flag": "99", "sub_type": "invite", "approve": False, "reason": "不接受邀请"},
            ),
        ),
        (
            ActionKind.get_group_info,
            {},
            Call("get_group_info", {"group_id": 736584321, "no_cache": True}),
        ),
        (
            ActionKind.get_member_list,
            {},
            Call("get_group_member_list", {"group_id": 736584321, "no_cache": True}),
        ),
        (
            ActionKind.get_member_info,
            {"user": 10001},
            Call(
                "get_group_member_info", {"group_id": 736584321, "user_id": 10001, "no_cache": True}
            ),
        ),
    ],
)
def test_action_to_call(kind: ActionKind, params: dict[str, Any], call: Call) -> None:
    assert to_call(Action(kind, G, params)) == call


def test_unban_is_not_in_onebot() -> None:
    with pytest.raises(Unsupported):
        to_call(Action(ActionKind.unban, G, {"user": "1"}))


@pytest.mark.parametrize("group", ["abc", "", "12a"])
def test_ids_must_be_numbers(group: str) -> None:
    with pytest.raises(ValueError, match="number"):
        to_call(Action(ActionKind.kick, group, {"user": "1"}))


@pytest.mark.parametrize(
    ("answer", "result"),
    [
        (
            {"status": "ok", "retcode": 0, "data": {"message_id": 7}, "echo": "e"},
            ActionResult.success({"message_id": 7}),
        ),
        ({"status": "async", "retcode": 1, "data": None}, ActionResult.success(None)),
        (
            {"status": "failed", "retcode": 100, "data": None, "wording": "参数错误"},
            ActionResult.failure("onebot.failed retcode=100 参数错误", retryable=False),
        ),
        (
            {"status": "failed", "retcode": 102, "msg": "NO_PERMISSION"},
            ActionResult.failure("onebot.failed retcode=102 NO_PERMISSION", retryable=False),
        ),
        (
            {"status": "failed", "retcode": 1404, "msg": "API_NOT_FOUND"},
            ActionResult.failure("onebot.failed retcode=1404 API_NOT_FOUND", retryable=False),
        ),
        (
            {"status": "failed", "retcode": 201},
            ActionResult.failure("onebot.failed retcode=201", retryable=True),
        ),
        (
            {"status": "failed", "retcode": 103, "data": None},
            ActionResult.failure("onebot.failed retcode=103", retryable=True),
        ),
        ("nonsense", ActionResult.failure("onebot.bad_answer", retryable=True)),
    ],
)
def test_answer_to_result(answer: Any, result: ActionResult) -> None:
    assert to_result(answer) == result
