"""The pure parts: backoff, to-do texts, member lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from qunyun.platforms.backoff import MAX_ATTEMPTS, RETRY_CAP, gives_up, retry_delay
from qunyun.platforms.member_list import ListedMember, parse_member_list
from qunyun.platforms.todo import format_duration, todo_text


def test_backoff_doubles_from_ten_seconds() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, 6)] == [10, 20, 40, 80, 160]
    assert retry_delay(9) == RETRY_CAP
    assert retry_delay(10_000) == RETRY_CAP


@given(st.integers(min_value=0, max_value=10**6))
def test_backoff_is_monotone_and_capped(n: int) -> None:
    assert timedelta(seconds=10) <= retry_delay(n) <= retry_delay(n + 1) <= RETRY_CAP


def test_giving_up() -> None:
    assert gives_up(1, retryable=False)
    assert not gives_up(MAX_ATTEMPTS - 1, retryable=True)
    assert gives_up(MAX_ATTEMPTS, retryable=True)


def test_durations_read_naturally() -> None:
    assert format_duration(600, "zh-CN") == "10 分钟"
    assert format_duration(7200, "en") == "2 h"
    assert format_duration(86400 * 3, "zh-CN") == "3 天"
    assert format_duration(90, "zh-CN") == "90 秒"


def test_todo_texts_in_both_languages() -> None:
    names = {"42": "张三"}
    mute = todo_text("mute", {"user": "42", "seconds": 600}, "zh-CN", group="X", names=names)
    assert mute.instruction == "在群「X」中禁言 张三 10 分钟"
    unmute = todo_text("mute", {"user": "42", "seconds": 0}, "en", group="X", names=names)
    assert unmute.instruction == "Unmute 张三 in the group “X”"
    post = todo_text(
        "send_message", {"text": "晚安", "mentions": ["42", "7"]}, "zh-CN", group="X", names=names
    )
    assert post.instruction == "在群「X」中发送下面这条消息，并 @ 张三、7"
    assert post.copy == "晚安"
    nick = todo_text("set_nickname", {"user": "42", "nickname": "三期-张三"}, "zh-CN", group="X")
    assert nick.copy == "三期-张三"
    deleted = todo_text("delete_message", {"message_id": "9"}, "zh-CN", group="X", excerpt="广告")
    assert deleted.instruction == "在群「X」中撤回这条消息：「广告」"
    reject = todo_text(
        "answer_join_request",
        {"request_id": "r1", "approve": False, "user": "42", "reason": "非学员"},
        "en",
        group="X",
        names=names,
    )
    assert reject.instruction == "Decline 张三’s request to join the group “X” (reason: 非学员)"
    whole = todo_text("whole_mute", {"enable": "false"}, "zh-CN", group="X")
    assert whole.instruction == "在群「X」中关闭全员禁言"
    private = todo_text(
        "send_private", {"user": "42", "text": "验证码 1234"}, "zh-CN", group="X", names=names
    )
    assert private.instruction == "私信 张三（群「X」的成员）下面这段话"
    assert private.copy == "验证码 1234"
    assert (
        "张三"
        in todo_text(
            "send_private", {"user": "42", "text": "t"}, "en", group="X", names=names
        ).instruction
    )


def test_member_lists_of_each_platform() -> None:
    onebot = [
        {"group_id": 1, "user_id": 10, "nickname": "小明", "card": "三期-小明", "role": "owner"},
        {"group_id": 1, "user_id": 11, "nickname": "小红", "card": "", "role": "admin"},
        {"user_id": 10, "nickname": "dup"},
    ]
    assert parse_member_list(onebot) == [
        ListedMember("10", "小明", "三期-小明", "owner"),
        ListedMember("11", "小红", None, "admin"),
    ]
    telegram = [
        {"status": "creator", "user": {"id": 5, "first_name": "Ann", "last_name": "Lee"}},
        {"status": "administrator", "user": {"id": 6, "username": "bob"}, "custom_title": "mod"},
    ]
    assert parse_member_list({"result": telegram}) == [
        ListedMember("5", "Ann Lee", None, "owner"),
        ListedMember("6", "bob", None, "admin"),
    ]
    bridge = {"members": [{"user": "wxid_a", "name": "阿甘", "nickname": "阿甘-北京"}, {"x": 1}]}
    assert parse_member_list(bridge) == [ListedMember("wxid_a", "阿甘", "阿甘-北京", "member")]


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_any_json_gives_a_list_of_distinct_members(data: Any) -> None:
    found = parse_member_list(data)
    assert len({m.user_id for m in found}) == len(found)
    assert all(m.role in ("owner", "admin", "member") and m.user_id for m in found)
