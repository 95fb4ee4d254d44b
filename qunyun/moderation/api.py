"""The JSON API of rule books (``/api/v1/rulebook``), the audit log (``/api/v1/audit``)
and the shared ban list (``/api/v1/bans``), for the active community.

Rule books: viewers read, admins and owners save. A refused document answers 422 with
every problem (line, field, reason in the request's language); nothing is saved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.db.base import utcnow
from qunyun.errors import DomainError
from qunyun.moderation import auditlog, bans, editing
from qunyun.moderation.auditlog import AuditQuery
from qunyun.moderation.bans import BanQuery
from qunyun.moderation.public_rules import published_markdown, rules_url
from qunyun.moderation.schemas import (
    AuditPageOut,
    BanImportOut,
    BanIn,
    BanOut,
    BanPageOut,
    DiffOut,
    PublishedOut,
    RulebookInvalidOut,
    RulebookOut,
    SavedOut,
    VersionDocumentOut,
    VersionOut,
    audit_out,
    ban_out,
    import_out,
    invalid_out,
    rulebook_out,
    version_out,
)
from qunyun.moderation.yaml_io import MAX_DOCUMENT_BYTES, RulebookInvalid
from qunyun.web.context import AppContext
from qunyun.web.render import language_of
from qunyun.web.schemas import MAX_ROW_ID, RowId, error_responses

router = APIRouter(prefix="/api/v1", dependencies=[Depends(csrf_protect)])
R: list[str | Enum] = ["rulebook"]
A: list[str | Enum] = ["audit"]
B: list[str | Enum] = ["bans"]
OptId = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
Version = Annotated[int, Query(ge=0, le=10_000_000)]
VersionPath = Annotated[int, Path(ge=0, le=10_000_000)]
Note = Annotated[str, Query(max_length=500, description="why (kept with the version)")]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the rule book as YAML, or the same document as JSON",
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": RulebookInvalidOut, "description": "The document is refused"}
}


async def document_body(request: Request) -> tuple[str, Any]:
    """("json", data) or ("yaml", text): the body of a PUT, at most the document limit."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_DOCUMENT_BYTES:
            raise DomainError("moderation.rulebook.too_large", status=413, limit=256)
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise DomainError("validation", status=422, detail=str(exc)) from None
        if not isinstance(data, dict):
            raise DomainError("validation", status=422, detail="a JSON object is required")
        return "json", data
    if kind and kind not in YAML_TYPES:
        raise DomainError("http_error", status=415)
    return "yaml", body


Document = Annotated[tuple[str, Any], Depends(document_body)]


def _save(
    request: Request,
    session: DbSession,
    principal: Principal,
    group_id: int | None,
    document: tuple[str, Any],
    note: str,
) -> Response:
    cid = principal.default_community()
    kind, value = document
    try:
        if kind == "json":
            saved = editing.save_data(session, principal, cid, group_id, value, note=note)
        else:
            saved = editing.save_yaml(session, principal, cid, group_id, value, note=note)
    except RulebookInvalid as exc:
        session.rollback()
        out = invalid_out(exc, language_of(request))
        return JSONResponse(out.model_dump(mode="json"), status_code=422)
    return JSONResponse(SavedOut(version=saved.version).model_dump())


def _yaml_file(text: str, name: str) -> Response:
    return Response(
        text.encode("utf-8"),
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- the community's rule book --------------------------------------------------------


@router.get(
    "/rulebook",
    tags=R,
    response_model=RulebookOut,
    responses=error_responses(401, 403),
    summary="The community's rule book in force, with its version",
)
def get_rulebook(session: DbSession, principal: CurrentPrincipal) -> RulebookOut:
    return rulebook_out(editing.snapshot(session, principal, principal.default_community()))


@router.put(
    "/rulebook",
    tags=R,
    response_model=SavedOut,
    responses={**error_responses(401, 403, 413), **INVALID},
    openapi_extra=DOCUMENT_BODY,
    summary="Save a new version of the community's rule book (admins)",
)
def put_rulebook(
    request: Request,
    document: Document,
    session: DbSession,
    principal: CurrentPrincipal,
    note: Note = "",
) -> Response:
    return _save(request, session, principal, None, document, note)


@router.get(
    "/rulebook/export.yaml",
    tags=R,
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}}}, **error_responses(401, 403)},
    summary="Download the community's rule book as YAML",
)
def export_rulebook(session: DbSession, principal: CurrentPrincipal) -> Response:
    snap = editing.snapshot(session, principal, principal.default_community())
    return _yaml_file(snap.yaml, f"rulebook-v{snap.version}.yaml")


