"""What the entry API reads and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from qunyun.entry.invites import MAX_LABEL, MAX_QUOTA
from qunyun.entry.requests import MAX_REASON
from qunyun.web.schemas import MAX_ROW_ID


class InviteCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(
        default=None,
        max_length=32,
        description="4–32 letters, digits, - or _ (case-insensitive); empty: a random code",
    )
    group_id: int | None = Field(
        default=None, ge=1, le=MAX_ROW_ID, description="null: any of the community's groups"
    )
    quota: int | None = Field(default=None, ge=1, le=MAX_QUOTA, description="null: no limit")
    expires_at: AwareDatetime | None = None
    label: str | None = Field(default=None, max_length=MAX_LABEL)
    inviter_member_id: int | None = Field(
        default=None, ge=1, le=MAX_ROW_ID, description="the member whose invitees they are"
    )


class InviteOut(BaseModel):
    id: int
    code: str
    url: str = Field(description="the public page of the code")
    group_id: int | None
    group_name: str | None
    inviter_member_id: int | None
    inviter_name: str | None
    label: str | None
    quota: int | None
    used: int
    state: str = Field(description="live, expired, revoked or used_up")
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class InvitePageOut(BaseModel):
    items: list[InviteOut]
    total: int
    page: int
    per_page: int


class JoinRequestOut(BaseModel):
    id: int
    group_id: int
    group_name: str
    platform_user_id: str
    display_name: str | None
    answers: str
    invite_code: str | None
    status: str = Field(description="pending, approved or rejected")
    verdict: dict[str, Any] = Field(description='why, e.g. {"code": "answers_wrong"}')
    decided_by_id: int | None
    action_id: int | None = Field(description="the outbox action carrying the answer")
    requested_at: datetime
    decided_at: datetime | None


class JoinRequestPageOut(BaseModel):
    items: list[JoinRequestOut]
    total: int
    page: int
    per_page: int


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None, max_length=MAX_REASON, description="what the applicant reads"
    )


class AcceptanceOut(BaseModel):
    id: int
    group_id: int
    group_name: str
    member_id: int
    member_name: str
    status: str = Field(description="pending or accepted")
    mode: str = Field(description="mute or watch")
    rule_book_version: int | None
    accepted_via: str | None = Field(description="keyword, button or operator")
    required_at: datetime
    accepted_at: datetime | None


class AcceptancePageOut(BaseModel):
    items: list[AcceptanceOut]
    total: int
    page: int
    per_page: int
