"""Telegram Desktop JSON exports: one chat (``{"name", "type", "id", "messages": [...]}``)
or the whole account (``result.json``: ``"chats": {"list": [...]}`` and ``"left_chats"``;
older tools write ``"chats": [...]``).

Streamed with ijson, so a 2 GB export never sits in memory. For one chat the messages
are read by ijson's C builder directly. For a whole account a first pass over the parse
events notes each chat's id, name, type and message count (messages are not built), and
a second pass builds the messages and assigns them to chats by counting.

Ids: platform ``telegram``; a group is the Bot API chat id (``-100<id>`` for supergroups
and channels, ``-<id>`` for basic groups), so imports and a live bot meet; a record is
``msg:<chat id>:<message id>``; a person is their Bot API user id (``user123`` → ``123``,
``channel5`` → ``-1005``). In a whole-account export only groups and channels are read;
personal chats, bots and saved messages are skipped with a reason. Checkpoint: the chat's
position and the number of its messages done.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import ijson  # type: ignore[import-untyped]

from qunyun.imports.readers.base import Item, ReadOptions, Skip, excerpt
from qunyun.stream.records import (
    JoinHow,
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
SUPERGROUP_TYPES = frozenset(
    {"private_supergroup", "public_supergroup", "private_channel", "public_channel"}
)
BASIC_GROUP_TYPES = frozenset({"private_group", "public_group"})
_SECTIONS = ("chats.list.item", "left_chats.list.item", "chats.item")
_MEDIA = {
    "sticker": MessageKind.sticker,
    "voice_message": MessageKind.voice,
    "video_message": MessageKind.video,
    "video_file": MessageKind.video,
    "animation": MessageKind.video,
    "audio_file": MessageKind.file,
}


def bot_api_chat_id(chat_id: Any, chat_type: str) -> str:
    raw = str(chat_id)
    if chat_type in SUPERGROUP_TYPES and not raw.startswith("-"):
        return f"-100{raw}"
    if chat_type in BASIC_GROUP_TYPES and not raw.startswith("-"):
        return f"-{raw}"
    return raw


def bot_api_user_id(from_id: Any) -> str | None:
    raw = str(from_id or "")
    if not raw:
        return None
    if raw.startswith("user"):
        return raw[4:] or None
    if raw.startswith("channel"):
        return f"-100{raw[7:]}"
    if raw.startswith("chat"):
        return f"-{raw[4:]}"
    return raw


def plain_text(value: Any) -> str:
    """``text`` is a string or a list of strings and ``{"type", "text"}`` pieces."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in value)
    return ""


@dataclass
class ChatInfo:
    section: str
    id: str
    name: str
    type: str
    messages: int = 0

    @property
    def is_group(self) -> bool:
        return self.type in SUPERGROUP_TYPES or self.type in BASIC_GROUP_TYPES


def scan_chats(fh: IO[bytes]) -> list[ChatInfo] | None:
    """The chats of a whole-account export in file order; ``None`` for a one-chat file."""
    chats: list[ChatInfo] = []
    current: ChatInfo | None = None
    section_keys = {f"{s}.{k}": (s, k) for s in _SECTIONS for k in ("id", "name", "type")}
    starts = {f"{s}.messages.item" for s in _SECTIONS}
    chat_starts = set(_SECTIONS)
    for prefix, event, value in ijson.parse(fh, use_float=True):
        if event == "start_map":
            if prefix in starts and current is not None:
                current.messages += 1
            elif prefix in chat_starts:
                current = ChatInfo(prefix, "", "", "")
                chats.append(current)
        elif prefix in section_keys and current is not None:
            setattr(current, section_keys[prefix][1], "" if value is None else str(value))
        elif prefix == "messages" and event == "start_array":
            return None
    return chats


