"""Qunyun's actions as OneBot v11 API calls, and OneBot's answers as results. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qunyun.platforms.actions import Action, ActionKind, ActionResult
from qunyun.platforms.onebot.events import split_request_id


class Unsupported(ValueError):
    """OneBot v11 has no API for this action."""


@dataclass(frozen=True)
class Call:
    action: str
    params: dict[str, Any]


def _number(value: Any, what: str) -> int:
    """QQ numbers and message ids travel as integers (int64 / int32 in the spec)."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    raise ValueError(f"{what} must be a number, not {value!r}")


def _message(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    segments: list[dict[str, Any]] = []
    reply = params.get("reply_to")
    if reply:
        segments.append({"type": "reply", "data": {"id": str(reply)}})
    for person in params.get("mentions") or ():
        qq = "all" if str(person) == "all" else str(_number(person, "mention"))
        segments.append({"type": "at", "data": {"qq": qq}})
        segments.append({"type": "text", "data": {"text": " "}})
    segments.append({"type": "text", "data": {"text": str(params["text"])}})
    return segments


def to_call(action: Action) -> Call:
    """The OneBot call doing ``action`` (ValueError for bad ids, Unsupported)."""
    p = action.params
    group = {"group_id": _number(action.group, "group")}

    def user() -> dict[str, Any]:
        return {**group, "user_id": _number(p["user"], "user")}

    match action.kind:
        case ActionKind.send_message:
            return Call("send_group_msg", {**group, "message": _message(p), "auto_escape": False})
        case ActionKind.send_private:
            # group_id (go-cqhttp, NapCat, Lagrange) lets the bot open a temporary chat
            # with a member who is not its friend; implementations without it ignore it.
            text = [{"type": "text", "data": {"text": str(p["text"])}}]
            return Call("send_private_msg", {**user(), "message": text, "auto_escape": False})
        case ActionKind.delete_message:
            return Call("delete_msg", {"message_id": _number(p["message_id"], "message_id")})
        case ActionKind.mute:
            seconds = max(0, int(p["seconds"]))
            return Call("set_group_ban", {**user(), "duration": seconds})
        case ActionKind.whole_mute:
            return Call("set_group_whole_ban", {**group, "enable": bool(p["enable"])})
        case ActionKind.kick:
            reject = bool(p.get("reject_rejoin", False))
            return Call("set_group_kick", {**user(), "reject_add_request": reject})
        case ActionKind.ban:
            return Call("set_group_kick", {**user(), "reject_add_request": True})
        case ActionKind.set_nickname:
            return Call("set_group_card", {**user(), "card": str(p["nickname"])})
        case ActionKind.set_title:
            title = str(p["title"])
            return Call(
                "set_group_special_title", {**user(), "special_title": title, "duration": -1}
            )
        case ActionKind.answer_join_request:
            sub_type, flag = split_request_id(str(p["request_id"]))
            params: dict[str, Any] = {
                "flag": flag,
                "sub_type": sub_type,
                "approve": bool(p["approve"]),
            }
            if not p["approve"] and p.get("reason"):
                params["reason"] = str(p["reason"])
            return Call("set_group_add_request", params)
        case ActionKind.get_group_info:
            return Call("get_group_info", {**group, "no_cache": True})
        case ActionKind.get_member_list:
            return Call("get_group_member_list", {**group, "no_cache": True})
        case ActionKind.get_member_info:
            return Call("get_group_member_info", {**user(), "no_cache": True})
    # unban: QQ lifts a kick's "refuse to rejoin" only in its own client.
    raise Unsupported(action.kind.value)


# retcode 100: bad or missing parameters; 102: valid but refused (e.g. no permission);
# 1400-1499: go-cqhttp's HTTP-like refusals (1404: no such API). Trying again cannot help.
def _retryable(retcode: int) -> bool:
    return not (retcode in (100, 102) or 1400 <= retcode < 1500)


def to_result(answer: Any) -> ActionResult:
    """An ActionResult from OneBot's ``{status, retcode, data, msg/wording}``."""
    if not isinstance(answer, Mapping):
        return ActionResult.failure("onebot.bad_answer", retryable=True)
    status = answer.get("status")
    retcode = answer.get("retcode")
    if status == "ok" or (status is None and retcode == 0):
        return ActionResult.success(answer.get("data"))
    if status == "async" or retcode == 1:
        return ActionResult.success(None)
    code = retcode if isinstance(retcode, int) and not isinstance(retcode, bool) else -1
    detail = answer.get("wording") or answer.get("msg") or answer.get("message") or ""
    error = f"onebot.failed retcode={code}" + (f" {detail}" if detail else "")
    return ActionResult.failure(error[:500], retryable=_retryable(code))
