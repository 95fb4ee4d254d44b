"""Short-link pages: list, create, edit, detail, import, export, the block list, and the
community's link settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, UploadFile
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.base import utcnow
from qunyun.errors import DomainError
from qunyun.i18n import error_text
from qunyun.links import defaults, service
from qunyun.links.access import APP_CHOICES, BROWSER, DEVICE_CHOICES, OS_CHOICES
from qunyun.links.api import (
    card_outside_transaction,
    export_response,
    limit_link_creation,
    read_upload,
    title_outside_transaction,
)
from qunyun.links.csv_io import parse_datetime, read_link_rows, split_tags
from qunyun.links.inputs import (
    MAX_PER_PAGE,
    MAX_VISITS_LIMIT,
    PREVIEW_NAMES,
    UTM_NAMES,
    LinkChanges,
    LinkDefaultsChanges,
    LinkQuery,
    LinkStatus,
    NewLink,
    SortKey,
)
from qunyun.links.models import Link
from qunyun.links.rules import MODE_CHOICES
from qunyun.links.service import LinkEnv
from qunyun.links.urls import display_url
from qunyun.web.context import AppContext
from qunyun.web.ratelimits import enforce
from qunyun.web.render import language_of, render
from qunyun.web.schemas import RowId

router = APIRouter(prefix="/links", dependencies=[Depends(csrf_protect)], include_in_schema=False)

PER_PAGE_CHOICES = (20, 50, 100)
STATE_BADGE = {
    LinkStatus.active: "ok",
    LinkStatus.disabled: "off",
    LinkStatus.expired: "warn",
    LinkStatus.used_up: "warn",
    LinkStatus.deleted: "off",
}
# Where on the form each refusal is shown; anything else goes above the form.
_FIELD_OF_PREFIX = {"url.": "url", "slug.": "slug", "title.": "title", "tag.": "tags"}
_FIELD_OF_CODE = {
    "link.expiry_in_past": "expires_at",
    "link.invalid_expiry": "expires_at",
    "csv.invalid_datetime": "expires_at",
    "link.invalid_max_visits": "max_visits",
    "csv.invalid_integer": "max_visits",
    "link.password_too_long": "password",
    "link.invalid_redirect_status": "redirect_status",
    "link.unknown_mode": "anti_block_mode",
}


class LinkForm(BaseModel):
    """The create and edit form, as typed: every field text, checked by the service."""

    url: str = ""
    slug: str = ""
    title: str = ""
    fetch_title: str = ""
    note: str = ""
    tags: str = ""
    expires_at: str = ""
    max_visits: str = ""
    password: str = ""
    remove_password: str = ""
    redirect_status: str = "302"
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_term: str = ""
    utm_content: str = ""
    # Checked boxes; none checked means anyone.
    allowed_apps: list[str] = []
    allowed_devices: list[str] = []
    allowed_os: list[str] = []
    # Empty: follow the community's default.
    anti_block_mode: str = ""
    preview_title: str = ""
    preview_description: str = ""
    preview_image_url: str = ""


# --- helpers -------------------------------------------------------------------------


def _community(principal: Principal) -> int:
    return principal.default_community()


def _env(ctx: AppContext) -> LinkEnv:
    return LinkEnv.from_context(ctx)


def _message(request: Request, exc: DomainError) -> str:
    return error_text(exc, language_of(request))


def _field_of(exc: DomainError) -> str | None:
    # Refusals that name a field of their own (text lengths, platforms, the card's
    # image) are shown there.
    field = exc.params.get("field")
    if isinstance(field, str) and field in LinkForm.model_fields:
        return field
    if exc.code in ("link.text_too_long", "link.invalid_text"):
        return None
    if exc.code in _FIELD_OF_CODE:
        return _FIELD_OF_CODE[exc.code]
    for prefix, field in _FIELD_OF_PREFIX.items():
        if exc.code.startswith(prefix):
            return field
    return None


def _safe_back(target: str | None, default: str = "/links") -> str:
    if not target or not target.startswith("/links") or "\\" in target:
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


def _time_helpers(ctx: AppContext) -> dict[str, Callable[[datetime | None], str]]:
    zone = ZoneInfo(ctx.settings.timezone)

    def local(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def local_input(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%dT%H:%M")

    return {"local": local, "local_input": local_input}


def _common(ctx: AppContext, principal: Principal) -> dict[str, Any]:
    community_id = _community(principal)
    return {
        "can_write": principal.can(community_id, Role.operator),
        "is_admin": principal.can(community_id, Role.admin),
        "short_url": lambda slug: service.short_url(ctx.settings, slug),
        "display_url": display_url,
        "state_of": service.link_status,
        "state_badge": STATE_BADGE,
        "timezone": ctx.settings.timezone,
        **_time_helpers(ctx),
    }


def _query_from(params: Mapping[str, str]) -> LinkQuery:
    """The list's filters from a query string; nonsense falls back to the defaults."""

    def number(name: str, default: int, low: int, high: int) -> int:
        text = params.get(name, "")
        return int(text) if text.isdigit() and low <= int(text) <= high else default

    state = params.get("state", "")
    sort = params.get("sort", "")
    return LinkQuery(
        q=params.get("q", "").strip()[:200] or None,
        tag=params.get("tag", "").strip()[:64] or None,
        status=LinkStatus(state) if state in LinkStatus.__members__ else None,
        sort=SortKey(sort) if sort in SortKey.__members__ else SortKey.created_at,
        descending=params.get("order") != "asc",
        page=number("page", 1, 1, 1_000_000),
        per_page=number("per_page", 20, 1, MAX_PER_PAGE),
    )


