"""Reading a platform's member list into one shape. Pure.

``get_member_list`` answers in the platform's own words: OneBot's
``get_group_member_list`` (``user_id``, ``nickname``, ``card``, ``role``
owner/admin/member), Telegram's ``getChatAdministrators`` (``ChatMember`` objects:
``status`` creator/administrator/member, ``user`` with ``id`` and names,
``custom_title``) or a bridge's ``{"user", "name", "nickname", "role"}``. Entries that
name nobody are skipped, never fatal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_ROLES = {
    "owner": "owner",
    "creator": "owner",
    "admin": "admin",
    "administrator": "admin",
}


@dataclass(frozen=True)
class ListedMember:
    user_id: str
    # The account name (QQ nickname, Telegram first + last name).
    name: str | None
    # The group nickname (群名片), when the platform has one.
    nickname: str | None
    # "owner", "admin" or "member".
    role: str


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:200]
    return None


def _user_id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return _text(value)


def _entry(item: Mapping[str, Any]) -> ListedMember | None:
    user = item.get("user")
    if isinstance(user, Mapping):  # Telegram ChatMember
        user_id = _user_id(user.get("id"))
        first, last = _text(user.get("first_name")), _text(user.get("last_name"))
        name = " ".join(p for p in (first, last) if p) or _text(user.get("username"))
        role = _ROLES.get(str(item.get("status", "")), "member")
        return ListedMember(user_id, name, None, role) if user_id else None
    user_id = _user_id(item.get("user_id", user))
    if user_id is None:
        return None
    name = _text(item.get("nickname")) if "user_id" in item else _text(item.get("name"))
    nickname = _text(item.get("card")) if "user_id" in item else _text(item.get("nickname"))
    role = _ROLES.get(str(item.get("role", "")), "member")
    return ListedMember(user_id, name, nickname, role)


def parse_member_list(data: Any) -> list[ListedMember]:
    """Every member ``data`` names, once each (the first mention wins)."""
    if isinstance(data, Mapping):
        data = data.get("members", data.get("result", data.get("data")))
    if not isinstance(data, list):
        return []
    found: dict[str, ListedMember] = {}
    for item in data:
        if not isinstance(item, Mapping):
            continue
        entry = _entry(item)
        if entry is not None and entry.user_id not in found:
            found[entry.user_id] = entry
    return list(found.values())
