"""What the redirect needs to know about a link, frozen, and what it decides. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from qunyun.links.access import DEFAULT_GUIDE_APPS, Gate, Mode


class LinkState(StrEnum):
    ok = "ok"
    unknown = "unknown"
    disabled = "disabled"
    expired = "expired"
    used_up = "used_up"


# 404 where the link may come back or never was; 410 where it is over for good.
STATE_STATUS = {
    LinkState.unknown: 404,
    LinkState.disabled: 404,
    LinkState.expired: 410,
    LinkState.used_up: 410,
}


@dataclass(frozen=True, slots=True)
class LinkSnapshot:
    id: int
    community_id: int
    slug: str
    location: str
    redirect_status: int
    enabled: bool
    deleted: bool
    expires_at: float | None
    max_visits: int | None
    human_visits: int
    password_hash: str | None
    title: str | None
    kind: str = "url"
    live_code_id: int | None = None
    channel_id: int | None = None
    mode: Mode = Mode.direct
    gate: Gate = field(default_factory=Gate)
    guide_apps: frozenset[str] = DEFAULT_GUIDE_APPS
    description: str | None = None
    image_url: str | None = None

    def state(self, now: float) -> LinkState:
        if self.deleted:
            return LinkState.unknown
        if not self.enabled:
            return LinkState.disabled
        if self.expires_at is not None and now >= self.expires_at:
            return LinkState.expired
        if self.max_visits is not None and self.human_visits >= self.max_visits:
            return LinkState.used_up
        return LinkState.ok