def _filters_of(query: LinkQuery) -> dict[str, str]:
    return {
        "q": query.q or "",
        "tag": query.tag or "",
        "state": query.status.value if query.status else "",
        "sort": query.sort.value,
        "order": "desc" if query.descending else "asc",
        "per_page": str(query.per_page),
    }


def _list_url(filters: Mapping[str, str], **changes: object) -> str:
    values = {**filters, **{k: str(v) for k, v in changes.items()}}
    defaults = {"sort": "created_at", "order": "desc", "per_page": "20", "page": "1"}
    kept = {k: v for k, v in values.items() if v and defaults.get(k) != v}
    return "/links" + (f"?{urlencode(kept)}" if kept else "")


def _form_from_link(link: Link, ctx: AppContext) -> LinkForm:
    local_input = _time_helpers(ctx)["local_input"]
    return LinkForm(
        url=display_url(link.target_url),
        slug=link.slug,
        title=link.title or "",
        note=link.note or "",
        tags=", ".join(t.name for t in link.tags),
        expires_at=local_input(link.expires_at),
        max_visits="" if link.max_visits is None else str(link.max_visits),
        redirect_status=str(link.redirect_status),
        allowed_apps=link.allowed_apps or [],
        allowed_devices=link.allowed_devices or [],
        allowed_os=link.allowed_os or [],
        anti_block_mode=link.anti_block_mode or "",
        **{name: getattr(link, name) or "" for name in (*UTM_NAMES, *PREVIEW_NAMES)},
    )


def _int_field(text: str, code: str, **params: Any) -> int | None:
    cleaned = text.strip()
    if not cleaned:
        return None
    if not cleaned.lstrip("+-").isdigit() or len(cleaned) > 12:
        raise DomainError(code, **params)
    return int(cleaned)


def _expiry_field(text: str, ctx: AppContext) -> datetime | None:
    if not text.strip():
        return None
    try:
        return parse_datetime(text, ctx.settings.timezone)
    except DomainError:
        raise DomainError("link.invalid_expiry") from None


def _status_field(text: str) -> int:
    status = _int_field(text, "link.invalid_redirect_status", given=text[:12])
    return 302 if status is None else status


def _settings_of(form: LinkForm, ctx: AppContext) -> dict[str, Any]:
    """The settings a create form and an edit form share, read from the form."""
    return {
        "url": form.url,
        "title": form.title or None,
        "note": form.note or None,
        "tags": split_tags(form.tags),
        "expires_at": _expiry_field(form.expires_at, ctx),
        "max_visits": _int_field(form.max_visits, "link.invalid_max_visits", max=MAX_VISITS_LIMIT),
        "redirect_status": _status_field(form.redirect_status),
        "utm_source": form.utm_source or None,
        "utm_medium": form.utm_medium or None,
        "utm_campaign": form.utm_campaign or None,
        "utm_term": form.utm_term or None,
        "utm_content": form.utm_content or None,
        "allowed_apps": tuple(form.allowed_apps),
        "allowed_devices": tuple(form.allowed_devices),
        "allowed_os": tuple(form.allowed_os),
        "anti_block_mode": form.anti_block_mode or None,
        "preview_title": form.preview_title or None,
        "preview_description": form.preview_description or None,
        "preview_image_url": form.preview_image_url or None,
    }


