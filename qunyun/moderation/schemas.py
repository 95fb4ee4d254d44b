"""What the rule-book, audit-log and ban-list API reads and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from qunyun.moderation.auditlog import AuditRow
from qunyun.moderation.bans import ImportReport, is_active, problem_text
from qunyun.moderation.editing import Snapshot, VersionInfo
from qunyun.moderation.models import Ban
from qunyun.moderation.yaml_io import RulebookInvalid


class RulebookOut(BaseModel):
    group_id: int | None = Field(description="None: the community's book")
    version: int = Field(description="the version in force; 0: starter book / no override")
    community_version: int
    document: dict[str, Any] = Field(description="the whole book, or a group's partial override")
    yaml: str
    effective: dict[str, Any] | None = Field(
        default=None, description="for a group: the community's book with the override merged"
    )


def rulebook_out(snap: Snapshot) -> RulebookOut:
    return RulebookOut(
        group_id=snap.group_id,
        version=snap.version,
        community_version=snap.community_version,
        document=snap.document,
        yaml=snap.yaml,
        effective=snap.effective.to_data() if snap.group_id is not None else None,
    )


class SavedOut(BaseModel):
    version: int


class VersionOut(BaseModel):
    version: int
    author: str
    created_at: datetime | None
    note: str
    in_force: bool


def version_out(v: VersionInfo) -> VersionOut:
    return VersionOut(
        version=v.version,
        author=v.author,
        created_at=v.created_at,
        note=v.note,
        in_force=v.in_force,
    )


class VersionDocumentOut(BaseModel):
    version: int
    document: dict[str, Any]
    yaml: str


class DiffOut(BaseModel):
    old: int
    new: int
    diff: str = Field(description="unified diff of the two versions' YAML")


class ProblemOut(BaseModel):
    code: str
    line: int | None
    path: str
    message: str


class RulebookInvalidOut(BaseModel):
    code: str
    message: str
    problems: list[ProblemOut] = Field(default_factory=list)


def invalid_out(exc: RulebookInvalid, lang: str) -> RulebookInvalidOut:
    messages = exc.messages(lang)
    return RulebookInvalidOut(
        code=exc.code,
        message=messages[0],
        problems=[
            ProblemOut(code=p.code, line=p.line, path=p.path, message=m)
            for p, m in zip(exc.problems, messages, strict=True)
        ],
    )


class PublishedOut(BaseModel):
    language: str
    markdown: str
    url: str


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    action: str
    actor_kind: str
    actor_user_id: int | None
    actor_member_id: int | None
    actor: str
    group_id: int | None
    group: str
    member_id: int | None
    member: str
    case_id: int | None
    summary: str
    detail: dict[str, Any]


def audit_out(row: AuditRow) -> AuditEntryOut:
    e = row.entry
    return AuditEntryOut(
        id=e.id,
        at=e.at,
        action=e.action,
        actor_kind=e.actor_kind,
        actor_user_id=e.actor_user_id,
        actor_member_id=e.actor_member_id,
        actor=row.actor,
        group_id=e.group_id,
        group=row.group,
        member_id=e.member_id,
        member=row.member,
        case_id=e.case_id,
        summary=e.summary,
        detail=dict(e.detail or {}),
    )


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    total: int
    page: int
    per_page: int


class BanIn(BaseModel):
    platform: str = Field(min_length=1, max_length=32, examples=["onebot"])
    platform_user_id: str = Field(min_length=1, max_length=128, examples=["10001"])
    reason: str = Field(default="", max_length=500)
    display_name: str = Field(default="", max_length=200)
    expires_at: datetime | None = None


class BanOut(BaseModel):
    id: int
    platform: str
    platform_user_id: str
    display_name: str | None
    reason: str | None
    member_id: int | None
    case_id: int | None
    added_by_id: int | None
    created_at: datetime
    expires_at: datetime | None
    lifted_at: datetime | None
    active: bool


def ban_out(ban: Ban) -> BanOut:
    return BanOut(
        id=ban.id,
        platform=ban.platform,
        platform_user_id=ban.platform_user_id,
        display_name=ban.display_name,
        reason=ban.reason,
        member_id=ban.member_id,
        case_id=ban.case_id,
        added_by_id=ban.added_by_id,
        created_at=ban.created_at,
        expires_at=ban.expires_at,
        lifted_at=ban.lifted_at,
        active=is_active(ban),
    )


class BanPageOut(BaseModel):
    items: list[BanOut]
    total: int
    page: int
    per_page: int


class BanProblemOut(BaseModel):
    line: int
    code: str
    message: str


class BanImportOut(BaseModel):
    added: int
    unchanged: int
    skipped_lifted: int
    problems: list[BanProblemOut] = Field(
        description="malformed rows; when there are any, nothing was imported"
    )


def import_out(report: ImportReport, lang: str) -> BanImportOut:
    return BanImportOut(
        added=report.added,
        unchanged=report.unchanged,
        skipped_lifted=report.skipped_lifted,
        problems=[
            BanProblemOut(line=p.line, code=p.code, message=problem_text(p, lang))
            for p in report.problems
        ],
    )
