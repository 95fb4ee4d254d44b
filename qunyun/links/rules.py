"""The rules a link's settings follow, whoever sets them. Pure.

Each function returns the value to store or raises :class:`~qunyun.errors.DomainError`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from qunyun.clients import App
from qunyun.errors import DomainError
from qunyun.links.access import APP_CHOICES, DEVICE_CHOICES, OS_CHOICES, Mode
from qunyun.links.inputs import (
    MAX_PASSWORD_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MAX_VISITS_LIMIT,
    REDIRECT_STATUSES,
)

# They separate tags in CSV files and forms.
FORBIDDEN_TAG_CHARACTERS = frozenset("|,，")
PLATFORM_CHOICES: dict[str, tuple[str, ...]] = {
    "allowed_apps": APP_CHOICES,
    "allowed_devices": DEVICE_CHOICES,
    "allowed_os": OS_CHOICES,
    # Apps whose in-app browsers get the guide: "browser" is no app.
    "guide_apps": tuple(a.value for a in App),
}
MODE_CHOICES: tuple[str, ...] = tuple(m.value for m in Mode)


def clean_text(value: str | None, field_name: str, max_length: int) -> str | None:
    """Trimmed text or ``None``; refuses what no database column should hold."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    refuse_unstorable(text, field_name)
    if len(text) > max_length:
        raise DomainError(
            "link.text_too_long", field=field_name, length=len(text), max_length=max_length
        )
    return text


def refuse_unstorable(text: str, field_name: str) -> None:
    # PostgreSQL refuses NUL in text and no encoder takes a lone surrogate.
    if "\x00" in text or any(unicodedata.category(c) == "Cs" for c in text):
        raise DomainError("link.invalid_text", field=field_name)


def clean_tags(names: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated tag names in their given order; at most :data:`MAX_TAGS`."""
    cleaned: list[str] = []
    for raw in names:
        name = " ".join(raw.split())
        if not name or name in cleaned:
            continue
        refuse_unstorable(name, "tags")
        if len(name) > MAX_TAG_LENGTH:
            raise DomainError("tag.too_long", name=name[:20] + "…", max_length=MAX_TAG_LENGTH)
        if any(c in FORBIDDEN_TAG_CHARACTERS for c in name):
            raise DomainError("tag.invalid_chars", name=name)
        cleaned.append(name)
    if len(cleaned) > MAX_TAGS:
        raise DomainError("tag.too_many", count=len(cleaned), max=MAX_TAGS)
    return cleaned


def expiry(value: datetime | None, timezone: str, now: datetime) -> datetime | None:
    """An expiry in UTC, which must lie after ``now``; a naive one is local to ``timezone``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    try:
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):  # the year 1 or 9999 pushed across its edge
        raise DomainError("link.invalid_expiry") from None
    if value <= now:
        raise DomainError("link.expiry_in_past")
    return value


def max_visits(value: int | None) -> int | None:
    if value is None:
        return None
    if not 1 <= value <= MAX_VISITS_LIMIT:
        raise DomainError("link.invalid_max_visits", max=MAX_VISITS_LIMIT)
    return value


def password(value: str | None) -> str | None:
    """The password to hash, or ``None`` for none (an empty one is none)."""
    if not value:
        return None
    if len(value) > MAX_PASSWORD_LENGTH:
        raise DomainError("link.password_too_long", max_length=MAX_PASSWORD_LENGTH)
    refuse_unstorable(value, "password")
    return value


def redirect_status(value: int) -> int:
    if value not in REDIRECT_STATUSES:
        raise DomainError("link.invalid_redirect_status", given=value)
    return value


def platforms(values: Iterable[str] | None, field_name: str) -> list[str] | None:
    """The chosen platforms of a list in :data:`PLATFORM_CHOICES`, in their canonical
    order, or ``None`` when none is chosen ("anyone").

    Case does not matter (``WeChat``, ``ios``); an unknown one is refused by name.
    """
    allowed = PLATFORM_CHOICES[field_name]
    canonical = {choice.casefold(): choice for choice in allowed}
    chosen: set[str] = set()
    for raw in values or ():
        text = raw.strip()
        if not text:
            continue
        choice = canonical.get(text.casefold())
        if choice is None:
            refuse_unstorable(text, field_name)
            raise DomainError(
                "link.unknown_platform",
                field=field_name,
                value=text[:40],
                choices=", ".join(allowed),
            )
        chosen.add(choice)
    return [choice for choice in allowed if choice in chosen] or None


def anti_block_mode(value: str | None) -> str | None:
    """A mode to store, or ``None`` (empty) to follow the community's default."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    if text not in MODE_CHOICES:
        refuse_unstorable(value, "anti_block_mode")
        raise DomainError(
            "link.unknown_mode", value=value.strip()[:40], choices=", ".join(MODE_CHOICES)
        )
    return text