def _new_link(form: LinkForm, ctx: AppContext) -> NewLink:
    return NewLink(
        slug=form.slug or None, password=form.password or None, **_settings_of(form, ctx)
    )


def _changes(form: LinkForm, ctx: AppContext) -> LinkChanges:
    changes = LinkChanges(slug=form.slug, **_settings_of(form, ctx))
    if form.remove_password:
        return replace(changes, password="")
    if form.password:
        return replace(changes, password=form.password)
    return changes


def _form_page(
    request: Request,
    session: Session,
    ctx: AppContext,
    principal: Principal,
    form: LinkForm,
    *,
    link: Link | None = None,
    error: DomainError | None = None,
) -> Response:
    field = _field_of(error) if error else None
    context = _common(ctx, principal)
    return render(
        request,
        "links/form.html",
        status_code=error.status if error else 200,
        form=form,
        link=link,
        field_errors={field: _message(request, error)} if error and field else {},
        form_error=_message(request, error) if error and not field else None,
        community_defaults=defaults.get_link_defaults(session, principal, _community(principal)),
        card_error=None,
        card_fetched=False,
        **_choices(),
        **context,
    )


def _choices() -> dict[str, Any]:
    """The platforms a form offers; a standalone browser first, the apps after."""
    return {
        "app_choices": (BROWSER, *(a for a in APP_CHOICES if a != BROWSER)),
        "device_choices": DEVICE_CHOICES,
        "os_choices": OS_CHOICES,
        "mode_choices": MODE_CHOICES,
    }


def _form_refusal(exc: DomainError) -> bool:
    """Refusals shown on the form; the rest (401, 403, 404) get their own page."""
    return exc.status not in (401, 403, 404)


# --- the list ------------------------------------------------------------------------


