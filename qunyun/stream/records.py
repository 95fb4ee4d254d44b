"""The typed records of the stream. Pure: no web, no database.

Platform adapters and importers turn wire formats into these; everything downstream
(membership, moderation, analytics) reads only these. A record is identified by its
platform and ``platform_record_id``: delivering it twice stores it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar


class RecordKind(StrEnum):
    message_posted = "message_posted"
    message_recalled = "message_recalled"
    member_joined = "member_joined"
    member_left = "member_left"
    join_requested = "join_requested"
    nickname_changed = "nickname_changed"
    reaction_added = "reaction_added"
    # A payload no adapter understood: kept raw and counted, never a crash.
    unknown = "unknown"


class MessageKind(StrEnum):
    text = "text"
    image = "image"
    voice = "voice"
    video = "video"
    file = "file"
    link = "link"
    card = "card"
    sticker = "sticker"
    red_packet = "red_packet"
    other = "other"


class JoinHow(StrEnum):
    approved = "approved"
    invited = "invited"
    scanned = "scanned"
    imported = "imported"
    self = "self"
    unknown = "unknown"


class LeaveHow(StrEnum):
    """How a member stopped being in a group; the value is the membership's new status."""

    left = "left"
    removed = "removed"
    banned = "banned"


def require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("record times must carry a time zone")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """What every record has: where, when, who, and the platform's own payload."""

    kind: ClassVar[RecordKind]

    platform: str
    platform_record_id: str
    platform_group_id: str | None
    occurred_at: datetime
    # The person the record is about (the sender, the joiner, the applicant).
    platform_user_id: str | None = None
    # Their display name on the platform, when the payload carries it.
    user_name: str | None = None
    # The group's name, when the payload carries it (names new groups).
    group_name: str | None = None
    raw: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.platform or not self.platform_record_id:
            raise ValueError("a record needs its platform and platform record id")
        object.__setattr__(self, "occurred_at", require_aware(self.occurred_at))

    def data(self) -> dict[str, Any]:
        """The kind's own fields, as stored in the record's ``data`` column."""
        return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagePosted(Record):
    kind: ClassVar[RecordKind] = RecordKind.message_posted

    message_id: str
    text: str = ""
    message_kind: MessageKind = MessageKind.text
    mentions: tuple[str, ...] = ()
    mention_all: bool = False
    reply_to: str | None = None
    # The sender's group nickname at the time, when the platform says.
    nickname: str | None = None
    # A new version of an earlier message (same message_id): stored, not counted again.
    edited: bool = False
    # The images it carries, as its platform names them (a URL, or "<platform>-file:<id>"
    # for a file the platform's API hands out): what the QR detector fetches.
    images: tuple[str, ...] = ()

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.edited:
            out["edited"] = True
        if self.images:
            out["images"] = list(self.images)
        if self.mentions:
            out["mentions"] = list(self.mentions)
        if self.mention_all:
            out["mention_all"] = True
        if self.nickname:
            out["nickname"] = self.nickname
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRecalled(Record):
    kind: ClassVar[RecordKind] = RecordKind.message_recalled

    message_id: str
    # Who recalled it, when not the sender (an admin deleting).
    operator_user_id: str | None = None

    def data(self) -> dict[str, Any]:
        return {"operator": self.operator_user_id} if self.operator_user_id else {}


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberJoined(Record):
    kind: ClassVar[RecordKind] = RecordKind.member_joined

    how: JoinHow = JoinHow.unknown
    # The inviter or the approving admin.
    operator_user_id: str | None = None
    nickname: str | None = None

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"how": self.how.value}
        if self.operator_user_id:
            out["operator"] = self.operator_user_id
        if self.nickname:
            out["nickname"] = self.nickname
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLeft(Record):
    kind: ClassVar[RecordKind] = RecordKind.member_left

    how: LeaveHow = LeaveHow.left
    operator_user_id: str | None = None

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"how": self.how.value}
        if self.operator_user_id:
            out["operator"] = self.operator_user_id
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinRequested(Record):
    kind: ClassVar[RecordKind] = RecordKind.join_requested

    # What the platform needs to answer the request (OneBot's flag, Telegram's chat+user).
    request_id: str
    # The applicant's answers to the join questions, as the platform gives them.
    answers: str = ""
    # "request" (the applicant asked) or "invite" (someone invited them, or the bot).
    request_type: str = "request"
    inviter_user_id: str | None = None

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request_id": self.request_id,
            "answers": self.answers,
            "request_type": self.request_type,
        }
        if self.inviter_user_id:
            out["inviter"] = self.inviter_user_id
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class NicknameChanged(Record):
    kind: ClassVar[RecordKind] = RecordKind.nickname_changed

    old: str | None = None
    new: str = ""

    def data(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionAdded(Record):
    kind: ClassVar[RecordKind] = RecordKind.reaction_added

    message_id: str
    emoji: str

    def data(self) -> dict[str, Any]:
        return {"emoji": self.emoji}


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownPayload(Record):
    """Anything an adapter could not read; ``reason`` says why, ``raw`` keeps it all."""

    kind: ClassVar[RecordKind] = RecordKind.unknown

    reason: str = ""

    def data(self) -> dict[str, Any]:
        return {"reason": self.reason}


AnyRecord = (
    MessagePosted
    | MessageRecalled
    | MemberJoined
    | MemberLeft
    | JoinRequested
    | NicknameChanged
    | ReactionAdded
    | UnknownPayload
)

RECORD_TYPES: dict[RecordKind, type[Record]] = {
    cls.kind: cls
    for cls in (
        MessagePosted,
        MessageRecalled,
        MemberJoined,
        MemberLeft,
        JoinRequested,
        NicknameChanged,
        ReactionAdded,
        UnknownPayload,
    )
}


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as stored: its row id and what it was resolved to."""

    id: int
    community_id: int
    group_id: int | None
    member_id: int | None
    source: str
    record: Record = field(repr=False)
