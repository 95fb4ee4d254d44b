"""The short-link JSON API under ``/api/v1``: links, their import and export, the block
list, and the community's link defaults."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.base import utcnow
from qunyun.errors import DomainError
from qunyun.links import defaults, service
from qunyun.links.csv_io import MAX_CSV_BYTES, export_lines, read_link_rows
from qunyun.links.inputs import (
    MAX_PER_PAGE,
    MAX_QUERY_LENGTH,
    PREVIEW_NAMES,
    UNSET,
    LinkChanges,
    LinkQuery,
    LinkStatus,
    NewLink,
    SortKey,
)
from qunyun.links.models import BlockedHost, Link
from qunyun.links.schemas import (
    BlockedHostIn,
    BlockedHostOut,
    ImportReportOut,
    ImportRowOut,
    LinkCreateIn,
    LinkListOut,
    LinkOut,
    LinkSettingsIn,
    LinkSettingsOut,
    LinkUpdateIn,
)
from qunyun.links.service import ImportReport, LinkEnv, PageCard
from qunyun.links.urls import display_url
from qunyun.settings import Settings
from qunyun.web.context import AppContext
from qunyun.web.errors import error_payload
from qunyun.web.ratelimits import enforce
from qunyun.web.schemas import MAX_ROW_ID, error_responses

router = APIRouter(prefix="/api/v1", tags=["links"], dependencies=[Depends(csrf_protect)])

SlugPath = Annotated[str, Path(max_length=200, description="the link's slug (any case)")]
_EXPORT_CHUNK = 64 * 1024


# --- helpers shared with the pages ---------------------------------------------------


def link_out(link: Link, settings: Settings, now: datetime | None = None) -> LinkOut:
    return LinkOut(
        slug=link.slug,
        short_url=service.short_url(settings, link.slug),
        target_url=link.target_url,
        display_url=display_url(link.target_url),
        title=link.title,
        note=link.note,
        tags=[t.name for t in link.tags],
        expires_at=link.expires_at,
        max_visits=link.max_visits,
        has_password=link.password_hash is not None,
        redirect_status=link.redirect_status,
        utm_source=link.utm_source,
        utm_medium=link.utm_medium,
        utm_campaign=link.utm_campaign,
        utm_term=link.utm_term,
        utm_content=link.utm_content,
        allowed_apps=link.allowed_apps or [],
        allowed_devices=link.allowed_devices or [],
        allowed_os=link.allowed_os or [],
        anti_block_mode=link.anti_block_mode,
        preview_title=link.preview_title,
        preview_description=link.preview_description,
        preview_image_url=link.preview_image_url,
        preview_url=service.short_url(settings, link.slug) + "?preview",
        is_enabled=link.is_enabled,
        state=service.link_status(link, now),
        deleted_at=link.deleted_at,
        created_by_id=link.created_by_id,
        created_at=link.created_at,
        updated_at=link.updated_at,
        human_visits=link.human_visits,
        bot_visits=link.bot_visits,
        last_visit_at=link.last_visit_at,
    )


def limit_link_creation(ctx: AppContext, principal: Principal) -> None:
    enforce(ctx, f"link-create:{principal.user_id}", ctx.settings.link_create_rate)


def title_outside_transaction(
    session: Session, env: LinkEnv, community_id: int, url: str
) -> str | None:
    """Fetch the target's title without holding the request's transaction open."""
    return card_outside_transaction(session, env, community_id, url).title


def card_outside_transaction(
    session: Session, env: LinkEnv, community_id: int, url: str
) -> PageCard:
    """Fetch the target's title and share card without holding the request's
    transaction open.

    Nothing has been written yet when this runs; ending the transaction first means
    SQLite's single write lock is not held while a foreign server takes its time.
    """
    blocked = service.blocked_patterns(session, community_id)
    if not (session.new or session.dirty or session.deleted):
        session.rollback()
    return service.fetch_card(env, url, blocked)


def _blank(text: str | None) -> bool:
    return not (text and text.strip())


def with_fetched(data: NewLink, card: PageCard, *, title: bool, preview: bool) -> NewLink:
    """``data`` with its empty title and (or) share-card fields taken from the page."""
    return replace(
        data,
        title=card.title if title and _blank(data.title) else data.title,
        preview_title=(
            card.title if preview and _blank(data.preview_title) else data.preview_title
        ),
        preview_description=(
            card.description
            if preview and _blank(data.preview_description)
            else data.preview_description
        ),
        preview_image_url=(
            card.image_url if preview and _blank(data.preview_image_url) else data.preview_image_url
        ),
    )


def changes_with_fetched(
    changes: LinkChanges, card: PageCard, *, title: bool, preview: bool
) -> LinkChanges:
    """``changes`` with the title and (or) the share-card fields not being changed
    replaced by what the page says (where it says anything)."""
    fetched: dict[str, str | None] = {}
    if title and changes.title is UNSET:
        fetched["title"] = card.title
    if preview:
        for name, value in (
            ("preview_title", card.title),
            ("preview_description", card.description),
            ("preview_image_url", card.image_url),
        ):
            if getattr(changes, name) is UNSET and value:
                fetched[name] = value
    return replace(changes, **fetched)  # type: ignore[arg-type]


def read_upload(upload: UploadFile) -> bytes:
    data = upload.file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise DomainError("csv.too_large", status=413, max_mb=MAX_CSV_BYTES // (1024 * 1024))
    return data


def export_response(
    ctx: AppContext, env: LinkEnv, community_id: int, query: LinkQuery
) -> StreamingResponse:
    """The matching links as CSV, streamed from a session of its own (the request's
    closes before the body is sent)."""

    def chunks() -> Iterator[bytes]:
        with ctx.db.session(write=False) as session:
            rows = service.iter_export_rows(session, env, community_id, query)
            pending: list[str] = []
            size = 0
            for line in export_lines(rows, ctx.settings.timezone):
                pending.append(line)
                size += len(line)
                if size >= _EXPORT_CHUNK:
                    yield "".join(pending).encode("utf-8")
                    pending, size = [], 0
            yield "".join(pending).encode("utf-8")

    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="links-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


def list_query(
    q: Annotated[str | None, Query(max_length=MAX_QUERY_LENGTH, description="search text")] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[LinkStatus | None, Query()] = None,
    sort: Annotated[SortKey, Query()] = SortKey.created_at,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> LinkQuery:
    return LinkQuery(
        q=q,
        tag=tag,
        status=state,
        sort=sort,
        descending=order == "desc",
        page=page,
        per_page=per_page,
    )


ListQuery = Annotated[LinkQuery, Depends(list_query)]


def report_out(request: Request, report: ImportReport) -> ImportReportOut:
    rows = []
    for outcome in report.rows:
        if outcome.error is None:
            rows.append(ImportRowOut(row=outcome.row, ok=True, slug=outcome.slug))
        else:
            payload = error_payload(request, outcome.error.code, outcome.error.params)
            rows.append(
                ImportRowOut(
                    row=outcome.row, ok=False, code=payload["code"], message=payload["message"]
                )
            )
    return ImportReportOut(
        dry_run=report.dry_run, created=report.created, failed=report.failed, rows=rows
    )


# --- links ---------------------------------------------------------------------------


@router.post(
    "/links",
    status_code=201,
    response_model=LinkOut,
    responses=error_responses(400, 401, 403, 409, 429),
    summary="Create a short link",
)
def create_link(
    body: LinkCreateIn, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> LinkOut:
    community_id = principal.default_community()
    principal.require(community_id, Role.operator)
    limit_link_creation(ctx, principal)
    env = LinkEnv.from_context(ctx)
    data = body.to_new_link()
    wants_title = body.fetch_title and _blank(data.title)
    wants_card = body.fetch_preview and any(_blank(getattr(data, n)) for n in PREVIEW_NAMES)
    if wants_title or wants_card:
        card = card_outside_transaction(session, env, community_id, body.url)
        data = with_fetched(data, card, title=wants_title, preview=wants_card)
    link = service.create_link(session, env, principal, community_id, data)
    return link_out(link, ctx.settings)


@router.get(
    "/links",
    response_model=LinkListOut,
    responses=error_responses(400, 401, 403),
    summary="List, search and filter links",
)
def list_links(
    query: ListQuery, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> LinkListOut:
    result = service.list_links(session, principal, principal.default_community(), query)
    now = utcnow()
    return LinkListOut(
        items=[link_out(link, ctx.settings, now) for link in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@router.get(
    "/links/export.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "CSV in UTF-8 with a byte-order mark",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **error_responses(401, 403),
    },
    summary="Export the (filtered) links as CSV",
)
def export_links(query: ListQuery, ctx: Ctx, principal: CurrentPrincipal) -> StreamingResponse:
    community_id = principal.default_community()
    service.require_list_access(principal, community_id, query)
    return export_response(ctx, LinkEnv.from_context(ctx), community_id, query)


@router.post(
    "/links/import",
    response_model=ImportReportOut,
    responses=error_responses(400, 401, 403, 413, 429),
    summary="Create links from a CSV file",
)
def import_links(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV: UTF-8 (with or without BOM) or GBK")],
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    dry_run: Annotated[bool, Query(description="validate every row, create nothing")] = False,
) -> ImportReportOut:
    community_id = principal.default_community()
    principal.require(community_id, Role.operator)
    limit_link_creation(ctx, principal)
    rows = read_link_rows(read_upload(file), ctx.settings.timezone)
    report = service.import_links(
        session, LinkEnv.from_context(ctx), principal, community_id, rows, dry_run=dry_run
    )
    return report_out(request, report)


@router.get(
    "/links/{slug}",
    response_model=LinkOut,
    responses=error_responses(401, 403, 404),
    summary="One link",
)
def get_link(
    slug: SlugPath,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    include_deleted: Annotated[bool, Query(description="admins: also a deleted link")] = False,
) -> LinkOut:
    link = service.get_link(
        session, principal, principal.default_community(), slug, include_deleted=include_deleted
    )
    return link_out(link, ctx.settings)


@router.patch(
    "/links/{slug}",
    response_model=LinkOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Change a link's settings (only the fields sent)",
)
def update_link(
    slug: SlugPath,
    body: LinkUpdateIn,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> LinkOut:
    community_id = principal.default_community()
    principal.require(community_id, Role.operator)
    env = LinkEnv.from_context(ctx)
    changes = body.to_changes()
    wants_title = body.fetch_title and "title" not in body.model_fields_set
    if wants_title or body.fetch_preview:
        current = service.get_link(session, principal, community_id, slug)
        target = body.url if body.url is not None else current.target_url
        card = card_outside_transaction(session, env, community_id, target)
        changes = changes_with_fetched(changes, card, title=wants_title, preview=body.fetch_preview)
    link = service.update_link(session, env, principal, community_id, slug, changes)
    return link_out(link, ctx.settings)


@router.delete(
    "/links/{slug}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404),
    summary="Delete a link (an admin can restore it)",
)
def delete_link(slug: SlugPath, session: DbSession, ctx: Ctx, principal: CurrentPrincipal) -> None:
    env = LinkEnv.from_context(ctx)
    service.delete_link(session, env, principal, principal.default_community(), slug)


@router.post(
    "/links/{slug}/restore",
    response_model=LinkOut,
    responses=error_responses(401, 403, 404),
    summary="Restore a deleted link (admin)",
)
def restore_link(
    slug: SlugPath, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> LinkOut:
    env = LinkEnv.from_context(ctx)
    link = service.restore_link(session, env, principal, principal.default_community(), slug)
    return link_out(link, ctx.settings)


@router.post(
    "/links/{slug}/enable",
    response_model=LinkOut,
    responses=error_responses(401, 403, 404),
    summary="Enable a link",
)
def enable_link(
    slug: SlugPath, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> LinkOut:
    env = LinkEnv.from_context(ctx)
    link = service.set_enabled(session, env, principal, principal.default_community(), slug, True)
    return link_out(link, ctx.settings)


@router.post(
    "/links/{slug}/disable",
    response_model=LinkOut,
    responses=error_responses(401, 403, 404),
    summary="Disable a link (its short URL answers 404 until enabled)",
)
def disable_link(
    slug: SlugPath, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> LinkOut:
    env = LinkEnv.from_context(ctx)
    link = service.set_enabled(session, env, principal, principal.default_community(), slug, False)
    return link_out(link, ctx.settings)


# --- the community's defaults --------------------------------------------------------


def settings_out(found: defaults.LinkDefaults) -> LinkSettingsOut:
    return LinkSettingsOut(
        anti_block_mode=found.anti_block_mode.value,
        guide_apps=list(found.guide_apps),
        guide_apps_chosen=found.guide_apps_chosen,
        built_in_guide_apps=list(defaults.BUILT_IN_GUIDE_APPS),
    )


@router.get(
    "/community/link-settings",
    response_model=LinkSettingsOut,
    responses=error_responses(401, 403),
    summary="The community's anti-block defaults for its links",
)
def get_link_settings(session: DbSession, principal: CurrentPrincipal) -> LinkSettingsOut:
    found = defaults.get_link_defaults(session, principal, principal.default_community())
    return settings_out(found)


@router.patch(
    "/community/link-settings",
    response_model=LinkSettingsOut,
    responses=error_responses(400, 401, 403),
    summary="Change the community's anti-block defaults (admin); applies to cached links at once",
)
def update_link_settings(
    body: LinkSettingsIn, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> LinkSettingsOut:
    found = defaults.update_link_defaults(
        session,
        LinkEnv.from_context(ctx),
        principal,
        principal.default_community(),
        body.to_changes(),
    )
    return settings_out(found)


# --- the block list ------------------------------------------------------------------


def _host_out(host: BlockedHost) -> BlockedHostOut:
    return BlockedHostOut(
        id=host.id, pattern=host.pattern, reason=host.reason, created_at=host.created_at
    )


@router.get(
    "/blocked-hosts",
    response_model=list[BlockedHostOut],
    responses=error_responses(401, 403),
    summary="Hosts no link may point to (admin)",
)
def list_blocked_hosts(session: DbSession, principal: CurrentPrincipal) -> list[BlockedHostOut]:
    hosts = service.list_blocked_hosts(session, principal, principal.default_community())
    return [_host_out(h) for h in hosts]


@router.post(
    "/blocked-hosts",
    status_code=201,
    response_model=BlockedHostOut,
    responses=error_responses(400, 401, 403, 409),
    summary="Block a host: example.com (and subdomains) or *.example.com (subdomains only)",
)
def add_blocked_host(
    body: BlockedHostIn, session: DbSession, principal: CurrentPrincipal
) -> BlockedHostOut:
    host = service.add_blocked_host(
        session, principal, principal.default_community(), body.pattern, body.reason
    )
    return _host_out(host)


@router.delete(
    "/blocked-hosts/{host_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404),
    summary="Remove a block-list entry",
)
def remove_blocked_host(
    host_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    session: DbSession,
    principal: CurrentPrincipal,
) -> None:
    service.remove_blocked_host(session, principal, principal.default_community(), host_id)
