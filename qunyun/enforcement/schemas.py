"""Shapes of the enforcement API: cases, reports, operator actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class EvidenceOut(BaseModel):
    text: str = ""
    span: list[int] | None = Field(default=None, description="[start, end) in message_text")
    normalized: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class CaseActionOut(BaseModel):
    id: int
    kind: str
    status: str = Field(description="the outbox row's status: pending, sent, failed, todo …")
    last_error: str | None = None


class CaseOut(BaseModel):
    id: int
    group_id: int | None
    group_name: str | None = None
    member_id: int | None
    member_name: str | None = None
    record_id: int | None
    message_id: str | None
    message_text: str | None
    rule_id: str = Field(examples=["category:ads"])
    category: str | None
    severity: str
    label: dict[str, str]
    evidence: list[EvidenceOut]
    rule_book_id: int | None
    rule_book_version: int | None
    step_action: str | None = Field(description="warn, mute, remove, ban; none when exempt")
    step_seconds: int
    step_index: int | None
    grave: bool
    delete_message: bool
    dry_run: bool
    exemption: dict[str, Any] | None
    status: str = Field(description="applied, dry_run, exempt, overturned")
    source: str = Field(description="auto, report, operator")
    acted_by_id: int | None
    action_ids: list[int]
    notice_action_id: int | None
    appeal_url: str | None = Field(description="the member's appeal page for this case")
    language: str
    occurred_at: datetime
    created_at: datetime


class CaseDetailOut(CaseOut):
    actions: list[CaseActionOut]
    notice: CaseActionOut | None
    appeals: list[dict[str, Any]]


class CasePageOut(BaseModel):
    items: list[CaseOut]
    total: int
    page: int
    per_page: int


class ManualActionIn(BaseModel):
    member_id: int = Field(ge=1, le=2**63 - 1)
    group_id: int = Field(ge=1, le=2**63 - 1)
    action: Literal["warn", "mute", "remove", "ban"]
    seconds: int = Field(default=0, ge=0, le=30 * 86400, description="for mute: 60 s to 30 days")
    reason: str = Field(min_length=1, max_length=500)


class MemberRecordOut(BaseModel):
    active_warnings: int
    cases: int
    last_case_at: datetime | None


class ReportOut(BaseModel):
    id: int
    group_id: int
    group_name: str
    message_id: str
    message_text: str | None
    reported_member_id: int | None
    reported_name: str | None
    reporter_member_id: int | None
    reporter_name: str | None
    reason: str | None
    status: str = Field(description="open, actioned, dismissed")
    case_id: int | None
    handled_by_id: int | None
    handled_at: datetime | None
    created_at: datetime
    reported_record: MemberRecordOut


class ReportPageOut(BaseModel):
    items: list[ReportOut]
    total: int
    page: int
    per_page: int


class ApplyRuleIn(BaseModel):
    rule: str = Field(min_length=1, max_length=80, examples=["category:ads", "links"])


class DismissIn(BaseModel):
    note: str = Field(default="", max_length=500)
