"""OneBot v11 events into stream records. Pure, and never raises on what it is given.

QQ ids become the platform ``qq`` (not ``onebot``): the same person seen through a
live bot and through a QQ chat export is one identity. Messages are identified by
their ``message_id``; notices carry no id, so theirs is made of their fields (time,
type, group, user, operator), which a repeated delivery repeats.

Mapped: group messages, group_increase, group_decrease, group_recall, group_card and
group join requests. Everything else that is not a meta event (group_ban, uploads,
admin changes, pokes, private messages, unknown types) is kept as an
:class:`UnknownPayload` whose reason says which: ``unmapped:<what>`` for an event we
recognise but have no record kind for (a mute is one: there is no "muted" record),
``unrecognised:<what>`` for one we do not know, ``malformed:<why>`` for a broken one.
Meta events (heartbeat, lifecycle) are not records: they only tell the bot's id.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from qunyun.platforms.onebot import cq
from qunyun.stream.records import (
    JoinHow,
    JoinRequested,
    LeaveHow,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    MessageRecalled,
    NicknameChanged,
    Record,
    UnknownPayload,
)

PLATFORM = "qq"

_JOIN_HOW = {"approve": JoinHow.approved, "invite": JoinHow.invited}
_LEAVE_HOW = {"leave": LeaveHow.left, "kick": LeaveHow.removed, "kick_me": LeaveHow.removed}
_UNMAPPED_NOTICES = frozenset(
    {
        "group_ban",
        "group_upload",
        "group_admin",
        "friend_add",
        "friend_recall",
        "notify",
        "essence",
        "group_msg_emoji_like",
    }
)


@dataclass(frozen=True)
class Parsed:
    records: tuple[Record, ...]
    # The bot's own QQ number, when the event says (every event does).
    self_id: str | None
    # A heartbeat or lifecycle event: nothing to store.
    meta: bool = False


class _Malformed(ValueError):
    pass


def _id(value: Any) -> str | None:
    """A QQ number (or group number) as text; 0 and empty mean "nobody"."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value) if value else None
    if isinstance(value, str) and value.strip() and value.strip() != "0":
        return value.strip()
    return None


def _required_id(event: Mapping[str, Any], name: str) -> str:
    value = _id(event.get(name))
    if value is None:
        raise _Malformed(f"no_{name}")
    return value


def _time(event: Mapping[str, Any], fallback: datetime) -> datetime:
    value = event.get("time")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        # Some implementations send milliseconds.
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return fallback
    return fallback


