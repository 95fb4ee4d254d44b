"""JSON shapes of the short-link API.

Limits here only stop absurd input early (422); the service holds the real rules and
answers 400 with a specific code (a URL longer than the configured maximum is
``url.too_long``, not a validation error).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic.json_schema import SkipJsonSchema

from qunyun.links.access import APP_CHOICES, DEVICE_CHOICES, OS_CHOICES
from qunyun.links.inputs import (
    GATE_NAMES,
    MAX_NOTE_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_PREVIEW_DESCRIPTION_LENGTH,
    MAX_PREVIEW_TITLE_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MAX_TITLE_LENGTH,
    MAX_UTM_LENGTH,
    MAX_VISITS_LIMIT,
    UNSET,
    LinkChanges,
    LinkDefaultsChanges,
    LinkStatus,
    NewLink,
)
from qunyun.links.rules import MODE_CHOICES, PLATFORM_CHOICES
from qunyun.links.slugs import MAX_SLUG_LENGTH

MAX_URL_INPUT = 65_536
TagName = Annotated[str, Field(max_length=MAX_TAG_LENGTH)]
Utm = Annotated[str | None, Field(max_length=MAX_UTM_LENGTH)]


def _one_of(choices: tuple[str, ...], description: str) -> WithJsonSchema:
    """Text documented as one of ``choices``; the service refuses any other by name
    (400 ``link.unknown_platform`` / ``link.unknown_mode``) rather than a bare 422."""
    return WithJsonSchema({"type": "string", "enum": list(choices), "description": description})


_CHOICE_LENGTH = Field(max_length=40)
AppChoice = Annotated[
    str,
    _CHOICE_LENGTH,
    _one_of(APP_CHOICES, '"browser": any standalone browser; the others: apps'),
]
DeviceChoice = Annotated[str, _CHOICE_LENGTH, _one_of(DEVICE_CHOICES, "a device type")]
OsChoice = Annotated[str, _CHOICE_LENGTH, _one_of(OS_CHOICES, "an operating system")]
ModeChoice = Annotated[
    str,
    _CHOICE_LENGTH,
    _one_of(
        MODE_CHOICES,
        "direct: redirect; guide: an 'open in your browser' page inside restricting apps; "
        "landing: always an intermediate page",
    ),
]
GuideAppChoice = Annotated[str, _CHOICE_LENGTH, _one_of(PLATFORM_CHOICES["guide_apps"], "an app")]
_MAX_CHOICES = 50


class _LinkFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=MAX_TITLE_LENGTH)
    fetch_title: bool = Field(
        default=False, description="fetch the title from the target page when none is given"
    )
    note: str | None = Field(default=None, max_length=MAX_NOTE_LENGTH)
    expires_at: datetime | None = Field(
        default=None, description="ISO 8601; without an offset it is read in the server's zone"
    )
    max_visits: int | None = Field(default=None, ge=1, le=MAX_VISITS_LIMIT)
    password: str | None = Field(
        default=None, max_length=MAX_PASSWORD_LENGTH, description="empty: no password"
    )
    utm_source: Utm = None
    utm_medium: Utm = None
    utm_campaign: Utm = None
    utm_term: Utm = None
    utm_content: Utm = None
    anti_block_mode: ModeChoice | None = Field(
        default=None, description="null: follow the community's default"
    )
    preview_title: str | None = Field(
        default=None, max_length=MAX_PREVIEW_TITLE_LENGTH, description="share-card title"
    )
    preview_description: str | None = Field(default=None, max_length=MAX_PREVIEW_DESCRIPTION_LENGTH)
    preview_image_url: str | None = Field(
        default=None, max_length=MAX_URL_INPUT, description="http(s) URL of the card's image"
    )
    fetch_preview: bool = Field(
        default=False,
        description="fill the share card from the target page's Open Graph tags "
        "(the preview fields not given)",
    )


class LinkCreateIn(_LinkFields):
    url: str = Field(min_length=1, max_length=MAX_URL_INPUT, examples=["https://example.com/"])
    slug: str | None = Field(
        default=None, max_length=MAX_SLUG_LENGTH, description="custom slug; generated if absent"
    )
    tags: list[TagName] = Field(default_factory=list, max_length=MAX_TAGS)
    redirect_status: Literal[301, 302] = 302
    allowed_apps: list[AppChoice] = Field(
        default_factory=list, max_length=_MAX_CHOICES, description="empty: any app or browser"
    )
    allowed_devices: list[DeviceChoice] = Field(
        default_factory=list, max_length=_MAX_CHOICES, description="empty: any device"
    )
    allowed_os: list[OsChoice] = Field(
        default_factory=list, max_length=_MAX_CHOICES, description="empty: any system"
    )

    def to_new_link(self) -> NewLink:
        return NewLink(
            url=self.url,
            slug=self.slug,
            title=self.title,
            note=self.note,
            tags=tuple(self.tags),
            expires_at=self.expires_at,
            max_visits=self.max_visits,
            password=self.password,
            redirect_status=self.redirect_status,
            utm_source=self.utm_source,
            utm_medium=self.utm_medium,
            utm_campaign=self.utm_campaign,
            utm_term=self.utm_term,
            utm_content=self.utm_content,
            allowed_apps=tuple(self.allowed_apps),
            allowed_devices=tuple(self.allowed_devices),
            allowed_os=tuple(self.allowed_os),
            anti_block_mode=self.anti_block_mode,
            preview_title=self.preview_title,
            preview_description=self.preview_description,
            preview_image_url=self.preview_image_url,
        )


_NOT_NULLABLE = (
    "url",
    "slug",
    "tags",
    "redirect_status",
    "is_enabled",
    "fetch_title",
    "fetch_preview",
)


class LinkUpdateIn(_LinkFields):
    """Only the fields sent change; ``null`` clears an optional one; ``password: ""``
    removes the password."""

    url: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=MAX_URL_INPUT)
    slug: str | SkipJsonSchema[None] = Field(default=None, max_length=MAX_SLUG_LENGTH)
    tags: list[TagName] | SkipJsonSchema[None] = Field(default=None, max_length=MAX_TAGS)
    redirect_status: Literal[301, 302] | SkipJsonSchema[None] = None
    is_enabled: bool | SkipJsonSchema[None] = None
    allowed_apps: list[AppChoice] | None = Field(
        default=None, max_length=_MAX_CHOICES, description="empty or null: any app or browser"
    )
    allowed_devices: list[DeviceChoice] | None = Field(
        default=None, max_length=_MAX_CHOICES, description="empty or null: any device"
    )
    allowed_os: list[OsChoice] | None = Field(
        default=None, max_length=_MAX_CHOICES, description="empty or null: any system"
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in _NOT_NULLABLE:
                if name in data and data[name] is None:
                    raise ValueError(f"{name} cannot be null")
        return data

    def to_changes(self) -> LinkChanges:
        given = self.model_fields_set - {"fetch_title", "fetch_preview"}
        values: dict[str, Any] = {name: getattr(self, name) for name in given}
        for name in ("tags", *GATE_NAMES):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        return LinkChanges(**{name: values.get(name, UNSET) for name in _CHANGE_FIELDS})


_CHANGE_FIELDS = tuple(LinkChanges.__dataclass_fields__)


class LinkOut(BaseModel):
    slug: str
    short_url: str
    target_url: str = Field(description="normalised target, without the UTM parameters")
    display_url: str = Field(description="the target for people: Unicode host and path")
    title: str | None
    note: str | None
    tags: list[str]
    expires_at: datetime | None
    max_visits: int | None
    has_password: bool
    redirect_status: int
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    allowed_apps: list[AppChoice] = Field(description="empty: any")
    allowed_devices: list[DeviceChoice] = Field(description="empty: any")
    allowed_os: list[OsChoice] = Field(description="empty: any")
    anti_block_mode: ModeChoice | None = Field(description="null: the community's default")
    preview_title: str | None
    preview_description: str | None
    preview_image_url: str | None
    preview_url: str = Field(description="the share card as preview bots see it")
    is_enabled: bool
    state: LinkStatus
    deleted_at: datetime | None
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    human_visits: int
    bot_visits: int
    last_visit_at: datetime | None


class LinkListOut(BaseModel):
    items: list[LinkOut]
    total: int
    page: int
    per_page: int


class ImportRowOut(BaseModel):
    row: int = Field(description="spreadsheet row number; the header is row 1")
    ok: bool
    slug: str | None = None
    code: str | None = None
    message: str | None = None


class ImportReportOut(BaseModel):
    dry_run: bool
    created: int = Field(description="rows created (in a dry run: rows that would be)")
    failed: int
    rows: list[ImportRowOut]


class BlockedHostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(min_length=1, max_length=300, examples=["example.com", "*.example.com"])
    reason: str | None = Field(default=None, max_length=255)


class BlockedHostOut(BaseModel):
    id: int
    pattern: str
    reason: str | None
    created_at: datetime


class LinkSettingsIn(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    anti_block_mode: ModeChoice | SkipJsonSchema[None] = Field(
        default=None, description="the mode of every link without one of its own"
    )
    guide_apps: list[GuideAppChoice] | None = Field(
        default=None,
        max_length=_MAX_CHOICES,
        description="apps whose in-app browsers get the guide page in guide mode; "
        "null: the built-in list; empty: none",
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_null_mode(cls, data: Any) -> Any:
        if isinstance(data, dict) and "anti_block_mode" in data and data["anti_block_mode"] is None:
            raise ValueError("anti_block_mode cannot be null")
        return data

    def to_changes(self) -> LinkDefaultsChanges:
        fields = self.model_fields_set
        return LinkDefaultsChanges(
            anti_block_mode=(
                self.anti_block_mode
                if "anti_block_mode" in fields and self.anti_block_mode is not None
                else UNSET
            ),
            guide_apps=(
                (None if self.guide_apps is None else tuple(self.guide_apps))
                if "guide_apps" in fields
                else UNSET
            ),
        )


class LinkSettingsOut(BaseModel):
    anti_block_mode: ModeChoice
    guide_apps: list[GuideAppChoice] = Field(description="the apps in effect")
    guide_apps_chosen: bool = Field(description="false: the built-in list is in effect")
    built_in_guide_apps: list[GuideAppChoice]
