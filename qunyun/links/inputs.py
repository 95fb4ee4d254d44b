"""What callers hand the link service, and what a link's state is. Pure.

:class:`NewLink` carries raw operator input (the service validates and normalises it);
:class:`LinkChanges` carries only the settings to change, :data:`UNSET` marking the
rest; :class:`LinkQuery` describes one page of the list.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum, StrEnum
from typing import Literal, TypeAlias, TypeVar

MAX_TAGS = 20
MAX_TAG_LENGTH = 64
MAX_TITLE_LENGTH = 200
MAX_NOTE_LENGTH = 5000
MAX_UTM_LENGTH = 100
MAX_PREVIEW_TITLE_LENGTH = 200
MAX_PREVIEW_DESCRIPTION_LENGTH = 500
MAX_PASSWORD_LENGTH = 200
MAX_PER_PAGE = 100
MAX_QUERY_LENGTH = 200
# The column is a 32-bit INTEGER on every database.
MAX_VISITS_LIMIT = 2**31 - 1
REDIRECT_STATUSES = (301, 302)
UTM_NAMES = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
GATE_NAMES = ("allowed_apps", "allowed_devices", "allowed_os")
PREVIEW_NAMES = ("preview_title", "preview_description", "preview_image_url")


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset.UNSET
T = TypeVar("T")
Maybe: TypeAlias = T | Literal[_Unset.UNSET]


class LinkStatus(StrEnum):
    """A link's state as operators see it; the order of checks is the redirect's."""

    active = "active"
    disabled = "disabled"
    expired = "expired"
    used_up = "used_up"
    deleted = "deleted"


def status_of(
    *,
    deleted: bool,
    enabled: bool,
    expires_at: datetime | None,
    max_visits: int | None,
    human_visits: int,
    now: datetime,
) -> LinkStatus:
    if deleted:
        return LinkStatus.deleted
    if not enabled:
        return LinkStatus.disabled
    if expires_at is not None and now >= expires_at:
        return LinkStatus.expired
    if max_visits is not None and human_visits >= max_visits:
        return LinkStatus.used_up
    return LinkStatus.active


class SortKey(StrEnum):
    created_at = "created_at"
    updated_at = "updated_at"
    slug = "slug"
    human_visits = "human_visits"
    expires_at = "expires_at"


@dataclass(frozen=True)
class NewLink:
    """A link to create. Text is taken as typed; empty strings mean "not set"."""

    url: str
    slug: str | None = None
    title: str | None = None
    note: str | None = None
    tags: tuple[str, ...] = ()
    # A naive datetime is read in the installation's time zone.
    expires_at: datetime | None = None
    max_visits: int | None = None
    password: str | None = None
    redirect_status: int = 302
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    # Who may open it: each empty tuple means "anyone" (see qunyun.links.access).
    allowed_apps: tuple[str, ...] = ()
    allowed_devices: tuple[str, ...] = ()
    allowed_os: tuple[str, ...] = ()
    # direct | guide | landing; None follows the community's default.
    anti_block_mode: str | None = None
    preview_title: str | None = None
    preview_description: str | None = None
    preview_image_url: str | None = None


@dataclass(frozen=True)
class LinkChanges:
    """PATCH semantics: a field left :data:`UNSET` keeps its value.

    ``None`` clears an optional setting; ``password=""`` removes the password; an empty
    or ``None`` platform list lets anyone open the link; ``anti_block_mode=None`` follows
    the community's default again.
    """

    url: Maybe[str] = UNSET
    slug: Maybe[str] = UNSET
    title: Maybe[str | None] = UNSET
    note: Maybe[str | None] = UNSET
    tags: Maybe[tuple[str, ...]] = UNSET
    expires_at: Maybe[datetime | None] = UNSET
    max_visits: Maybe[int | None] = UNSET
    password: Maybe[str | None] = UNSET
    redirect_status: Maybe[int] = UNSET
    is_enabled: Maybe[bool] = UNSET
    utm_source: Maybe[str | None] = UNSET
    utm_medium: Maybe[str | None] = UNSET
    utm_campaign: Maybe[str | None] = UNSET
    utm_term: Maybe[str | None] = UNSET
    utm_content: Maybe[str | None] = UNSET
    allowed_apps: Maybe[tuple[str, ...] | None] = UNSET
    allowed_devices: Maybe[tuple[str, ...] | None] = UNSET
    allowed_os: Maybe[tuple[str, ...] | None] = UNSET
    anti_block_mode: Maybe[str | None] = UNSET
    preview_title: Maybe[str | None] = UNSET
    preview_description: Maybe[str | None] = UNSET
    preview_image_url: Maybe[str | None] = UNSET

    def given(self) -> frozenset[str]:
        return frozenset(f.name for f in fields(self) if getattr(self, f.name) is not UNSET)


@dataclass(frozen=True)
class LinkDefaultsChanges:
    """A community's link defaults to change; :data:`UNSET` keeps one.

    ``guide_apps=None`` returns to the built-in list of restricting apps; an empty
    tuple means no app gets the "open in your browser" guide.
    """

    anti_block_mode: Maybe[str] = UNSET
    guide_apps: Maybe[tuple[str, ...] | None] = UNSET


@dataclass(frozen=True)
class LinkQuery:
    q: str | None = None
    tag: str | None = None
    status: LinkStatus | None = None
    sort: SortKey = SortKey.created_at
    descending: bool = True
    page: int = 1
    per_page: int = 20
