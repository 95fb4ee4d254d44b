"""Telegram Bot API Updates -> stream records. Pure: no web, no database.

:func:`records_from_update` never raises: what it cannot read becomes an
:class:`UnknownPayload` that keeps the whole Update. Record ids are built from the
payload (chat, message, user, date), never from ``update_id`` alone, so a redelivered
Update is stored once, and the same join seen as a ``new_chat_members`` service message
and as a ``chat_member`` update shares one id (both carry the same date).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from qunyun.platforms.telegram.models import (
    Chat,
    ChatJoinRequest,
    ChatMemberUpdated,
    Message,
    MessageEntity,
    MessageReactionUpdated,
    User,
)
from qunyun.stream.records import (
    JoinHow,
    JoinRequested,
    LeaveHow,
    MemberJoined,
    MemberLeft,
    MessageKind,
    MessagePosted,
    ReactionAdded,
    Record,
    UnknownPayload,
)

PLATFORM = "telegram"

# The Update types Qunyun reads; setWebhook asks for exactly these.
READ_UPDATES = ("message", "edited_message", "chat_member", "chat_join_request", "message_reaction")

# First match wins: an animation also carries a document, a venue a location.
_CONTENT_KINDS: tuple[tuple[str, MessageKind], ...] = (
    ("photo", MessageKind.image),
    ("animation", MessageKind.image),
    ("sticker", MessageKind.sticker),
    ("dice", MessageKind.sticker),
    ("voice", MessageKind.voice),
    ("video", MessageKind.video),
    ("video_note", MessageKind.video),
    ("audio", MessageKind.file),
    ("document", MessageKind.file),
    ("contact", MessageKind.card),
    ("venue", MessageKind.card),
    ("location", MessageKind.card),
    ("poll", MessageKind.other),
    ("game", MessageKind.other),
    ("story", MessageKind.other),
    ("invoice", MessageKind.other),
    ("paid_media", MessageKind.other),
    ("giveaway", MessageKind.other),
    ("checklist", MessageKind.other),
)

# Fields every message has; any other field of a message without content names its
# service kind (new_chat_title, pinned_message ...).
_ENVELOPE = frozenset(
    {
        "message_id",
        "message_thread_id",
        "from",
        "sender_chat",
        "sender_boost_count",
        "sender_business_bot",
        "sender_tag",
        "date",
        "business_connection_id",
        "chat",
        "is_topic_message",
        "is_automatic_forward",
        "reply_to_message",
        "external_reply",
        "quote",
        "reply_to_story",
        "via_bot",
        "edit_date",
        "has_protected_content",
        "is_from_offline",
        "author_signature",
        "effect_id",
        "forward_origin",
        "link_preview_options",
        "reply_markup",
        "entities",
        "caption_entities",
    }
)


FILE_PREFIX = "telegram-file:"


def photo_of(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The largest size of a photo (the Bot API lists sizes smallest first), as a file
    reference the client can download with getFile."""
    sizes = body.get("photo")
    if not isinstance(sizes, list) or not sizes:
        return ()
    largest = sizes[-1]
    file_id = largest.get("file_id") if isinstance(largest, Mapping) else None
    return (f"{FILE_PREFIX}{file_id}",) if isinstance(file_id, str) and file_id else ()