@router.get(
    "/rulebook/versions",
    tags=R,
    response_model=list[VersionOut],
    responses=error_responses(401, 403),
    summary="Every version of the community's rule book, newest first",
)
def list_versions(session: DbSession, principal: CurrentPrincipal) -> list[VersionOut]:
    cid = principal.default_community()
    return [version_out(v) for v in editing.history(session, principal, cid, None)]


@router.get(
    "/rulebook/versions/{version}",
    tags=R,
    response_model=VersionDocumentOut,
    responses=error_responses(401, 403, 404),
    summary="One version of the community's rule book (0: the starter book)",
)
def get_version(
    version: VersionPath, session: DbSession, principal: CurrentPrincipal
) -> VersionDocumentOut:
    return _version(session, principal, None, version)


@router.post(
    "/rulebook/versions/{version}/restore",
    tags=R,
    response_model=SavedOut,
    responses={**error_responses(401, 403, 404), **INVALID},
    summary="Put an older version back in force (saved as a new version)",
)
def restore_version(
    request: Request,
    version: VersionPath,
    session: DbSession,
    principal: CurrentPrincipal,
    note: Note = "",
) -> Response:
    return _restore(request, session, principal, None, version, note)


@router.get(
    "/rulebook/diff",
    tags=R,
    response_model=DiffOut,
    responses=error_responses(401, 403, 404),
    summary="What changed between two versions (unified diff of their YAML)",
)
def diff_versions(
    old: Version, new: Version, session: DbSession, principal: CurrentPrincipal
) -> DiffOut:
    return _diff(session, principal, None, old, new)


def _version(
    session: DbSession, principal: Principal, group_id: int | None, version: int
) -> VersionDocumentOut:
    cid = principal.default_community()
    document = editing.version_document(session, principal, cid, group_id, version)
    return VersionDocumentOut(
        version=version, document=document, yaml=editing.document_yaml(document, group_id)
    )


def _restore(
    request: Request,
    session: DbSession,
    principal: Principal,
    group_id: int | None,
    version: VersionPath,
    note: str,
) -> Response:
    cid = principal.default_community()
    try:
        saved = editing.restore(session, principal, cid, group_id, version, note=note)
    except RulebookInvalid as exc:
        session.rollback()
        out = invalid_out(exc, language_of(request))
        return JSONResponse(out.model_dump(mode="json"), status_code=422)
    return JSONResponse(SavedOut(version=saved.version).model_dump())


def _diff(
    session: DbSession, principal: Principal, group_id: int | None, old: int, new: int
) -> DiffOut:
    cid = principal.default_community()
    lines = editing.diff(session, principal, cid, group_id, old, new)
    return DiffOut(old=old, new=new, diff="\n".join(d.text for d in lines))


# --- a group's override ---------------------------------------------------------------


@router.get(
    "/rulebook/groups/{group_id}",
    tags=R,
    response_model=RulebookOut,
    responses=error_responses(401, 403, 404),
    summary="A group's override and the effective (merged) rule book",
)
def get_group_rulebook(
    group_id: RowId, session: DbSession, principal: CurrentPrincipal
) -> RulebookOut:
    cid = principal.default_community()
    return rulebook_out(editing.snapshot(session, principal, cid, group_id))


@router.put(
    "/rulebook/groups/{group_id}",
    tags=R,
    response_model=SavedOut,
    responses={**error_responses(401, 403, 404, 413), **INVALID},
    openapi_extra=DOCUMENT_BODY,
    summary="Save a new version of a group's override (a partial document; admins)",
)
def put_group_rulebook(
    request: Request,
    group_id: RowId,
    document: Document,
    session: DbSession,
    principal: CurrentPrincipal,
    note: Note = "",
) -> Response:
    return _save(request, session, principal, group_id, document, note)


