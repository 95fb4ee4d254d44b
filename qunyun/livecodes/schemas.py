"""JSON shapes of the live-code API. Limits here stop absurd input early (422); the
services hold the rules and answer 400 with a specific ``livecode.*`` code."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qunyun.livecodes.rotation import MAX_WEIGHT
from qunyun.livecodes.service import (
    MAX_CHANNEL_NAME,
    MAX_CONTACT,
    MAX_DESCRIPTION,
    MAX_EXPIRY_DAYS,
    MAX_MESSAGE,
    MAX_NAME,
    MAX_STICKY_DAYS,
    MAX_THRESHOLD,
    MAX_TITLE,
)
from qunyun.visits.api import BreakdownsOut, BucketOut, TotalsOut
from qunyun.visits.stats import Granularity
from qunyun.web.schemas import ErrorOut, ValidationErrorOut

Kind = Literal["group", "staff"]
StrategyName = Literal["in_order", "round_robin", "weighted"]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Refused input (see code), e.g. livecode.image_no_qr, livecode.invalid_hours",
        401: "Not signed in, or the API token is invalid",
        403: "The role is insufficient, or the CSRF token is missing",
        404: "No such live code, member, channel or alert in your community",
        409: "Conflict: slug.taken, livecode.member_duplicate, livecode.already_retired …",
        413: "The image is too large (qr.image_too_large, qr.image_too_many_pixels)",
    }
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorOut, "description": described[status]} for status in statuses
    }
    responses[422] = {"model": ValidationErrorOut, "description": "Malformed request"}
    return responses


class Hours(BaseModel):
    """Weekly hours in the code's time zone; an end at or before the start runs past
    midnight. Every field optional; ``null`` hours mean always."""

    model_config = ConfigDict(extra="forbid")

    days: list[int] | None = Field(
        default=None, max_length=7, description="ISO weekdays, 1 = Monday … 7 = Sunday"
    )
    start: str | None = Field(default=None, max_length=5, examples=["09:00"])
    end: str | None = Field(default=None, max_length=5, examples=["18:00"])

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class _CodeFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=MAX_TITLE, description="landing title")
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    sticky_days: int | None = Field(
        default=None,
        ge=0,
        le=MAX_STICKY_DAYS,
        description="a returning visitor sees the same member this long (0: never)",
    )
    default_threshold: int | None = Field(
        default=None, ge=0, le=MAX_THRESHOLD, description="new members' scan threshold; 0: none"
    )
    default_expiry_days: int | None = Field(
        default=None, ge=0, le=MAX_EXPIRY_DAYS, description="new members expire after; 0: never"
    )
    timezone: str | None = Field(default=None, max_length=64, examples=["Asia/Shanghai"])
    active_hours: Hours | None = None
    fallback_message: str | None = Field(default=None, max_length=MAX_MESSAGE)
    fallback_contact: str | None = Field(default=None, max_length=MAX_CONTACT)
    alert_webhook_url: str | None = Field(default=None, max_length=4096)
    allowed_apps: list[str] | None = Field(
        default=None, max_length=40, description="e.g. ['wechat']; 'browser' = any plain browser"
    )
    allowed_devices: list[str] | None = Field(default=None, max_length=5)
    allowed_os: list[str] | None = Field(default=None, max_length=10)

    def to_fields(self) -> dict[str, Any]:
        given = self.model_dump(exclude_unset=True)
        if "active_hours" in given:
            hours = self.active_hours
            given["active_hours"] = hours.to_dict() if hours is not None else None
        return {k: v for k, v in given.items() if k != "slug"}


class LiveCodeCreateIn(_CodeFields):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    kind: Kind = "group"
    strategy: StrategyName = "in_order"
    slug: str | None = Field(default=None, max_length=64, description="generated when absent")


class LiveCodeUpdateIn(_CodeFields):
    """Only the fields sent change; ``null`` clears an optional one."""

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    kind: Kind | None = None
    strategy: StrategyName | None = None
    status: Literal["active", "paused"] | None = Field(
        default=None, description="'active' also reactivates a retired (merged) code"
    )


class PoolOut(BaseModel):
    available: int = Field(description="members that would be shown now")
    usable: int = Field(description="switched on, unexpired and below their threshold")
    total: int


class LiveCodeOut(BaseModel):
    id: int
    name: str
    kind: Kind
    strategy: StrategyName
    status: Literal["active", "paused", "retired"]
    merged_into_id: int | None
    slug: str
    short_url: str
    title: str | None
    description: str | None
    sticky_days: int
    default_threshold: int
    default_expiry_days: int
    timezone: str
    active_hours: dict[str, Any] | None
    fallback_message: str | None
    fallback_contact: str | None
    has_fallback_image: bool
    alert_webhook_url: str | None
    allowed_apps: list[str] | None
    allowed_devices: list[str] | None
    allowed_os: list[str] | None
    views: int = Field(description="people counted on all of the code's links")
    pool: PoolOut
    created_at: datetime
    updated_at: datetime


class MemberOut(BaseModel):
    id: int
    name: str
    position: int
    qr_text: str
    payload_kind: str = Field(description="wechat_group, wecom_group, qq_group, url, text …")
    scan_threshold: int = Field(description="0: no limit")
    scans: int
    weight: int
    expires_at: datetime | None
    working_hours: dict[str, Any] | None
    is_enabled: bool
    available: bool = Field(description="would be shown to a new visitor now")
    image_url: str
    created_at: datetime


class MemberUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    scan_threshold: int | None = Field(default=None, ge=0, le=MAX_THRESHOLD)
    weight: int | None = Field(default=None, ge=1, le=MAX_WEIGHT)
    expires_at: datetime | None = Field(
        default=None, description="ISO 8601; without an offset, the code's time zone"
    )
    working_hours: Hours | None = None
    is_enabled: bool | None = None
    reset_scans: bool = Field(default=False, description="start counting from zero again")

    def to_fields(self) -> dict[str, Any]:
        given = self.model_dump(exclude_unset=True)
        given.pop("reset_scans", None)
        if "working_hours" in given:
            hours = self.working_hours
            given["working_hours"] = hours.to_dict() if hours is not None else None
        for name in ("name", "scan_threshold", "weight", "is_enabled"):
            if name in given and given[name] is None:
                given.pop(name)
        return given


class OrderIn(BaseModel):
    member_ids: list[int] = Field(max_length=1000, description="every member once, in order")


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_CHANNEL_NAME, examples=["地铁海报"])
    slug: str | None = Field(default=None, max_length=64)


class ChannelOut(BaseModel):
    id: int
    name: str
    slug: str
    short_url: str
    views: int
    created_at: datetime


class MergeIn(BaseModel):
    into_id: int = Field(ge=1, description="the code whose pool this code's links will serve")


class AlertOut(BaseModel):
    id: int
    live_code_id: int
    code_name: str
    member_id: int | None
    kind: Literal["member_expiring", "last_member", "fallback_served"]
    detail: dict[str, Any]
    message: str = Field(description="for people, in the request's language")
    created_at: datetime
    delivered_at: datetime | None
    delivery_attempts: int
    acknowledged_at: datetime | None


class CountsOut(BaseModel):
    people: int
    uniques: int
    presses: int = Field(description="long presses on the QR (the gesture that opens it)")


class MemberStatsOut(CountsOut):
    member_id: int | None = Field(description="null: no member shown (the fallback)")
    name: str | None


class ChannelStatsOut(CountsOut):
    channel_id: int | None = Field(description="null: the code's own link")
    name: str | None
    slug: str


class LiveCodeStatsOut(BaseModel):
    live_code_id: int
    member_id: int | None
    channel_id: int | None
    start: date
    end: date
    granularity: Granularity
    timezone: str
    totals: TotalsOut
    series: list[BucketOut]
    breakdowns: BreakdownsOut
    presses: int
    members: list[MemberStatsOut]
    channels: list[ChannelStatsOut]
