"""The JSON shapes of ``/api/v1/appeals``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from qunyun.appeals.review import MAX_NOTE
from qunyun.appeals.service import MAX_STATEMENT
from qunyun.web.schemas import MAX_ROW_ID


class EvidenceOut(BaseModel):
    text: str
    span: list[int] | None = Field(description="[start, end) in the message, 0-based")
    normalized: str | None


class CaseOut(BaseModel):
    id: int
    group_id: int | None
    group_name: str | None
    member_id: int | None
    rule_id: str
    rule: dict[str, str] = Field(description="the rule's name in zh-CN and en")
    category: str | None
    severity: str
    evidence: list[EvidenceOut]
    step_action: str | None
    step_seconds: int
    delete_message: bool
    status: str = Field(description="applied, dry_run, exempt or overturned")
    source: str
    acted_by_id: int | None = Field(description="the user who acted; null: the rule book")
    language: str
    occurred_at: datetime


class AppealOut(BaseModel):
    id: int
    case_id: int
    via: str = Field(description="member (one-time code) or operator")
    statement: str
    status: str = Field(description="open, upheld or overturned")
    opened_by_id: int | None
    opened_by: str | None
    reviewer_id: int | None
    reviewer: str | None
    decision_note: str | None
    self_review: bool = Field(
        description="decided by someone involved in the case, allowed because the "
        "community has a single admin/owner"
    )
    member_name: str | None
    created_at: datetime
    decided_at: datetime | None
    case: CaseOut


class AppealPageOut(BaseModel):
    items: list[AppealOut]
    total: int
    page: int
    per_page: int


class AppealIn(BaseModel):
    case_id: int = Field(ge=1, le=MAX_ROW_ID)
    statement: str = Field(min_length=1, max_length=MAX_STATEMENT)


class DecisionIn(BaseModel):
    outcome: Literal["uphold", "overturn"]
    note: str = Field(default="", max_length=MAX_NOTE, description="the member is told")


class DecisionOut(BaseModel):
    appeal: AppealOut
    undo: list[str] = Field(
        description="per action of the case: cancel, unmute, unban, may_rejoin, not_restorable"
    )
    queued_action_ids: list[int] = Field(description="outbox rows queued to reverse the case")
    cancelled_action_ids: list[int] = Field(description="outbox rows cancelled before they ran")
    lifted_ban_ids: list[int]
    warning_revoked: bool
    message_lost: bool = Field(description="a deleted message was part of it: not restorable")
    notice_action_id: int | None = Field(description="the message telling the member")