@router.get(
    "/rulebook/groups/{group_id}/export.yaml",
    tags=R,
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}}}, **error_responses(401, 403, 404)},
    summary="Download a group's override as YAML",
)
def export_group_rulebook(
    group_id: RowId, session: DbSession, principal: CurrentPrincipal
) -> Response:
    snap = editing.snapshot(session, principal, principal.default_community(), group_id)
    return _yaml_file(snap.yaml, f"rulebook-group{group_id}-v{snap.version}.yaml")


@router.get(
    "/rulebook/groups/{group_id}/versions",
    tags=R,
    response_model=list[VersionOut],
    responses=error_responses(401, 403, 404),
    summary="Every version of a group's override, newest first",
)
def list_group_versions(
    group_id: RowId, session: DbSession, principal: CurrentPrincipal
) -> list[VersionOut]:
    cid = principal.default_community()
    return [version_out(v) for v in editing.history(session, principal, cid, group_id)]


@router.get(
    "/rulebook/groups/{group_id}/versions/{version}",
    tags=R,
    response_model=VersionDocumentOut,
    responses=error_responses(401, 403, 404),
    summary="One version of a group's override (0: none)",
)
def get_group_version(
    group_id: RowId, version: VersionPath, session: DbSession, principal: CurrentPrincipal
) -> VersionDocumentOut:
    return _version(session, principal, group_id, version)


@router.post(
    "/rulebook/groups/{group_id}/versions/{version}/restore",
    tags=R,
    response_model=SavedOut,
    responses={**error_responses(401, 403, 404), **INVALID},
    summary="Put an older version of a group's override back in force",
)
def restore_group_version(
    request: Request,
    group_id: RowId,
    version: VersionPath,
    session: DbSession,
    principal: CurrentPrincipal,
    note: Note = "",
) -> Response:
    return _restore(request, session, principal, group_id, version, note)


@router.get(
    "/rulebook/groups/{group_id}/diff",
    tags=R,
    response_model=DiffOut,
    responses=error_responses(401, 403, 404),
    summary="What changed between two versions of a group's override",
)
def diff_group_versions(
    group_id: RowId, old: Version, new: Version, session: DbSession, principal: CurrentPrincipal
) -> DiffOut:
    return _diff(session, principal, group_id, old, new)


@router.get(
    "/rulebook/groups/{group_id}/published",
    tags=R,
    response_model=PublishedOut,
    responses=error_responses(401, 403, 404),
    summary="The group's published rules as Markdown (to post in the group)",
)
def published(
    request: Request,
    group_id: RowId,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    lang: Annotated[Literal["zh-CN", "en"] | None, Query()] = None,
) -> PublishedOut:
    cid = principal.default_community()
    editing.snapshot(session, principal, cid, group_id)
    language = lang or language_of(request)
    text, slug = published_markdown(session, cid, group_id, language)
    return PublishedOut(
        language=language, markdown=text, url=rules_url(ctx.settings.base_url, slug, group_id)
    )


# --- the audit log --------------------------------------------------------------------


def audit_query(
    action: Annotated[str, Query(max_length=40, description='"ban.added", or "ban." for all')] = "",
    group: OptId = None,
    member: OptId = None,
    actor: OptId = None,
    since: Annotated[date | None, Query(description="first day (community time)")] = None,
    until: Annotated[date | None, Query(description="last day, inclusive")] = None,
    page: Annotated[int, Query(ge=1, le=auditlog.MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=auditlog.MAX_PER_PAGE)] = 50,
) -> AuditQuery:
    return AuditQuery(action, group, member, actor, since, until, page, per_page)


Audit = Annotated[AuditQuery, Depends(audit_query)]


@router.get(
    "/audit",
    tags=A,
    response_model=AuditPageOut,
    responses=error_responses(400, 401, 403),
    summary="The audit log, newest first (viewers may read)",
)
def list_audit(query: Audit, session: DbSession, principal: CurrentPrincipal) -> AuditPageOut:
    page = auditlog.entries(session, principal, principal.default_community(), query)
    return AuditPageOut(
        items=[audit_out(r) for r in page.items],
        total=page.total,
        page=page.page,
        per_page=page.per_page,
    )


