"""What the community, group and member API reads and answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qunyun.web.schemas import MAX_ROW_ID

RowIdField = Field(ge=1, le=MAX_ROW_ID)


class _Patch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


# --- communities ---------------------------------------------------------------------


class BandModel(BaseModel):
    name: str = Field(min_length=1, max_length=32)
    upto: int | None = Field(default=None, ge=1, le=10_000_000)


class CommunityOut(BaseModel):
    id: int
    slug: str
    name: str
    description: str | None
    timezone: str
    role: str | None
    group_kinds: list[str]
    tier_bands: list[BandModel]
    tier_cap: int | None
    created_at: datetime


class CommunityCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    description: str | None = Field(default=None, max_length=5000)


class CommunityUpdateIn(_Patch):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    timezone: str | None = Field(default=None, max_length=64)
    group_kinds: list[str] | None = Field(default=None, max_length=100)
    tier_bands: list[BandModel] | None = Field(
        default=None, max_length=50, description="ascending; the last band's upto may be null"
    )
    tier_cap: int | None = Field(default=None, ge=1, le=10_000_000)

    def fields(self) -> dict[str, Any]:
        out = super().fields()
        if "tier_bands" in out and out["tier_bands"] is None:
            out["tier_bands"] = []
        return out


class RoleHolderOut(BaseModel):
    user_id: int
    name: str
    role: str


class GrantIn(BaseModel):
    role: Literal["viewer", "operator", "admin", "owner"]


# --- groups --------------------------------------------------------------------------


class GroupOut(BaseModel):
    id: int
    name: str
    platform: str
    platform_group_id: str
    kind: str
    standing: bool
    ends_on: date | None
    capacity: int
    member_count: int
    capacity_use: float = Field(description="member_count / capacity")
    parent_id: int | None
    introduction: str | None
    announcement: str | None
    timezone: str | None
    rule_book_id: int | None
    status: str
    created_at: datetime


class GroupNodeOut(GroupOut):
    depth: int
    children: list[GroupNodeOut]


class GroupCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    platform: str = Field(default="manual", max_length=32)
    platform_group_id: str | None = Field(default=None, max_length=128)
    kind: str | None = Field(default=None, max_length=32)
    standing: bool = True
    ends_on: date | None = None
    capacity: int = Field(default=500, ge=1, le=100_000)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    introduction: str | None = Field(default=None, max_length=5000)
    announcement: str | None = Field(default=None, max_length=5000)
    timezone: str | None = Field(default=None, max_length=64)

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None or k == "parent_id"}


class GroupUpdateIn(_Patch):
    name: str | None = Field(default=None, max_length=200)
    platform: str | None = Field(default=None, max_length=32)
    platform_group_id: str | None = Field(default=None, max_length=128)
    kind: str | None = Field(default=None, max_length=32)
    standing: bool | None = None
    ends_on: date | None = None
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    introduction: str | None = Field(default=None, max_length=5000)
    announcement: str | None = Field(default=None, max_length=5000)
    timezone: str | None = Field(default=None, max_length=64)


class GroupMemberOut(BaseModel):
    member_id: int
    display_name: str
    nickname: str | None
    role: str
    status: str
    joined_at: datetime | None
    last_active_at: datetime | None
    message_count: int


# --- members -------------------------------------------------------------------------


class MemberOut(BaseModel):
    id: int
    display_name: str
    join_order: int | None
    tier: str | None
    source: str
    inviter_id: int | None
    titles: list[str]
    tags: list[str]
    groups: list[str] = Field(description="names of the groups the member is active in")
    first_joined_at: datetime | None
    last_active_at: datetime | None
    message_count: int
    merged_into_id: int | None


class DirectoryOut(BaseModel):
    items: list[MemberOut]
    total: int
    page: int
    per_page: int


class IdentityOut(BaseModel):
    id: int
    platform: str
    platform_user_id: str
    display_name: str | None


class MembershipOut(BaseModel):
    group_id: int
    group_name: str
    platform: str
    nickname: str | None
    role: str
    status: str
    joined_at: datetime | None
    left_at: datetime | None
    last_active_at: datetime | None
    message_count: int


class ReferralOut(BaseModel):
    id: int
    display_name: str
    join_order: int | None
    invitees: list[ReferralOut]


class IdentityChangeOut(BaseModel):
    id: int
    change: str
    member_id: int
    other_member_id: int | None
    other_name: str | None = None
    identity_ids: list[int]
    by_user: str | None = None
    note: str | None
    at: datetime


class ProfileOut(MemberOut):
    notes: str | None
    identities: list[IdentityOut]
    memberships: list[MembershipOut]
    inviter: ReferralOut | None
    invitees: list[ReferralOut]
    merged_from: list[int]
    history: list[IdentityChangeOut]


class TimelineItemOut(BaseModel):
    type: Literal["change", "message"]
    at: datetime
    group_id: int | None
    group_name: str | None
    id: int
    change: str | None
    how: str | None
    by_member_id: int | None
    by_name: str | None
    text: str | None
    message_kind: str | None


class TimelineOut(BaseModel):
    items: list[TimelineItemOut]
    total: int
    page: int
    per_page: int


class MemberUpdateIn(_Patch):
    display_name: str | None = Field(default=None, max_length=200)
    titles: list[str] | None = Field(default=None, max_length=20)
    notes: str | None = Field(default=None, max_length=10_000)
    source: Literal["live_code", "invite", "imported", "unknown"] | None = None
    inviter_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    tags: list[str] | None = Field(default=None, max_length=50)


class TagsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)


class GroupRoleIn(BaseModel):
    role: Literal["owner", "secretary", "steward", "key_member", "member"]


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    other_id: int = Field(ge=1, le=MAX_ROW_ID, description="the member merged into this one")
    note: str | None = Field(default=None, max_length=2000)


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identity_ids: list[int] = Field(min_length=1, max_length=100)
    display_name: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)