def _digest(event: Mapping[str, Any]) -> str:
    canonical = json.dumps(event, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_event(event: Any, *, received_at: datetime) -> Parsed:
    """The records of one OneBot event (``received_at`` stands in for a missing time)."""
    if not isinstance(event, Mapping):
        return Parsed((_unknown({"payload": event}, "malformed:not_an_object", received_at),), None)
    self_id = _id(event.get("self_id"))
    post_type = event.get("post_type")
    if post_type == "meta_event":
        return Parsed((), self_id, meta=True)
    try:
        record = _record(event, post_type, self_id, received_at)
    except _Malformed as exc:
        record = _unknown(event, f"malformed:{exc}", received_at)
    except (cq.MessageFormatError, ValueError, TypeError):
        record = _unknown(event, "malformed:message", received_at)
    return Parsed((record,), self_id)


def _record(
    event: Mapping[str, Any], post_type: Any, self_id: str | None, received_at: datetime
) -> Record:
    at = _time(event, received_at)
    if post_type == "message":
        if event.get("message_type") == "group":
            return _group_message(event, at)
        return _unknown(event, f"unmapped:{event.get('message_type')}_message", received_at)
    if post_type == "notice":
        notice = event.get("notice_type")
        handler = _NOTICES.get(notice) if isinstance(notice, str) else None
        if handler is not None:
            return handler(event, at)
        if notice in _UNMAPPED_NOTICES:
            return _unknown(event, f"unmapped:{notice}", received_at)
        return _unknown(event, f"unrecognised:notice.{notice}", received_at)
    if post_type == "request":
        if event.get("request_type") == "group":
            return _group_request(event, at, self_id)
        return _unknown(event, f"unmapped:{event.get('request_type')}_request", received_at)
    if post_type == "message_sent":
        return _unknown(event, "unmapped:message_sent", received_at)
    return _unknown(event, f"unrecognised:{post_type}", received_at)


def _unknown(event: Mapping[str, Any], reason: str, received_at: datetime) -> UnknownPayload:
    return UnknownPayload(
        platform=PLATFORM,
        platform_record_id=f"raw:{_digest(event)}",
        # A group we can name; never a person: a private chat's sender is not a member.
        platform_group_id=_id(event.get("group_id")),
        occurred_at=_time(event, received_at),
        raw=dict(event),
        reason=reason,
    )


def _group_message(event: Mapping[str, Any], at: datetime) -> MessagePosted:
    group = _required_id(event, "group_id")
    message_id = _id(event.get("message_id"))
    if message_id is None:
        raise _Malformed("no_message_id")
    message = event.get("message")
    if message is None:
        message = event.get("raw_message", "")
    segments = cq.parse_message(message)
    people, everyone = cq.mentions(segments)
    sender = event.get("sender")
    sender = sender if isinstance(sender, Mapping) else {}
    user: str | None = _id(event.get("user_id"))
    user_name = _text(sender.get("nickname"))
    nickname = _text(sender.get("card"))
    anonymous = event.get("anonymous")
    if event.get("sub_type") in ("anonymous", "notice") or isinstance(anonymous, Mapping):
        # Every anonymous sender shares one placeholder QQ number: not a person.
        user = None
        if isinstance(anonymous, Mapping):
            user_name = nickname = _text(anonymous.get("name"))
    return MessagePosted(
        platform=PLATFORM,
        platform_record_id=f"msg:{group}:{message_id}",
        platform_group_id=group,
        occurred_at=at,
        platform_user_id=user,
        user_name=user_name,
        group_name=_text(event.get("group_name")),
        raw=dict(event),
        message_id=message_id,
        text=cq.plain_text(segments),
        message_kind=cq.message_kind(segments),
        mentions=people,
        mention_all=everyone,
        reply_to=cq.reply_to(segments),
        nickname=nickname,
        images=cq.images(segments),
    )


def _notice_id(kind: str, event: Mapping[str, Any], *extra: Any) -> str:
    fields = (
        event.get("time"),
        event.get("sub_type"),
        event.get("group_id"),
        event.get("user_id"),
        event.get("operator_id"),
        *extra,
    )
    return f"{kind}:" + ":".join("" if f is None else str(f) for f in fields)


def _operator(event: Mapping[str, Any], user: str) -> str | None:
    operator = _id(event.get("operator_id"))
    return operator if operator != user else None


def _group_increase(event: Mapping[str, Any], at: datetime) -> Record:
    group = _required_id(event, "group_id")
    user = _required_id(event, "user_id")
    return MemberJoined(
        platform=PLATFORM,
        platform_record_id=_notice_id("join", event),
        platform_group_id=group,
        occurred_at=at,
        platform_user_id=user,
        group_name=_text(event.get("group_name")),
        raw=dict(event),
        how=_JOIN_HOW.get(str(event.get("sub_type")), JoinHow.unknown),
        operator_user_id=_operator(event, user),
    )


def _group_decrease(event: Mapping[str, Any], at: datetime) -> Record:
    group = _required_id(event, "group_id")
    user = _required_id(event, "user_id")
    return MemberLeft(
        platform=PLATFORM,
        platform_record_id=_notice_id("leave", event),
        platform_group_id=group,
        occurred_at=at,
        platform_user_id=user,
        group_name=_text(event.get("group_name")),
        raw=dict(event),
        how=_LEAVE_HOW.get(str(event.get("sub_type")), LeaveHow.left),
        operator_user_id=_operator(event, user),
    )


def _group_recall(event: Mapping[str, Any], at: datetime) -> Record:
    group = _required_id(event, "group_id")
    message_id = _id(event.get("message_id"))
    if message_id is None:
        raise _Malformed("no_message_id")
    user = _id(event.get("user_id"))
    operator = _id(event.get("operator_id"))
    return MessageRecalled(
        platform=PLATFORM,
        platform_record_id=f"recall:{group}:{message_id}",
        platform_group_id=group,
        occurred_at=at,
        platform_user_id=user,
        raw=dict(event),
        message_id=message_id,
        operator_user_id=operator if operator != user else None,
    )


def _group_card(event: Mapping[str, Any], at: datetime) -> Record:
    group = _required_id(event, "group_id")
    user = _required_id(event, "user_id")
    old = event.get("card_old")
    new = event.get("card_new")
    cards = hashlib.sha1(  # noqa: S324 - an id, not a signature
        json.dumps([old, new], ensure_ascii=False).encode("utf-8")
    ).hexdigest()[:12]
    return NicknameChanged(
        platform=PLATFORM,
        platform_record_id=_notice_id("card", event, cards),
        platform_group_id=group,
        occurred_at=at,
        platform_user_id=user,
        raw=dict(event),
        old=old if isinstance(old, str) else None,
        new=new if isinstance(new, str) else "",
    )


_NOTICES = {
    "group_increase": _group_increase,
    "group_decrease": _group_decrease,
    "group_recall": _group_recall,
    "group_card": _group_card,
}


def join_request_id(sub_type: str, flag: str) -> str:
    """What answers a join request: OneBot needs the flag and whether it was an invite."""
    return f"{sub_type}:{flag}"


def split_request_id(request_id: str) -> tuple[str, str]:
    """``(sub_type, flag)`` of a :func:`join_request_id`; a bare flag is an ``add``."""
    sub_type, sep, flag = request_id.partition(":")
    if sep and sub_type in ("add", "invite"):
        return sub_type, flag
    return "add", request_id


def _group_request(event: Mapping[str, Any], at: datetime, self_id: str | None) -> Record:
    group = _required_id(event, "group_id")
    user = _required_id(event, "user_id")
    flag = event.get("flag")
    if not isinstance(flag, str | int) or isinstance(flag, bool) or str(flag) == "":
        raise _Malformed("no_flag")
    sub_type = "invite" if event.get("sub_type") == "invite" else "add"
    comment = event.get("comment")
    applicant: str | None
    inviter: str | None
    if sub_type == "invite":
        # Someone (user_id) invites the bot itself into the group.
        applicant, inviter = self_id, user
    else:
        applicant = user
        # go-cqhttp and NapCat name who invited the applicant, when someone did.
        inviter = _id(event.get("invitor_id")) or _id(event.get("inviter_id"))
    return JoinRequested(
        platform=PLATFORM,
        platform_record_id=f"request:{group}:{flag}",
        platform_group_id=group,
        occurred_at=at,
        platform_user_id=applicant,
        raw=dict(event),
        request_id=join_request_id(sub_type, str(flag)),
        answers=comment if isinstance(comment, str) else "",
        request_type="invite" if sub_type == "invite" else "request",
        inviter_user_id=inviter if inviter != applicant else None,
    )
