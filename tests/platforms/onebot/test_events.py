"""Every recorded OneBot payload becomes the expected record; nonebot agrees on its type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nonebot.adapters.onebot.v11 import Adapter
from nonebot.adapters.onebot.v11 import event as nb

from qunyun.platforms.onebot.events import parse_event, split_request_id
from qunyun.stream.records import (
    JoinHow,
    JoinRequested,
    LeaveHow,
    MemberJoined,
    MemberLeft,
    MessageKind,
    MessagePosted,
    MessageRecalled,
    NicknameChanged,
    UnknownPayload,
)
from tests.platforms.onebot.support import fixture, fixture_names

NOW = datetime(2024, 6, 1, tzinfo=UTC)
G = "736584321"

# fixture -> (nonebot's event class, our record class, fields the record must have)
EXPECTED: dict[str, tuple[type[Any], type[Any] | None, dict[str, Any]]] = {
    "message_group_string": (
        nb.GroupMessageEvent,
        MessagePosted,
        {
            "platform_record_id": f"msg:{G}:1944201187",
            "message_id": "1944201187",
            "platform_user_id": "1580512077",
            "user_name": "小林",
            "nickname": "北京-小林-产品",
            "text": "@2854196310 报名费 [早鸟] 是 199&包邮吗，还有名额？",
            "message_kind": MessageKind.text,
            "mentions": ("2854196310",),
            "mention_all": False,
            "occurred_at": datetime(2024, 6, 1, 0, 0, tzinfo=UTC),
        },
    ),
    "message_group_array": (
        nb.GroupMessageEvent,
        MessagePosted,
        {
            "platform_record_id": f"msg:{G}:-2147480113",
            "reply_to": "1944201187",
            "mentions": ("1580512077",),
            "text": "@1580512077 还有，今晚八点前报名都算早鸟",
            "nickname": None,
            "user_name": "Momo",
        },
    ),
    "message_group_image": (
        nb.GroupMessageEvent,
        MessagePosted,
        {
            "message_kind": MessageKind.image,
            "text": "",
            "images": ("https://multimedia.nt.qq.com.cn/download?appid=1407&fileid=abc",),
        },
    ),
    "message_group_record": (
        nb.GroupMessageEvent,
        MessagePosted,
        {
            "message_kind": MessageKind.voice,
        },
    ),
    "message_group_share": (
        nb.GroupMessageEvent,
        MessagePosted,
        {
            "message_kind": MessageKind.link,
            "text": "限时福利,点击领取 https://example.com/promo?a=1&b=2",
        },
    ),
    "message_group_json_card": (
        nb.GroupMessageEvent,
        MessagePosted,
        {
            "message_kind": MessageKind.card,
        },
    ),
    "message_group_face": (
        nb.GroupMessageEvent,
        MessagePosted,
        {
            "message_kind": MessageKind.sticker,
        },
    ),
    "message_group_at_all": (
        nb.GroupMessageEvent,
        MessagePosted,
        {
            "mention_all": True,
            "mentions": (),
        },
    ),
    "message_group_anonymous": (
        nb.GroupMessageEvent,
        MessagePosted,
        {
            "platform_user_id": None,
            "user_name": "大力鬼王",
            "text": "匿名问一下，可以退款吗",
        },
    ),
    "message_private": (
        nb.PrivateMessageEvent,
        UnknownPayload,
        {
            "reason": "unmapped:private_message",
            "platform_user_id": None,
            "platform_group_id": None,
        },
    ),
    "notice_group_increase_approve": (
        nb.GroupIncreaseNoticeEvent,
        MemberJoined,
        {
            "how": JoinHow.approved,
            "platform_user_id": "1122334455",
            "operator_user_id": "3120981542",
        },
    ),
    "notice_group_increase_invite": (
        nb.GroupIncreaseNoticeEvent,
        MemberJoined,
        {
            "how": JoinHow.invited,
            "platform_user_id": "5566778899",
            "operator_user_id": "1580512077",
        },
    ),
    "notice_group_decrease_leave": (
        nb.GroupDecreaseNoticeEvent,
        MemberLeft,
        {
            "how": LeaveHow.left,
            "operator_user_id": None,
        },
    ),
    "notice_group_decrease_kick": (
        nb.GroupDecreaseNoticeEvent,
        MemberLeft,
        {
            "how": LeaveHow.removed,
            "platform_user_id": "2233445566",
            "operator_user_id": "3120981542",
        },
    ),
    "notice_group_decrease_kick_me": (
        nb.GroupDecreaseNoticeEvent,
        MemberLeft,
        {
            "how": LeaveHow.removed,
            "platform_user_id": "2854196310",
            "platform_group_id": "912873465",
        },
    ),
    "notice_group_ban": (
        nb.GroupBanNoticeEvent,
        UnknownPayload,
        {
            "reason": "unmapped:group_ban",
            "platform_group_id": G,
        },
    ),
    "notice_group_recall": (
        nb.GroupRecallNoticeEvent,
        MessageRecalled,
        {
            "platform_record_id": f"recall:{G}:1944201400",
            "message_id": "1944201400",
            "platform_user_id": "2233445566",
            "operator_user_id": "3120981542",
        },
    ),
    # nonebot has no model of go-cqhttp's group_card: its generic notice.
    "notice_group_card": (
        nb.NoticeEvent,
        NicknameChanged,
        {
            "platform_user_id": "1122334455",
            "old": "",
            "new": "上海-小周-运营",
        },
    ),
    "notice_notify_poke": (nb.PokeNotifyEvent, UnknownPayload, {"reason": "unmapped:notify"}),
    "request_group_add": (
        nb.GroupRequestEvent,
        JoinRequested,
        {
            "platform_record_id": f"request:{G}:1717201540000000",
            "request_id": "add:1717201540000000",
            "request_type": "request",
            "platform_user_id": "7788990011",
            "answers": "问题：从哪里知道我们的？\n答案：公众号文章",
        },
    ),
    "request_group_invite": (
        nb.GroupRequestEvent,
        JoinRequested,
        {
            "request_id": "invite:1717201600123456",
            "request_type": "invite",
            "platform_user_id": "2854196310",
            "inviter_user_id": "3120981542",
        },
    ),
    "request_friend": (
        nb.FriendRequestEvent,
        UnknownPayload,
        {
            "reason": "unmapped:friend_request",
        },
    ),
    "meta_heartbeat": (nb.HeartbeatMetaEvent, None, {}),
    "meta_lifecycle_connect": (nb.LifecycleMetaEvent, None, {}),
}


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(EXPECTED) == fixture_names()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_nonebot_reads_the_fixture_as_the_same_event(name: str) -> None:
    event = Adapter.json_to_event(fixture(name))
    assert type(event) is EXPECTED[name][0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_becomes_the_expected_record(name: str) -> None:
    _, record_type, fields = EXPECTED[name]
    payload = fixture(name)
    parsed = parse_event(payload, received_at=NOW)
    assert parsed.self_id == "2854196310"
    if record_type is None:
        assert parsed.meta
        assert parsed.records == ()
        return
    (record,) = parsed.records
    assert type(record) is record_type
    assert record.platform == "qq"
    assert record.raw == payload
    assert record.occurred_at == datetime.fromtimestamp(payload["time"], UTC)
    for field, value in fields.items():
        assert getattr(record, field) == value, field
    # Delivered again, it is the same record.
    assert parse_event(fixture(name), received_at=NOW).records[0].platform_record_id == (
        record.platform_record_id
    )


def test_split_request_id() -> None:
    assert split_request_id("invite:abc|1") == ("invite", "abc|1")
    assert split_request_id("add:7") == ("add", "7")
    assert split_request_id("12345") == ("add", "12345")


def test_notices_of_different_moments_are_different_records() -> None:
    first = fixture("notice_group_increase_approve")
    later = {**first, "time": first["time"] + 1}
    a = parse_event(first, received_at=NOW).records[0]
    b = parse_event(later, received_at=NOW).records[0]
    assert a.platform_record_id != b.platform_record_id


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"post_type": "bogus", "time": 1}, "unrecognised:bogus"),
        (
            {"post_type": "notice", "notice_type": "brand_new", "group_id": 5},
            "unrecognised:notice.brand_new",
        ),
        (
            {"post_type": "message", "message_type": "group", "message_id": 1},
            "malformed:no_group_id",
        ),
        (
            {
                "post_type": "message",
                "message_type": "group",
                "group_id": 1,
                "message_id": 2,
                "message": 7,
            },
            "malformed:message",
        ),
        (
            {"post_type": "request", "request_type": "group", "group_id": 1, "user_id": 2},
            "malformed:no_flag",
        ),
        ({}, "unrecognised:None"),
    ],
)
def test_what_cannot_be_read_is_kept_as_unknown(payload: dict[str, Any], reason: str) -> None:
    (record,) = parse_event(payload, received_at=NOW).records
    assert isinstance(record, UnknownPayload)
    assert record.reason == reason
    assert record.raw == payload
    assert record.occurred_at == (NOW if "time" not in payload else datetime.fromtimestamp(1, UTC))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "post_type": st.sampled_from(["message", "notice", "request", "meta_event"]) | json_values,
        "message_type": st.sampled_from(["group", "private"]) | json_values,
        "notice_type": st.sampled_from(
            ["group_increase", "group_decrease", "group_recall", "group_card"]
        )
        | json_values,
        "request_type": st.just("group") | json_values,
        "sub_type": st.sampled_from(["invite", "kick", "approve"]) | json_values,
        "group_id": st.integers() | json_values,
        "user_id": st.integers() | json_values,
        "message_id": st.integers() | json_values,
        "message": st.text(max_size=20) | json_values,
        "time": st.integers() | st.floats() | json_values,
        "flag": json_values,
        "sender": json_values,
        "anonymous": json_values,
        "card_new": json_values,
    },
)


@given(event_like | json_values)
def test_no_payload_makes_it_raise(payload: Any) -> None:
    parsed = parse_event(payload, received_at=NOW)
    for record in parsed.records:
        assert record.platform == "qq"
        assert record.platform_record_id
        assert record.occurred_at.tzinfo is not None