def moment(unix_seconds: int) -> datetime:
    return datetime.fromtimestamp(unix_seconds, UTC)


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of ``text`` an entity names (the Bot API counts UTF-16 code units)."""
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def mentions_of(text: str, entities: Sequence[MessageEntity]) -> tuple[str, ...]:
    """User ids of ``text_mention`` entities, and ``@username`` for plain mentions
    (the Bot API does not say whom an @username names)."""
    found: list[str] = []
    for entity in entities:
        if entity.type == "text_mention" and entity.user is not None:
            mention = str(entity.user.id)
        elif entity.type == "mention":
            mention = utf16_slice(text, entity.offset, entity.length)
        else:
            continue
        if mention and mention not in found:
            found.append(mention)
    return tuple(found)


def message_kind(message: Mapping[str, Any]) -> MessageKind | None:
    """What a message carries; None when it carries nothing (a service message)."""
    for field, kind in _CONTENT_KINDS:
        if message.get(field) is not None:
            return kind
    if message.get("text") is not None:
        return MessageKind.text
    return None


def _update_type(update: Mapping[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "empty")


def _unknown(
    update: Mapping[str, Any],
    reason: str,
    at: datetime,
    *,
    chat: Chat | None = None,
    user: User | None = None,
) -> UnknownPayload:
    # update_id counts per bot: two bots of a community may both send number 7.
    digest = hashlib.sha256(
        json.dumps(update, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()[:24]
    return UnknownPayload(
        platform=PLATFORM,
        platform_record_id=f"update:{update.get('update_id')}:{digest}",
        platform_group_id=str(chat.id) if chat is not None and chat.is_group else None,
        group_name=chat.title if chat is not None and chat.is_group else None,
        occurred_at=at,
        platform_user_id=str(user.id) if user is not None else None,
        user_name=user.name if user is not None else None,
        raw=dict(update),
        reason=reason,
    )


def _sender(message: Message) -> tuple[str | None, str | None]:
    # Anonymous admins and channels post "as" a chat; the chat is the author.
    if message.sender_chat is not None:
        return str(message.sender_chat.id), message.sender_chat.title
    if message.from_user is not None:
        return str(message.from_user.id), message.from_user.name
    return None, None


def _reply_to(message: Message) -> str | None:
    replied = message.reply_to_message
    if replied is None:
        return None
    # In a forum topic every message "replies" to the topic's first message.
    if message.is_topic_message and replied.forum_topic_created is not None:
        return None
    return str(replied.message_id)


def _posted(
    update: Mapping[str, Any], body: Mapping[str, Any], message: Message, *, edited: bool
) -> Record:
    kind = message_kind(body)
    if kind is None:
        extra = next((k for k in body if k not in _ENVELOPE and k != "text"), "service")
        return _unknown(
            update,
            f"not_a_record:{extra}",
            moment(message.date),
            chat=message.chat,
            user=message.from_user,
        )
    text = message.text if message.text is not None else (message.caption or "")
    entities = message.entities if message.text is not None else message.caption_entities
    user_id, user_name = _sender(message)
    chat = message.chat
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "platform_group_id": str(chat.id),
        "group_name": chat.title,
        "platform_user_id": user_id,
        "user_name": user_name,
        "raw": dict(update),
        "message_id": str(message.message_id),
        "text": text,
        "message_kind": kind,
        "mentions": mentions_of(text, entities),
        "reply_to": _reply_to(message),
        "images": photo_of(body),
    }
    if edited:
        edit_date = message.edit_date or message.date
        return MessagePosted(
            platform_record_id=f"edit:{chat.id}:{message.message_id}:{edit_date}",
            occurred_at=moment(edit_date),
            edited=True,
            **common,
        )
    return MessagePosted(
        platform_record_id=f"msg:{chat.id}:{message.message_id}",
        occurred_at=moment(message.date),
        **common,
    )


def _from_message(update: Mapping[str, Any], key: str, received_at: datetime) -> list[Record]:
    body = update[key]
    if not isinstance(body, Mapping):
        return [_unknown(update, f"invalid:{key}", received_at)]
    message = Message.model_validate(body)
    chat = message.chat
    if not chat.is_group:
        return [_unknown(update, f"{chat.type}_chat", moment(message.date), chat=chat)]
    at = moment(message.date)
    actor = message.from_user
    group = {"platform_group_id": str(chat.id), "group_name": chat.title}
    if key == "message" and message.new_chat_members:
        return [
            MemberJoined(
                platform=PLATFORM,
                platform_record_id=f"join:{chat.id}:{user.id}:{message.date}",
                occurred_at=at,
                platform_user_id=str(user.id),
                user_name=user.name,
                raw=dict(update),
                how=JoinHow.invited if actor and actor.id != user.id else JoinHow.self,
                operator_user_id=str(actor.id) if actor and actor.id != user.id else None,
                **group,
            )
            for user in message.new_chat_members
        ]
    if key == "message" and message.left_chat_member is not None:
        user = message.left_chat_member
        removed = actor is not None and actor.id != user.id
        return [
            MemberLeft(
                platform=PLATFORM,
                platform_record_id=f"left:{chat.id}:{user.id}:{message.date}",
                occurred_at=at,
                platform_user_id=str(user.id),
                user_name=user.name,
                raw=dict(update),
                how=LeaveHow.removed if removed else LeaveHow.left,
                operator_user_id=str(actor.id) if removed and actor else None,
                **group,
            )
        ]
    return [_posted(update, body, message, edited=key == "edited_message")]


def _from_chat_member(update: Mapping[str, Any], received_at: datetime) -> list[Record]:
    change = ChatMemberUpdated.model_validate(update["chat_member"])
    chat, old, new, actor = (
        change.chat,
        change.old_chat_member,
        change.new_chat_member,
        change.from_user,
    )
    user = new.user
    at = moment(change.date)
    by_other = actor.id != user.id
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "platform_group_id": str(chat.id),
        "group_name": chat.title,
        "occurred_at": at,
        "platform_user_id": str(user.id),
        "user_name": user.name,
        "raw": dict(update),
    }
    if not old.present and new.present:
        if change.via_join_request:
            how = JoinHow.approved
        elif change.invite_link is not None or change.via_chat_folder_invite_link:
            how = JoinHow.scanned
        elif by_other:
            how = JoinHow.invited
        else:
            how = JoinHow.self
        operator = str(actor.id) if by_other and how != JoinHow.scanned else None
        return [
            MemberJoined(
                platform_record_id=f"join:{chat.id}:{user.id}:{change.date}",
                how=how,
                operator_user_id=operator,
                **common,
            )
        ]
    if old.present and not new.present:
        if new.status == "kicked":
            leave = LeaveHow.banned
        else:
            leave = LeaveHow.removed if by_other else LeaveHow.left
        return [
            MemberLeft(
                platform_record_id=f"left:{chat.id}:{user.id}:{change.date}",
                how=leave,
                operator_user_id=str(actor.id) if by_other else None,
                **common,
            )
        ]
    # Promotions, restrictions, a ban lifted from someone already out: no record type.
    reason = f"not_a_record:chat_member:{old.status}->{new.status}"
    return [_unknown(update, reason, at, chat=chat, user=user)]


def _from_join_request(update: Mapping[str, Any]) -> list[Record]:
    request = ChatJoinRequest.model_validate(update["chat_join_request"])
    chat, user = request.chat, request.from_user
    link_name = request.invite_link.name if request.invite_link is not None else None
    return [
        JoinRequested(
            platform=PLATFORM,
            platform_record_id=f"joinreq:{chat.id}:{user.id}:{request.date}",
            platform_group_id=str(chat.id),
            group_name=chat.title,
            occurred_at=moment(request.date),
            platform_user_id=str(user.id),
            user_name=user.name,
            raw=dict(update),
            # What approve/declineChatJoinRequest need: the chat and the applicant.
            request_id=f"{chat.id}:{user.id}",
            answers=request.bio or link_name or "",
            request_type="request",
        )
    ]


def _from_reaction(update: Mapping[str, Any]) -> list[Record]:
    change = MessageReactionUpdated.model_validate(update["message_reaction"])
    chat = change.chat
    at = moment(change.date)
    actor_id: str | None
    actor_name: str | None
    if change.user is not None:
        actor_id, actor_name = str(change.user.id), change.user.name
    elif change.actor_chat is not None:
        actor_id, actor_name = str(change.actor_chat.id), change.actor_chat.title
    else:
        actor_id, actor_name = None, None
    before = {r.label for r in change.old_reaction}
    added = [r.label for r in change.new_reaction if r.label not in before]
    if not added:
        return [_unknown(update, "not_a_record:reaction_removed", at, chat=chat, user=change.user)]
    return [
        ReactionAdded(
            platform=PLATFORM,
            platform_record_id=(
                f"reaction:{chat.id}:{change.message_id}:{actor_id}:{change.date}:{label}"
            ),
            platform_group_id=str(chat.id),
            group_name=chat.title,
            occurred_at=at,
            platform_user_id=actor_id,
            user_name=actor_name,
            raw=dict(update),
            message_id=str(change.message_id),
            emoji=label,
        )
        for label in dict.fromkeys(added)
    ]


def _date_of(body: Any) -> datetime | None:
    date = body.get("date") if isinstance(body, Mapping) else None
    if isinstance(date, int) and not isinstance(date, bool) and 0 < date < 1 << 40:
        return moment(date)
    return None


def _group_chat(update: Mapping[str, Any], key: str) -> Chat | None:
    body = update.get(key)
    chat = body.get("chat") if isinstance(body, Mapping) else None
    try:
        return Chat.model_validate(chat) if isinstance(chat, Mapping) else None
    except ValidationError:
        return None


def records_from_update(
    update: Mapping[str, Any], *, received_at: datetime | None = None
) -> list[Record]:
    """The records one Update stands for (usually one); never raises.

    ``received_at`` dates what carries no date of its own (unknown Update types).
    """
    at = received_at or datetime.now(UTC)
    key = _update_type(update)
    try:
        if key in ("message", "edited_message"):
            return _from_message(update, key, at)
        if key not in READ_UPDATES:
            return [_unknown(update, f"update_type:{key}", _date_of(update.get(key)) or at)]
        chat = _group_chat(update, key)
        if chat is not None and not chat.is_group:
            return [_unknown(update, f"{chat.type}_chat", at, chat=chat)]
        if key == "chat_member":
            return _from_chat_member(update, at)
        if key == "chat_join_request":
            return _from_join_request(update)
        return _from_reaction(update)
    except (ValidationError, ValueError, TypeError, OverflowError):
        return [_unknown(update, f"invalid:{key}", at)]
