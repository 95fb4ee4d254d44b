"""What Qunyun can ask a chat platform to do. Pure: adapters translate these.

Every action names the group by its platform group id and the people by their
platform user ids; ``params`` holds the kind's own fields, listed in :data:`PARAMS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ActionKind(StrEnum):
    send_message = "send_message"
    # A private message to one member of the group (notices, one-time codes).
    send_private = "send_private"
    delete_message = "delete_message"
    # seconds > 0 mutes for that long; seconds == 0 lifts the mute.
    mute = "mute"
    whole_mute = "whole_mute"
    kick = "kick"
    ban = "ban"
    unban = "unban"
    set_nickname = "set_nickname"
    set_title = "set_title"
    answer_join_request = "answer_join_request"
    get_group_info = "get_group_info"
    get_member_list = "get_member_list"
    get_member_info = "get_member_info"


# Required and optional fields of each kind (group is always required).
PARAMS: dict[ActionKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ActionKind.send_message: (("text",), ("reply_to", "mentions")),
    # secret: a part of the text (a one-time code) blanked from the stored row once sent.
    ActionKind.send_private: (("user", "text"), ("secret",)),
    ActionKind.delete_message: (("message_id",), ()),
    ActionKind.mute: (("user", "seconds"), ()),
    ActionKind.whole_mute: (("enable",), ()),
    ActionKind.kick: (("user",), ("reject_rejoin",)),
    ActionKind.ban: (("user",), ()),
    ActionKind.unban: (("user",), ()),
    ActionKind.set_nickname: (("user", "nickname"), ()),
    ActionKind.set_title: (("user", "title"), ()),
    ActionKind.answer_join_request: (("request_id", "approve"), ("reason", "user")),
    ActionKind.get_group_info: ((), ()),
    ActionKind.get_member_list: ((), ()),
    ActionKind.get_member_info: (("user",), ()),
}

# Queries answer at once and are not queued in the outbox.
QUERIES = frozenset(
    {ActionKind.get_group_info, ActionKind.get_member_list, ActionKind.get_member_info}
)


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    group: str
    params: Mapping[str, Any] = field(default_factory=dict)
    # The outbox row's id, stable across retries, so a receiver can drop repeats.
    id: str | None = None

    def __post_init__(self) -> None:
        required, optional = PARAMS[self.kind]
        missing = [name for name in required if name not in self.params]
        if missing:
            raise ValueError(f"{self.kind.value} needs {', '.join(missing)}")
        extra = set(self.params) - set(required) - set(optional)
        if extra:
            raise ValueError(f"{self.kind.value} does not take {', '.join(sorted(extra))}")


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    data: Any = None
    error: str | None = None
    # False when trying again cannot help (bad request, no permission).
    retryable: bool = True

    @classmethod
    def success(cls, data: Any = None) -> ActionResult:
        return cls(ok=True, data=data)

    @classmethod
    def failure(cls, error: str, *, retryable: bool = True) -> ActionResult:
        return cls(ok=False, error=error, retryable=retryable)
