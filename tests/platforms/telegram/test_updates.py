"""Updates -> records, pure. Every fixture is first checked to be a real Bot API shape
by aiogram's Update model, with no field aiogram does not know."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.types import MessageEntity as AiogramEntity
from aiogram.types import Update
from hypothesis import given
from hypothesis import strategies as st

from qunyun.platforms.telegram.models import MessageEntity
from qunyun.platforms.telegram.updates import (
    mentions_of,
    records_from_update,
    utf16_slice,
)
from qunyun.stream.records import (
    JoinRequested,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    ReactionAdded,
    UnknownPayload,
)
from tests.platforms.telegram.support import extra_fields, fixture, fixture_names

CHAT = "-1001234567890"
ZHANG, LI, WANG, ADMIN = "111111111", "222222222", "333333333", "444444444"
NOW = datetime(2024, 6, 11, tzinfo=UTC)

# fixture -> (record type, fields the record must have); one entry per record.
EXPECTED: dict[str, list[tuple[type, dict[str, Any]]]] = {
    "message_text": [
        (
            MessagePosted,
            {
                "platform_record_id": f"msg:{CHAT}:101",
                "message_id": "101",
                "platform_user_id": ZHANG,
                "user_name": "三 张",
                "group_name": "春季训练营 1 群",
                "message_kind": "text",
                "mentions": ("@lisi", WANG),
                "reply_to": None,
                "occurred_at": datetime.fromtimestamp(1718000101, UTC),
            },
        )
    ],
    "message_photo_reply": [
        (
            MessagePosted,
            {
                "message_kind": "image",
                "text": "作业已交 @zhangsan",
                "mentions": ("@zhangsan",),
                "reply_to": "101",
                "platform_user_id": LI,
                # The largest of the sizes, for the QR detector.
                "images": ("telegram-file:AgACAgUAAxkBAAIBZ2Zn",),
            },
        )
    ],
    "message_voice": [(MessagePosted, {"message_kind": "voice", "text": ""})],
    "message_video": [(MessagePosted, {"message_kind": "video"})],
    "message_document": [(MessagePosted, {"message_kind": "file", "text": "第一周作业"})],
    "message_sticker": [(MessagePosted, {"message_kind": "sticker"})],
    "message_animation": [(MessagePosted, {"message_kind": "image"})],
    "message_contact": [(MessagePosted, {"message_kind": "card"})],
    "message_venue": [(MessagePosted, {"message_kind": "card"})],
    "message_poll": [(MessagePosted, {"message_kind": "other"})],
    # A topic message "replies" to the topic's first message; that is not a reply.
    "message_topic": [(MessagePosted, {"reply_to": None, "text": "这是话题里的新消息"})],
    "message_anonymous_admin": [
        (MessagePosted, {"platform_user_id": CHAT, "user_name": "春季训练营 1 群"})
    ],
    "message_new_chat_title": [
        (UnknownPayload, {"reason": "not_a_record:new_chat_title", "platform_group_id": CHAT})
    ],
    "edited_message": [
        (
            MessagePosted,
            {
                "edited": True,
                "platform_record_id": f"edit:{CHAT}:101:1718000500",
                "message_id": "101",
                "text": "早上好，各位",
                "occurred_at": datetime.fromtimestamp(1718000500, UTC),
            },
        )
    ],
    "message_new_chat_members": [
        (
            MemberJoined,
            {
                "platform_record_id": f"join:{CHAT}:{LI}:1718000115",
                "platform_user_id": LI,
                "how": "invited",
                "operator_user_id": ADMIN,
            },
        ),
        (MemberJoined, {"platform_user_id": WANG, "how": "invited", "operator_user_id": ADMIN}),
    ],
    "message_new_chat_member_self": [
        (MemberJoined, {"platform_user_id": ZHANG, "how": "self", "operator_user_id": None})
    ],
    "message_left_chat_member": [
        (MemberLeft, {"platform_user_id": WANG, "how": "left", "operator_user_id": None})
    ],
    "message_left_chat_member_removed": [
        (MemberLeft, {"platform_user_id": LI, "how": "removed", "operator_user_id": ADMIN})
    ],
    "chat_member_joined_link": [
        (
            MemberJoined,
            {
                "platform_record_id": f"join:{CHAT}:{ZHANG}:1718000600",
                "how": "scanned",
                "operator_user_id": None,
            },
        )
    ],
    "chat_member_approved": [
        (MemberJoined, {"platform_user_id": WANG, "how": "approved", "operator_user_id": ADMIN})
    ],
    "chat_member_added": [
        (MemberJoined, {"platform_user_id": LI, "how": "invited", "operator_user_id": ADMIN})
    ],
    "chat_member_left": [
        (MemberLeft, {"platform_record_id": f"left:{CHAT}:{ZHANG}:1718000630", "how": "left"})
    ],
    "chat_member_banned": [
        (MemberLeft, {"platform_user_id": LI, "how": "banned", "operator_user_id": ADMIN})
    ],
    "chat_member_promoted": [
        (
            UnknownPayload,
            {
                "reason": "not_a_record:chat_member:member->administrator",
                "platform_user_id": WANG,
            },
        )
    ],
    "chat_join_request": [
        (
            JoinRequested,
            {
                "platform_record_id": f"joinreq:{CHAT}:{WANG}:1718000700",
                "request_id": f"{CHAT}:{WANG}",
                "answers": "我是来学习的，学号 2024001",
                "request_type": "request",
                "platform_user_id": WANG,
            },
        )
    ],
    "message_reaction": [
        (ReactionAdded, {"message_id": "101", "emoji": "🔥", "platform_user_id": LI})
    ],
    "message_reaction_removed": [(UnknownPayload, {"reason": "not_a_record:reaction_removed"})],
    "message_private": [(UnknownPayload, {"reason": "private_chat", "platform_group_id": None})],
    "channel_post": [
        (
            UnknownPayload,
            {
                "reason": "update_type:channel_post",
                "platform_group_id": None,
                "occurred_at": datetime.fromtimestamp(1718001000, UTC),
            },
        )
    ],
    "my_chat_member": [(UnknownPayload, {"reason": "update_type:my_chat_member"})],
}


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(EXPECTED) == fixture_names()


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_is_a_bot_api_update(name: str) -> None:
    update = Update.model_validate(fixture(name))
    assert update.event_type != "unknown"
    assert extra_fields(update) == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_becomes_the_expected_records(name: str) -> None:
    update = fixture(name)
    records = records_from_update(update, received_at=NOW)
    assert len(records) == len(EXPECTED[name])
    for record, (cls, fields) in zip(records, EXPECTED[name], strict=True):
        assert type(record) is cls
        assert record.platform == "telegram"
        assert record.raw == update
        for field, value in fields.items():
            assert getattr(record, field) == value, field
        if cls is not UnknownPayload:
            assert record.platform_group_id == CHAT


def test_the_same_update_gives_the_same_record_ids() -> None:
    for name in fixture_names():
        first = [r.platform_record_id for r in records_from_update(fixture(name))]
        again = [r.platform_record_id for r in records_from_update(fixture(name))]
        assert first == again, name


def test_a_join_seen_twice_shares_its_record_id() -> None:
    """The service message and the chat_member update of one join are stored once."""
    service = fixture("message_new_chat_member_self")
    member = fixture("chat_member_joined_link")
    member["chat_member"]["date"] = service["message"]["date"]
    (a,) = records_from_update(service)
    (b,) = records_from_update(member)
    assert a.platform_record_id == b.platform_record_id


def test_an_edit_says_so_in_its_data() -> None:
    (record,) = records_from_update(fixture("edited_message"))
    assert isinstance(record, MessagePosted)
    assert record.data()["edited"] is True
    (original,) = records_from_update(fixture("message_text"))
    assert "edited" not in original.data()
    assert original.platform_record_id != record.platform_record_id


def test_unknown_ids_differ_between_bots_with_the_same_update_id() -> None:
    a = records_from_update({"update_id": 7, "poll": {"id": "1"}}, received_at=NOW)
    b = records_from_update({"update_id": 7, "poll": {"id": "2"}}, received_at=NOW)
    assert a[0].platform_record_id != b[0].platform_record_id


@pytest.mark.parametrize(
    "update",
    [
        {},
        {"update_id": 1},
        {"update_id": 1, "message": "text"},
        {"update_id": 1, "message": {"chat": {"id": "x"}}},
        {"update_id": 1, "message": {"message_id": 1, "date": 10**20, "chat": {"id": 1}}},
        {"update_id": 1, "chat_member": {"chat": {"id": -1, "type": "group"}}},
        {"update_id": 1, "message_reaction": None},
    ],
)
def test_broken_updates_become_unknown_records(update: dict[str, Any]) -> None:
    (record,) = records_from_update(update, received_at=NOW)
    assert isinstance(record, UnknownPayload)
    assert record.raw == update


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@given(
    key=st.sampled_from(["message", "edited_message", "chat_member", "message_reaction", "x"]),
    body=st.dictionaries(
        st.sampled_from(["chat", "date", "from", "message_id", "text", "new_chat_members"]),
        json_values,
    ),
)
def test_records_from_update_never_raises(key: str, body: dict[str, Any]) -> None:
    records = records_from_update({"update_id": 1, key: body}, received_at=NOW)
    assert records
    assert all(r.platform == "telegram" for r in records)


@given(
    before=st.text(max_size=20),
    name=st.text(min_size=1, max_size=12).filter(lambda s: s.strip() == s and s),
    after=st.text(max_size=20),
)
def test_entities_are_read_as_aiogram_reads_them(before: str, name: str, after: str) -> None:
    """UTF-16 offsets: our slice equals aiogram's ``MessageEntity.extract_from``."""
    text = f"{before}@{name}{after}"
    offset = len(before.encode("utf-16-le")) // 2
    length = len(f"@{name}".encode("utf-16-le")) // 2
    theirs = AiogramEntity(type="mention", offset=offset, length=length).extract_from(text)
    assert utf16_slice(text, offset, length) == theirs == f"@{name}"
    ours = MessageEntity(type="mention", offset=offset, length=length)
    assert mentions_of(text, [ours]) == (theirs,)