class TelegramJsonReader:
    def __init__(
        self, path: Path, options: ReadOptions, checkpoint: dict[str, Any] | None = None
    ) -> None:
        self.path = path
        self.options = options
        state = checkpoint or {}
        self._chat = int(state.get("chat", 0))
        self._done = int(state.get("done", 0))
        self._offset = int(state.get("offset", 0))
        self._zone = options.zone

    def checkpoint(self) -> dict[str, Any]:
        return {"chat": self._chat, "done": self._done, "offset": self._offset}

    def __iter__(self) -> Iterator[tuple[int | None, Item]]:
        with self.path.open("rb") as fh:
            chats = scan_chats(fh)
            fh.seek(0)
            if chats is None:
                yield from self._single(fh)
            else:
                yield from self._account(fh, chats)

    def _single(self, fh: IO[bytes]) -> Iterator[tuple[int | None, Item]]:
        head = _header(fh)
        fh.seek(0)
        chat = ChatInfo(
            "", str(head.get("id", "")), str(head.get("name", "")), str(head.get("type", ""))
        )
        group = self.options.platform_group_id or bot_api_chat_id(chat.id, chat.type)
        name = self.options.group_name or chat.name or None
        yield from self._messages(fh, "messages.item", [(0, chat, group, name)])

    def _account(self, fh: IO[bytes], chats: list[ChatInfo]) -> Iterator[tuple[int | None, Item]]:
        for section in _SECTIONS:
            wanted = [(i, c) for i, c in enumerate(chats) if c.section == section]
            if not wanted or wanted[-1][0] < self._chat:
                continue
            plan = []
            for index, chat in wanted:
                plan.append((index, chat, bot_api_chat_id(chat.id, chat.type), chat.name or None))
            fh.seek(0)
            yield from self._messages(fh, f"{section}.messages.item", plan)

    def _messages(
        self,
        fh: IO[bytes],
        prefix: str,
        plan: list[tuple[int, ChatInfo, str, str | None]],
    ) -> Iterator[tuple[int | None, Item]]:
        single = len(plan) == 1 and plan[0][1].section == ""
        messages = ijson.items(fh, prefix, use_float=True)
        for index, chat, group, name in plan:
            count = None if single else chat.messages
            if index < self._chat:
                for _ in range(count or 0):
                    next(messages, None)
                continue
            if index > self._chat:
                self._chat, self._done = index, 0
            if not single and not chat.is_group:
                for _ in range(count or 0):
                    next(messages, None)
                self._chat, self._done = index + 1, 0
                self._offset = fh.tell()
                yield self._offset, Skip(index + 1, "import.skip.tg_not_group", excerpt(chat.name))
                continue
            taken = 0
            while count is None or taken < count:
                message = next(messages, None)
                if message is None:
                    break
                taken += 1
                if taken <= self._done:
                    continue
                items = list(self._items(message, group, name, taken))
                for position, item in enumerate(items):
                    last = position == len(items) - 1
                    if last:
                        self._done, self._offset = taken, fh.tell()
                    yield (self._offset if last else None), item
            self._chat, self._done = index + 1, 0

    def _items(
        self, message: Any, group: str, group_name: str | None, number: int
    ) -> Iterator[Item]:
        if not isinstance(message, dict) or "id" not in message:
            yield Skip(number, "import.skip.tg_no_id", excerpt(str(message)))
            return
        at = self._time(message)
        if at is None:
            yield Skip(number, "import.skip.bad_time", excerpt(str(message.get("date"))))
            return
        message_id = str(message["id"])
        common: dict[str, Any] = {
            "platform": PLATFORM,
            "platform_record_id": f"msg:{group}:{message_id}",
            "platform_group_id": group,
            "group_name": group_name,
            "occurred_at": at,
        }
        if message.get("type") == "service":
            yield from self._service(message, common)
            return
        sender = bot_api_user_id(message.get("from_id"))
        record: Record = MessagePosted(
            **common,
            platform_user_id=sender,
            user_name=str(message.get("from") or "") or None,
            message_id=message_id,
            text=plain_text(message.get("text")),
            message_kind=_kind(message),
            mentions=_mentions(message),
            reply_to=(
                str(message["reply_to_message_id"])
                if message.get("reply_to_message_id") is not None
                else None
            ),
        )
        yield record
        for reaction in message.get("reactions") or []:
            emoji = str(reaction.get("emoji") or reaction.get("document_id") or "")
            for who in reaction.get("recent") or []:
                user = bot_api_user_id(who.get("from_id"))
                when = _parse_time(who.get("date"), self._zone) or at
                if user and emoji:
                    yield ReactionAdded(
                        **{
                            **common,
                            "platform_record_id": f"react:{group}:{message_id}:{user}:{emoji}",
                            "occurred_at": when,
                        },
                        platform_user_id=user,
                        user_name=str(who.get("from") or "") or None,
                        message_id=message_id,
                        emoji=emoji,
                    )

    def _service(self, message: dict[str, Any], common: dict[str, Any]) -> Iterator[Record]:
        action = str(message.get("action") or "")
        actor = bot_api_user_id(message.get("actor_id"))
        actor_name = str(message.get("actor") or "") or None
        base = common["platform_record_id"]
        if action in ("join_group_by_link", "join_group_by_request"):
            how = JoinHow.self if action == "join_group_by_link" else JoinHow.approved
            yield MemberJoined(**common, platform_user_id=actor, user_name=actor_name, how=how)
            return
        if action in ("invite_members", "add_members", "remove_members"):
            for index, person in enumerate(message.get("members") or []):
                if isinstance(person, dict):
                    uid = bot_api_user_id(person.get("id")) or f"name:{person.get('name')}"
                    name = str(person.get("name") or "") or None
                else:
                    uid, name = f"name:{person}"[:128], str(person)
                fields = {**common, "platform_record_id": f"{base}#{index}"}
                if action == "remove_members":
                    left = actor is not None and actor == uid
                    yield MemberLeft(
                        **fields,
                        platform_user_id=uid,
                        user_name=name,
                        how=LeaveHow.left if left else LeaveHow.removed,
                        operator_user_id=None if left else actor,
                    )
                else:
                    yield MemberJoined(
                        **fields,
                        platform_user_id=uid,
                        user_name=name,
                        how=JoinHow.self if uid == actor else JoinHow.invited,
                        operator_user_id=None if uid == actor else actor,
                    )
            return
        yield UnknownPayload(
            **common,
            platform_user_id=actor,
            user_name=actor_name,
            reason=f"telegram service: {action}"[:100],
            raw={"action": action, "text": plain_text(message.get("text"))},
        )

    def _time(self, message: dict[str, Any]) -> datetime | None:
        unix = message.get("date_unixtime")
        if unix is not None and str(unix).isdigit():
            return datetime.fromtimestamp(int(str(unix)), UTC)
        return _parse_time(message.get("date"), self._zone)


def _parse_time(value: Any, zone: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _kind(message: dict[str, Any]) -> MessageKind:
    media = message.get("media_type")
    if isinstance(media, str) and media in _MEDIA:
        return _MEDIA[media]
    if "photo" in message:
        return MessageKind.image
    if "poll" in message or "location_information" in message:
        return MessageKind.other
    if "contact_information" in message:
        return MessageKind.card
    if "file" in message or media == "document":
        return MessageKind.file
    return MessageKind.text


def _mentions(message: dict[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for entity in message.get("text_entities") or []:
        if isinstance(entity, dict) and entity.get("type") == "mention_name":
            uid = bot_api_user_id(entity.get("user_id"))
            if uid:
                found.append(uid)
    return tuple(found)


def _header(fh: IO[bytes]) -> dict[str, Any]:
    """The top-level fields written before ``messages``."""
    head: dict[str, Any] = {}
    for prefix, event, value in ijson.parse(fh, use_float=True):
        if prefix in ("id", "name", "type") and event in ("string", "number"):
            head[prefix] = value
        elif prefix == "messages":
            break
    return head
