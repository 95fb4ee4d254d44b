"""JSON shapes of the imports API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from qunyun.i18n import gettext
from qunyun.imports.models import ImportJob
from qunyun.imports.service import progress_percent


class SkippedOut(BaseModel):
    line: int = Field(description="line number (for JSON exports: the message's position)")
    reason: str = Field(description="stable code of the reason, e.g. import.skip.encoding")
    message: str = Field(description="the reason for people, in the request's language")
    text: str = Field(description="the start of the skipped line")


class ImportJobOut(BaseModel):
    id: int
    format: str
    filename: str
    size_bytes: int
    sha256: str
    group_id: int | None
    status: str = Field(description="queued, running, done, failed or cancelled")
    percent: int = Field(description="progress by bytes read, 0-100")
    bytes_done: int
    records_seen: int
    records_added: int
    duplicates: int = Field(description="records already stored (imported before)")
    skipped_count: int
    skipped: list[SkippedOut] = Field(description="the first 200 skipped lines")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def job_out(job: ImportJob, lang: str, *, with_skips: bool = True) -> ImportJobOut:
    return ImportJobOut(
        id=job.id,
        format=job.format,
        filename=job.filename,
        size_bytes=job.size_bytes,
        sha256=job.sha256,
        group_id=job.group_id,
        status=job.status,
        percent=progress_percent(job),
        bytes_done=job.bytes_done,
        records_seen=job.records_seen,
        records_added=job.records_added,
        duplicates=max(0, job.records_seen - job.records_added),
        skipped_count=job.skipped_count,
        skipped=[skip_out(s, lang) for s in (job.skipped or [])] if with_skips else [],
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def skip_out(skip: dict[str, object], lang: str) -> SkippedOut:
    reason = str(skip.get("reason", ""))
    return SkippedOut(
        line=int(str(skip.get("line", 0))),
        reason=reason,
        message=gettext(reason, lang),
        text=str(skip.get("text", "")),
    )