@router.get("")
def list_page(
    request: Request, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = _community(principal)
    query = _query_from(request.query_params)
    if query.status is LinkStatus.deleted and not principal.can(community_id, Role.admin):
        query = replace(query, status=None)
    page = service.list_links(session, principal, community_id, query)
    if page.items == [] and query.page > page.pages:
        page = service.list_links(session, principal, community_id, replace(query, page=1))
    filters = _filters_of(query)
    partial = (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )
    return render(
        request,
        "links/_results.html" if partial else "links/list.html",
        page=page,
        filters=filters,
        list_url=lambda **changes: _list_url(filters, **changes),
        export_url="/links/export.csv" + _list_url(filters).removeprefix("/links"),
        tags=service.list_tags(session, principal, community_id),
        states=[s for s in LinkStatus if s is not LinkStatus.deleted or _admin(principal)],
        sort_keys=list(SortKey),
        per_page_choices=PER_PAGE_CHOICES,
        now=utcnow(),
        back=_list_url(filters, page=page.page),
        **_common(ctx, principal),
    )


def _admin(principal: Principal) -> bool:
    return principal.can(_community(principal), Role.admin)


@router.get("/export.csv")
def export_csv(request: Request, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    community_id = _community(principal)
    query = _query_from(request.query_params)
    service.require_list_access(principal, community_id, query)
    return export_response(ctx, _env(ctx), community_id, query)


# --- create --------------------------------------------------------------------------


@router.get("/new")
def new_page(
    request: Request, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    principal.require(_community(principal), Role.operator)
    return _form_page(request, session, ctx, principal, LinkForm())


@router.post("/new")
def create(
    request: Request,
    form: Annotated[LinkForm, Form()],
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> Response:
    community_id = _community(principal)
    principal.require(community_id, Role.operator)
    env = _env(ctx)
    try:
        limit_link_creation(ctx, principal)
        data = _new_link(form, ctx)
        if form.fetch_title and not form.title.strip():
            title = title_outside_transaction(session, env, community_id, form.url)
            data = replace(data, title=title)
        link = service.create_link(session, env, principal, community_id, data)
    except DomainError as exc:
        if not _form_refusal(exc):
            raise
        return _form_page(
            request, session, ctx, principal, form.model_copy(update={"password": ""}), error=exc
        )
    return RedirectResponse(f"/links/{link.slug}?created=1", status_code=303)


@router.post("/fetch-card")
def fetch_card(
    request: Request,
    form: Annotated[LinkForm, Form()],
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> Response:
    """The form's share-card fieldset, its empty fields filled from the target page
    (htmx swaps it in; a refusal is shown inside it)."""
    community_id = _community(principal)
    principal.require(community_id, Role.operator)
    error: str | None = None
    try:
        enforce(ctx, f"link-fetch:{principal.user_id}", ctx.settings.link_create_rate)
        card = card_outside_transaction(session, _env(ctx), community_id, form.url)
    except DomainError as exc:
        if not _form_refusal(exc):
            raise
        error = _message(request, exc)
    else:
        form = form.model_copy(
            update={
                name: value
                for name, value in (
                    ("preview_title", card.title),
                    ("preview_description", card.description),
                    ("preview_image_url", card.image_url),
                )
                if value and not getattr(form, name).strip()
            }
        )
    return render(
        request,
        "links/_share_card.html",
        form=form,
        field_errors={},
        card_error=error,
        card_fetched=error is None,
    )


# --- the community's settings --------------------------------------------------------


def _settings_page(
    request: Request,
    session: Session,
    ctx: AppContext,
    principal: Principal,
    *,
    error: DomainError | None = None,
    saved: bool = False,
) -> Response:
    community_id = _community(principal)
    principal.require(community_id, Role.admin)
    return render(
        request,
        "links/settings.html",
        status_code=error.status if error else 200,
        current=defaults.get_link_defaults(session, principal, community_id),
        guide_app_choices=defaults.GUIDE_APP_CHOICES,
        built_in=defaults.BUILT_IN_GUIDE_APPS,
        mode_choices=MODE_CHOICES,
        error=_message(request, error) if error else None,
        saved=saved,
        **_common(ctx, principal),
    )


@router.get("/settings")
def settings_page(
    request: Request, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    saved = request.query_params.get("saved") == "1"
    return _settings_page(request, session, ctx, principal, saved=saved)


@router.post("/settings")
def save_settings(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    anti_block_mode: Annotated[str, Form(max_length=40)] = "",
    guide_apps: Annotated[list[str] | None, Form()] = None,
) -> Response:
    chosen = tuple(guide_apps or ())
    changes = LinkDefaultsChanges(
        anti_block_mode=anti_block_mode,
        # The built-in list, checked as it is, stays "built in" and follows its updates.
        guide_apps=None if frozenset(chosen) == frozenset(defaults.BUILT_IN_GUIDE_APPS) else chosen,
    )
    try:
        defaults.update_link_defaults(session, _env(ctx), principal, _community(principal), changes)
    except DomainError as exc:
        if not _form_refusal(exc):
            raise
        return _settings_page(request, session, ctx, principal, error=exc)
    return RedirectResponse("/links/settings?saved=1", status_code=303)


# --- import --------------------------------------------------------------------------


@router.get("/import")
def import_page(request: Request, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    principal.require(_community(principal), Role.operator)
    return render(
        request,
        "links/import.html",
        report=None,
        error=None,
        dry_run=False,
        **_common(ctx, principal),
    )


@router.post("/import")
def import_upload(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile | None, Form()] = None,
    dry_run: Annotated[str, Form()] = "",
) -> Response:
    community_id = _community(principal)
    principal.require(community_id, Role.operator)
    context = _common(ctx, principal)
    try:
        if file is None or not file.filename:
            raise DomainError("csv.no_file")
        limit_link_creation(ctx, principal)
        rows = read_link_rows(read_upload(file), ctx.settings.timezone)
        report = service.import_links(
            session, _env(ctx), principal, community_id, rows, dry_run=bool(dry_run)
        )
    except DomainError as exc:
        if not _form_refusal(exc):
            raise
        return render(
            request,
            "links/import.html",
            status_code=exc.status,
            report=None,
            error=_message(request, exc),
            dry_run=bool(dry_run),
            **context,
        )
    return render(
        request,
        "links/import.html",
        report=report,
        error=None,
        dry_run=bool(dry_run),
        message_of=lambda e: _message(request, e),
        **context,
    )


# --- the block list ------------------------------------------------------------------


def _blocked_page(
    request: Request,
    session: Session,
    ctx: AppContext,
    principal: Principal,
    *,
    error: DomainError | None = None,
    pattern: str = "",
    reason: str = "",
) -> Response:
    hosts = service.list_blocked_hosts(session, principal, _community(principal))
    return render(
        request,
        "links/blocked_hosts.html",
        status_code=error.status if error else 200,
        hosts=hosts,
        error=_message(request, error) if error else None,
        pattern=pattern,
        reason=reason,
        **_common(ctx, principal),
    )


@router.get("/blocked-hosts")
def blocked_hosts_page(
    request: Request, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    return _blocked_page(request, session, ctx, principal)


@router.post("/blocked-hosts")
def add_blocked_host(
    request: Request,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    pattern: Annotated[str, Form(max_length=300)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        service.add_blocked_host(session, principal, _community(principal), pattern, reason)
    except DomainError as exc:
        if not _form_refusal(exc):
            raise
        return _blocked_page(
            request, session, ctx, principal, error=exc, pattern=pattern, reason=reason
        )
    return RedirectResponse("/links/blocked-hosts", status_code=303)


@router.post("/blocked-hosts/{host_id}/delete")
def remove_blocked_host(
    host_id: RowId, session: DbSession, principal: CurrentPrincipal
) -> Response:
    service.remove_blocked_host(session, principal, _community(principal), host_id)
    return RedirectResponse("/links/blocked-hosts", status_code=303)


# --- one link ------------------------------------------------------------------------


@router.get("/{slug}")
def detail_page(
    request: Request, slug: str, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = _community(principal)
    link = service.get_link(
        session, principal, community_id, slug, include_deleted=_admin(principal)
    )
    return render(
        request,
        "links/detail.html",
        link=link,
        now=utcnow(),
        created=request.query_params.get("created") == "1",
        stats_slug=link.slug,
        community_defaults=defaults.get_link_defaults(session, principal, community_id),
        **_common(ctx, principal),
    )


@router.get("/{slug}/edit")
def edit_page(
    request: Request, slug: str, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = _community(principal)
    principal.require(community_id, Role.operator)
    link = service.get_link(session, principal, community_id, slug)
    return _form_page(request, session, ctx, principal, _form_from_link(link, ctx), link=link)


@router.post("/{slug}/edit")
def edit(
    request: Request,
    slug: str,
    form: Annotated[LinkForm, Form()],
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> Response:
    community_id = _community(principal)
    principal.require(community_id, Role.operator)
    env = _env(ctx)
    link = service.get_link(session, principal, community_id, slug)
    try:
        changes = _changes(form, ctx)
        if form.fetch_title and not form.title.strip():
            title = title_outside_transaction(session, env, community_id, form.url)
            changes = replace(changes, title=title)
        link = service.update_link(session, env, principal, community_id, slug, changes)
    except DomainError as exc:
        if not _form_refusal(exc):
            raise
        link = service.get_link(session, principal, community_id, slug)
        return _form_page(
            request,
            session,
            ctx,
            principal,
            form.model_copy(update={"password": ""}),
            link=link,
            error=exc,
        )
    return RedirectResponse(f"/links/{link.slug}", status_code=303)


def _action(
    action: Callable[[Session, LinkEnv, Principal, int, str], Link],
) -> Callable[..., Response]:
    def endpoint(
        slug: str,
        session: DbSession,
        ctx: Ctx,
        principal: CurrentPrincipal,
        back: Annotated[str, Form()] = "",
    ) -> Response:
        action(session, _env(ctx), principal, _community(principal), slug)
        return RedirectResponse(_safe_back(back), status_code=303)

    return endpoint


def _enable(s: Session, e: LinkEnv, p: Principal, c: int, slug: str) -> Link:
    return service.set_enabled(s, e, p, c, slug, True)


def _disable(s: Session, e: LinkEnv, p: Principal, c: int, slug: str) -> Link:
    return service.set_enabled(s, e, p, c, slug, False)


router.post("/{slug}/enable")(_action(_enable))
router.post("/{slug}/disable")(_action(_disable))
router.post("/{slug}/delete")(_action(service.delete_link))
router.post("/{slug}/restore")(_action(service.restore_link))
