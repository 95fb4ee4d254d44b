"""The imports JSON API under ``/api/v1/imports`` (operators and up)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, UploadFile
from sqlalchemy.orm import Session
from starlette.requests import Request

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.engine import after_commit
from qunyun.imports import service
from qunyun.imports.models import ImportJob
from qunyun.imports.schemas import ImportJobOut, job_out
from qunyun.imports.worker import ensure_running
from qunyun.web.context import AppContext
from qunyun.web.render import language_of
from qunyun.web.schemas import MAX_ROW_ID, error_responses

router = APIRouter(prefix="/api/v1/imports", tags=["imports"], dependencies=[Depends(csrf_protect)])

JobId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the import job's id")]
FORMAT_HELP = "telegram_json, qq_text, wechat_csv, irc, or auto (detected from the file)"


def community_of(principal: Principal) -> int:
    community_id = principal.default_community()
    principal.require(community_id, Role.operator)
    return community_id


def queue_upload(
    session: Session,
    ctx: AppContext,
    principal: Principal,
    fmt: str,
    file: UploadFile,
    *,
    group_id: int | None,
    options: dict[str, Any],
) -> ImportJob:
    """A job for an uploaded export (API and page alike), the worker woken once committed."""
    job = service.create_job(
        session,
        community_of(principal),
        fmt,
        file.file,
        filename=file.filename or "export",
        data_dir=ctx.settings.data_dir,
        max_bytes=ctx.settings.import_max_bytes,
        group_id=group_id,
        options=options,
        created_by_id=principal.user_id or None,
        default_timezone=ctx.settings.timezone,
    )
    worker = ensure_running(ctx)
    after_commit(session, worker.wake)
    return job


@router.post(
    "",
    status_code=201,
    response_model=ImportJobOut,
    responses=error_responses(400, 401, 403, 404, 413),
    summary="Upload a chat export and queue its import",
)
def create(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ctx: Ctx,
    file: Annotated[UploadFile, File(description="the export file")],
    format: Annotated[str, Form(description=FORMAT_HELP)] = "auto",
    group_id: Annotated[int | None, Form(ge=1, le=MAX_ROW_ID)] = None,
    timezone: Annotated[str | None, Form(description="local time of the export")] = None,
    channel: Annotated[str | None, Form(description="IRC: the channel")] = None,
    self_id: Annotated[str | None, Form(description="WeChat: the exporter's wxid")] = None,
) -> ImportJobOut:
    options = {"timezone": timezone, "channel": channel, "self_id": self_id}
    job = queue_upload(session, ctx, principal, format, file, group_id=group_id, options=options)
    return job_out(job, language_of(request))


@router.get(
    "",
    response_model=list[ImportJobOut],
    responses=error_responses(401, 403),
    summary="Import jobs, newest first",
)
def list_jobs(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> list[ImportJobOut]:
    lang = language_of(request)
    return [
        job_out(job, lang, with_skips=False)
        for job in service.list_jobs(session, community_of(principal))
    ]


@router.get(
    "/{job_id}",
    response_model=ImportJobOut,
    responses=error_responses(401, 403, 404),
    summary="One import job with its progress and skipped lines",
)
def get_job(
    request: Request, job_id: JobId, session: DbSession, principal: CurrentPrincipal
) -> ImportJobOut:
    job = service.get_job(session, community_of(principal), job_id)
    return job_out(job, language_of(request))


@router.post(
    "/{job_id}/cancel",
    response_model=ImportJobOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Cancel a queued or running import (what it stored stays)",
)
def cancel(
    request: Request, job_id: JobId, session: DbSession, principal: CurrentPrincipal
) -> ImportJobOut:
    job = service.cancel(session, community_of(principal), job_id)
    return job_out(job, language_of(request))


@router.post(
    "/{job_id}/retry",
    response_model=ImportJobOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Queue a failed import again; it resumes where it stopped",
)
def retry(
    request: Request, job_id: JobId, session: DbSession, principal: CurrentPrincipal, ctx: Ctx
) -> ImportJobOut:
    job = service.retry(session, community_of(principal), job_id)
    worker = ensure_running(ctx)
    after_commit(session, worker.wake)
    return job_out(job, language_of(request))
