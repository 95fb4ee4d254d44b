"""The words a human steward needs to do an action by hand (manual mode). Pure.

Each to-do has an instruction ("在群「X」中禁言 张三 10 分钟") and the text to copy: the
message itself for a message to post, the new nickname or title, otherwise the
instruction again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qunyun.i18n import gettext
from qunyun.platforms.actions import ActionKind


@dataclass(frozen=True)
class TodoText:
    instruction: str
    copy: str


def format_duration(seconds: int, lang: str) -> str:
    """``600`` -> "10 分钟" / "10 minutes"; the largest whole unit that divides it."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            return gettext(f"todo.duration.{unit}", lang, n=seconds // size)
    return gettext("todo.duration.second", lang, n=seconds)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def todo_text(
    kind: str,
    params: Mapping[str, Any],
    lang: str,
    *,
    group: str,
    names: Mapping[str, str] | None = None,
    excerpt: str | None = None,
) -> TodoText:
    """What to do, in ``lang``; ``names`` maps platform user ids to display names and
    ``excerpt`` is the text of the message an action deletes, when known."""
    known = names or {}

    def who(key: str = "user") -> str:
        user = str(params.get(key, ""))
        return known.get(user) or user

    def say(key: str, **extra: Any) -> str:
        return gettext(f"todo.{key}", lang, group=group, **extra)

    kind_ = ActionKind(kind)
    if kind_ is ActionKind.send_message:
        text = str(params.get("text", ""))
        mentions = [known.get(str(m)) or str(m) for m in params.get("mentions") or ()]
        line = say("send_message")
        if mentions:
            joined = gettext("todo.separator", lang).join(mentions)
            line += say("send_message.mentions", users=joined)
        return TodoText(line, text)
    if kind_ is ActionKind.send_private:
        return TodoText(say("send_private", user=who()), str(params.get("text", "")))
    if kind_ is ActionKind.delete_message:
        if excerpt:
            line = say("delete_message.quoted", excerpt=excerpt)
        else:
            line = say("delete_message", message=params.get("message_id", ""))
        return TodoText(line, line)
    if kind_ is ActionKind.mute:
        seconds = int(params.get("seconds") or 0)
        if seconds <= 0:
            line = say("unmute", user=who())
        else:
            line = say("mute", user=who(), duration=format_duration(seconds, lang))
        return TodoText(line, line)
    if kind_ is ActionKind.whole_mute:
        line = say("whole_mute.on" if _truthy(params.get("enable")) else "whole_mute.off")
        return TodoText(line, line)
    if kind_ is ActionKind.kick:
        line = say("kick", user=who())
        if _truthy(params.get("reject_rejoin")):
            line += say("kick.reject_rejoin")
        return TodoText(line, line)
    if kind_ is ActionKind.ban:
        line = say("ban", user=who())
        return TodoText(line, line)
    if kind_ is ActionKind.unban:
        line = say("unban", user=who())
        return TodoText(line, line)
    if kind_ is ActionKind.set_nickname:
        nickname = str(params.get("nickname", ""))
        return TodoText(say("set_nickname", user=who(), nickname=nickname), nickname)
    if kind_ is ActionKind.set_title:
        title = str(params.get("title", ""))
        return TodoText(say("set_title", user=who(), title=title), title)
    if kind_ is ActionKind.answer_join_request:
        applicant = who() if params.get("user") else str(params.get("request_id", ""))
        if _truthy(params.get("approve")):
            line = say("join.approve", user=applicant)
        else:
            line = say("join.reject", user=applicant)
            if params.get("reason"):
                line += say("join.reason", reason=params["reason"])
        return TodoText(line, line)
    line = say("query", kind=kind_.value)
    return TodoText(line, line)