def _stream(ctx: AppContext, chunks: Any, name: str) -> StreamingResponse:
    def body() -> Iterator[bytes]:
        with ctx.db.session(write=False) as session:
            for text in chunks(session):
                yield text.encode("utf-8")

    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'},
    )


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "CSV in UTF-8 with a byte-order mark",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/audit/export.csv",
    tags=A,
    response_class=StreamingResponse,
    responses={**CSV_RESPONSE, **error_responses(400, 401, 403)},
    summary="Export the (filtered) audit log as CSV, streamed (operators)",
)
def export_audit(
    query: Audit, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> StreamingResponse:
    cid = principal.default_community()
    auditlog.check_export(session, principal, cid, query)
    return _stream(ctx, lambda s: auditlog.export_csv(s, principal, cid, query), "audit")


# --- the ban list ---------------------------------------------------------------------


def ban_query(
    q: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[Literal["active", "lifted", "all"], Query()] = "active",
    platform: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> BanQuery:
    return BanQuery(q, status, platform, page, per_page)


Bans = Annotated[BanQuery, Depends(ban_query)]


@router.get(
    "/bans",
    tags=B,
    response_model=BanPageOut,
    responses=error_responses(401, 403),
    summary="The shared ban list (search, filter, page)",
)
def list_bans(query: Bans, session: DbSession, principal: CurrentPrincipal) -> BanPageOut:
    page = bans.list_bans(session, principal, principal.default_community(), query)
    return BanPageOut(
        items=[ban_out(b) for b in page.items],
        total=page.total,
        page=page.page,
        per_page=page.per_page,
    )


@router.post(
    "/bans",
    tags=B,
    status_code=201,
    response_model=BanOut,
    responses=error_responses(400, 401, 403),
    summary="Ban someone from every group of the community (operators; idempotent)",
)
def add_ban(body: BanIn, session: DbSession, principal: CurrentPrincipal) -> BanOut:
    ban = bans.add_ban_as(
        session,
        principal,
        principal.default_community(),
        body.platform,
        body.platform_user_id,
        reason=body.reason,
        display_name=body.display_name,
        expires_at=body.expires_at,
    )
    return ban_out(ban)


@router.post(
    "/bans/{ban_id}/lift",
    tags=B,
    response_model=BanOut,
    responses=error_responses(401, 403, 404),
    summary="Lift a ban (operators); the row stays as history",
)
def lift_ban(
    ban_id: RowId,
    session: DbSession,
    principal: CurrentPrincipal,
    note: Annotated[str, Query(max_length=200)] = "",
) -> BanOut:
    ban = bans.lift_ban_as(session, principal, principal.default_community(), ban_id, note)
    return ban_out(ban)


@router.post(
    "/bans/import",
    tags=B,
    response_model=BanImportOut,
    responses={**error_responses(400, 401, 403, 413), 422: {"model": BanImportOut}},
    summary="Import bans from CSV: all rows or none (operators; idempotent)",
)
def import_bans(
    request: Request,
    file: Annotated[
        UploadFile,
        File(description="CSV with platform,platform_user_id[,display_name,reason,expires_at]"),
    ],
    session: DbSession,
    principal: CurrentPrincipal,
) -> Response:
    text = bans.decode_csv(file.file.read(bans.MAX_CSV_BYTES + 1))
    report = bans.import_csv(session, principal, principal.default_community(), text)
    out = import_out(report, language_of(request))
    if report.problems:
        session.rollback()
        return JSONResponse(out.model_dump(), status_code=422)
    return JSONResponse(out.model_dump())


@router.get(
    "/bans/export.csv",
    tags=B,
    response_class=StreamingResponse,
    responses={**CSV_RESPONSE, **error_responses(401, 403)},
    summary="Export the (filtered) ban list as CSV, streamed (operators)",
)
def export_bans(
    query: Bans, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> StreamingResponse:
    cid = principal.default_community()
    bans.check_export(principal, cid)
    return _stream(ctx, lambda s: bans.export_csv(s, principal, cid, query), "bans")
