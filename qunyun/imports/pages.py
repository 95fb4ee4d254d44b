"""Import pages: upload form and jobs (``/imports``), a job's live progress and skips."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.community.models import Group
from qunyun.errors import DomainError
from qunyun.i18n import error_text
from qunyun.imports import service
from qunyun.imports.api import community_of, queue_upload
from qunyun.imports.readers import FORMATS
from qunyun.web.context import AppContext
from qunyun.web.render import language_of, render

router = APIRouter(prefix="/imports", dependencies=[Depends(csrf_protect)], include_in_schema=False)


def _groups(session: Session, community_id: int) -> list[Group]:
    return list(
        session.scalars(
            select(Group)
            .where(Group.community_id == community_id, Group.status == "active")
            .order_by(Group.platform, Group.name)
            .limit(500)
        )
    )


def _list_page(
    request: Request,
    session: Session,
    ctx: AppContext,
    community_id: int,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "imports/list.html",
        status_code=status_code,
        jobs=service.list_jobs(session, community_id),
        groups=_groups(session, community_id),
        formats=list(FORMATS),
        percent=service.progress_percent,
        error=error,
        max_mb=ctx.settings.import_max_bytes // (1024 * 1024),
    )


@router.get("")
def index(request: Request, session: DbSession, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    return _list_page(request, session, ctx, community_of(principal))


@router.post("")
def upload(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File()],
    format: Annotated[str, Form()] = "auto",
    group_id: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
) -> Response:
    community_id = community_of(principal)
    try:
        job = queue_upload(
            session,
            ctx,
            principal,
            format,
            file,
            group_id=int(group_id) if group_id.isdigit() else None,
            options={"timezone": timezone, "channel": channel},
        )
    except DomainError as exc:
        if exc.status in (401, 403):
            raise
        session.rollback()
        return _list_page(
            request,
            session,
            ctx,
            community_id,
            error=error_text(exc, language_of(request)),
            status_code=exc.status,
        )
    return RedirectResponse(f"/imports/{job.id}", status_code=303)


def _job_context(session: Session, principal: Any, job_id: int) -> dict[str, Any]:
    job = service.get_job(session, community_of(principal), job_id)
    return {"job": job, "percent": service.progress_percent(job)}


@router.get("/{job_id:int}")
def detail(
    request: Request, job_id: int, session: DbSession, principal: CurrentPrincipal
) -> Response:
    return render(request, "imports/detail.html", **_job_context(session, principal, job_id))


@router.get("/{job_id:int}/progress")
def progress(
    request: Request, job_id: int, session: DbSession, principal: CurrentPrincipal
) -> Response:
    """The progress fragment htmx polls every second while the job is unfinished."""
    return render(request, "imports/_progress.html", **_job_context(session, principal, job_id))


@router.post("/{job_id:int}/cancel")
def cancel(job_id: int, session: DbSession, principal: CurrentPrincipal) -> Response:
    service.cancel(session, community_of(principal), job_id)
    return RedirectResponse(f"/imports/{job_id}", status_code=303)
