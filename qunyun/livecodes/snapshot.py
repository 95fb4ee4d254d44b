"""What the landing page needs to know about a live code, frozen. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from qunyun.livecodes.rotation import PoolMember, Schedule, Strategy


class CodeKind(StrEnum):
    group = "group"  # group invitation QRs (群活码)
    staff = "staff"  # staff contact QRs (客服码)


class CodeStatus(StrEnum):
    active = "active"
    paused = "paused"  # the landing shows the fallback
    retired = "retired"  # merged into another code, whose pool its links serve
    deleted = "deleted"  # its links are deleted too; kept so slugs are never reused


@dataclass(frozen=True, slots=True)
class MemberCard:
    name: str
    image_url: str


@dataclass(frozen=True, slots=True)
class LiveCodeSnapshot:
    """The code whose pool is served (after following merges)."""

    id: int
    community_id: int
    name: str
    kind: CodeKind
    strategy: Strategy
    title: str | None
    description: str | None
    sticky_days: int
    zone: ZoneInfo
    active_hours: Schedule | None
    status: CodeStatus
    members: tuple[PoolMember, ...]
    cards: Mapping[int, MemberCard]
    fallback_message: str | None = None
    fallback_contact: str | None = None
    fallback_image_url: str | None = None

    def member(self, member_id: int) -> PoolMember | None:
        for member in self.members:
            if member.id == member_id:
                return member
        return None
