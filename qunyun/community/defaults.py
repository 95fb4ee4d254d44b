"""The names a community starts with: group kinds, group roles, member sources. Pure."""

from __future__ import annotations

# Kinds a group may have unless the community chose its own list.
GROUP_KINDS: tuple[str, ...] = ("main", "branch", "topic", "lecturer", "student", "trial", "lead")

# A member's role in one group, highest first (a merge keeps the higher one).
GROUP_ROLES: tuple[str, ...] = ("owner", "secretary", "steward", "key_member", "member")

MEMBER_SOURCES: tuple[str, ...] = ("live_code", "invite", "imported", "unknown")

MEMBERSHIP_STATUSES: tuple[str, ...] = ("active", "left", "removed", "banned")

GROUP_STATUSES: tuple[str, ...] = ("active", "archived")

MAX_GROUP_KINDS = 30
MAX_KIND_LENGTH = 32


def kinds_of(configured: list[str] | None) -> tuple[str, ...]:
    """The community's group kinds: its own list, or the defaults."""
    return tuple(configured) if configured else GROUP_KINDS


def higher_role(a: str, b: str) -> str:
    """The more senior of two group roles (unknown names rank lowest)."""

    def rank(role: str) -> int:
        return GROUP_ROLES.index(role) if role in GROUP_ROLES else len(GROUP_ROLES)

    return a if rank(a) <= rank(b) else b
