"""Reading a stored stream record for judgement: the message as evaluate sees it, the
sender's language and whether the platform calls them an admin. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qunyun.i18n import normalise_language
from qunyun.moderation.evaluate import MessageContext
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import MessageKind

# Where a Telegram Update keeps the person acting (their app's language is there).
_TELEGRAM_PARTS = ("message", "edited_message", "chat_member", "chat_join_request")


def message_kind(value: str | None) -> MessageKind:
    try:
        return MessageKind(value or "text")
    except ValueError:
        return MessageKind.other


def message_context(
    record: StreamRecord, *, timezone: str | None, own_link_hosts: tuple[str, ...]
) -> MessageContext:
    data = record.data or {}
    mentions = data.get("mentions") or ()
    return MessageContext(
        group_id=int(record.group_id or 0),
        message_id=record.message_id or "",
        occurred_at=record.occurred_at,
        text=record.text or "",
        kind=message_kind(record.message_kind),
        mentions=len(mentions) if isinstance(mentions, list) else 0,
        mention_all=bool(data.get("mention_all")),
        group_timezone=timezone,
        own_link_hosts=own_link_hosts,
        raw=record.raw,
    )


def _dig(raw: Mapping[str, Any] | None, *path: str) -> Any:
    value: Any = raw
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def record_language(record: StreamRecord, default: str) -> str:
    """The language the person's app uses, where the platform says (Telegram's
    ``language_code``), else ``default``."""
    for part in _TELEGRAM_PARTS:
        code = _dig(record.raw, part, "from", "language_code")
        if isinstance(code, str) and code:
            return normalise_language(code, default)
    return default


def platform_admin(record: StreamRecord) -> bool:
    """Whether the platform calls the sender an admin or the owner (OneBot's sender role)."""
    return _dig(record.raw, "sender", "role") in ("owner", "admin")


def is_edit(record: StreamRecord) -> bool:
    return bool((record.data or {}).get("edited"))
