"""Live-code pages: list with alerts, create, edit, detail (pool, channels, stats), merge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, UploadFile
from markupsafe import Markup
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
from qunyun.links.access import APP_CHOICES, DEVICE_CHOICES, OS_CHOICES
from qunyun.links.redirect import qr_svg
from qunyun.livecodes import members as pool
from qunyun.livecodes import service
from qunyun.livecodes.alerts import acknowledge_alert, list_alerts
from qunyun.livecodes.api import qr_response, read_image, signer_of
from qunyun.livecodes.lookup import code_members
from qunyun.livecodes.models import LiveCode, LiveCodeMember
from qunyun.livecodes.present import alert_message, member_available, pool_health
from qunyun.livecodes.rotation import Strategy
from qunyun.livecodes.service import LiveCodeEnv
from qunyun.livecodes.snapshot import CodeKind
from qunyun.livecodes.stats import code_tables
from qunyun.livecodes.tokens import image_version, webhook_key
from qunyun.visits import stats
from qunyun.web.context import AppContext
from qunyun.web.render import language_of, render

router = APIRouter(
    prefix="/livecodes", dependencies=[Depends(csrf_protect)], include_in_schema=False
)

WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)
_FIELD_OF_PREFIX = {"url.": "alert_webhook_url", "slug.": "slug"}


class CodeForm(BaseModel):
    """The create and edit form as typed; the service checks everything."""

    name: str = ""
    kind: str = "group"
    strategy: str = "in_order"
    slug: str = ""
    title: str = ""
    description: str = ""
    sticky_days: str = "7"
    default_threshold: str = "200"
    default_expiry_days: str = "7"
    timezone: str = "Asia/Shanghai"
    active_days: list[str] = []
    active_start: str = ""
    active_end: str = ""
    fallback_message: str = ""
    fallback_contact: str = ""
    alert_webhook_url: str = ""
    allowed_apps: list[str] = []
    allowed_devices: list[str] = []
    allowed_os: list[str] = []
    remove_fallback_image: str = ""


class MemberForm(BaseModel):
    name: str = ""
    scan_threshold: str = ""
    weight: str = ""
    expires_at: str = ""
    work_days: list[str] = []
    work_start: str = ""
    work_end: str = ""


# --- helpers -------------------------------------------------------------------------


def _community(principal: Principal) -> int:
    return principal.default_community()


def _env(ctx: AppContext) -> LiveCodeEnv:
    return LiveCodeEnv.from_context(ctx)


def _message(request: Request, exc: DomainError) -> str:
    return error_text(exc, language_of(request))


def _shown_on_page(exc: DomainError) -> bool:
    return exc.status not in (401, 403, 404)


def _hours(days: list[str], start: str, end: str) -> dict[str, Any] | None:
    chosen = sorted({int(d) for d in days if d.isdigit() and int(d) in WEEKDAYS})
    if not chosen and not start.strip() and not end.strip():
        return None
    hours: dict[str, Any] = {"days": chosen or list(WEEKDAYS)}
    if start.strip():
        hours["start"] = start.strip()
    if end.strip():
        hours["end"] = end.strip()
    return hours


def _hours_form(hours: dict[str, Any] | None) -> tuple[list[str], str, str]:
    if not hours:
        return [], "", ""
    days = [str(d) for d in hours.get("days", WEEKDAYS)]
    return days, str(hours.get("start", "")), str(hours.get("end", ""))


def _fields(form: CodeForm) -> dict[str, Any]:
    return {
        "name": form.name,
        "kind": form.kind,
        "strategy": form.strategy,
        "title": form.title,
        "description": form.description,
        "sticky_days": form.sticky_days,
        "default_threshold": form.default_threshold,
        "default_expiry_days": form.default_expiry_days,
        "timezone": form.timezone,
        "active_hours": _hours(form.active_days, form.active_start, form.active_end),
        "fallback_message": form.fallback_message,
        "fallback_contact": form.fallback_contact,
        "alert_webhook_url": form.alert_webhook_url,
        "allowed_apps": form.allowed_apps,
        "allowed_devices": form.allowed_devices,
        "allowed_os": form.allowed_os,
    }


def _form_of(session: Session, code: LiveCode) -> CodeForm:
    days, start, end = _hours_form(code.active_hours)
    gate = service.gate_of(service.main_link(session, code.id))
    return CodeForm(
        name=code.name,
        kind=code.kind,
        strategy=code.strategy,
        title=code.title or "",
        description=code.description or "",
        sticky_days=str(code.sticky_days),
        default_threshold=str(code.default_threshold),
        default_expiry_days=str(code.default_expiry_days),
        timezone=code.timezone,
        active_days=days,
        active_start=start,
        active_end=end,
        fallback_message=code.fallback_message or "",
        fallback_contact=code.fallback_contact or "",
        alert_webhook_url=code.alert_webhook_url or "",
        allowed_apps=gate["allowed_apps"] or [],
        allowed_devices=gate["allowed_devices"] or [],
        allowed_os=gate["allowed_os"] or [],
    )


def _picture(upload: UploadFile | None) -> bytes | None:
    if upload is None or not upload.filename:
        return None
    return read_image(upload) or None


def _local(zone: str) -> Callable[[datetime | None], str]:
    tz = ZoneInfo(zone)

    def fmt(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    return fmt


def _common(ctx: AppContext, principal: Principal) -> dict[str, Any]:
    community_id = _community(principal)
    return {
        "can_write": principal.can(community_id, Role.operator),
        "short_url": lambda slug: service.short_url(ctx.settings, slug),
        "weekdays": WEEKDAYS,
        "local": _local(ctx.settings.timezone),
    }


def _form_page(
    request: Request,
    ctx: AppContext,
    principal: Principal,
    form: CodeForm,
    *,
    code: LiveCode | None = None,
    error: DomainError | None = None,
) -> Response:
    field = None
    if error is not None:
        field = error.params.get("field") if isinstance(error.params.get("field"), str) else None
        for prefix, name in _FIELD_OF_PREFIX.items():
            if error.code.startswith(prefix):
                field = name
    return render(
        request,
        "livecodes/form.html",
        status_code=error.status if error else 200,
        form=form,
        code=code,
        kinds=list(CodeKind),
        strategies=list(Strategy),
        app_choices=APP_CHOICES,
        device_choices=DEVICE_CHOICES,
        os_choices=OS_CHOICES,
        field_errors={field: _message(request, error)} if error and field else {},
        form_error=_message(request, error) if error and not field else None,
        **_common(ctx, principal),
    )


def _back_to(code_id: int, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/livecodes/{code_id}{anchor}", status_code=303)


# --- the list ------------------------------------------------------------------------


@router.get("")
def list_page(
    request: Request, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    community_id = _community(principal)
    codes = service.list_codes(session, principal, community_id)
    views = service.total_views(session, [c.id for c in codes])
    now = utcnow()
    rows = []
    for code in codes:
        link = service.main_link(session, code.id)
        rows.append(
            {
                "code": code,
                "link": link,
                "health": pool_health(code, code_members(session, code.id), now),
                "views": views.get(code.id, 0),
            }
        )
    alerts = list_alerts(session, principal, community_id, limit=50)
    open_alerts: dict[int, int] = {}
    for row in alerts:
        open_alerts[row.alert.live_code_id] = open_alerts.get(row.alert.live_code_id, 0) + 1
    lang = language_of(request)
    return render(
        request,
        "livecodes/list.html",
        rows=rows,
        alerts=alerts,
        open_alerts=open_alerts,
        alert_text=lambda row: alert_message(row, lang),
        **_common(ctx, principal),
    )


@router.post("/alerts/{alert_id:int}/ack")
def acknowledge(
    alert_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    back: Annotated[str, Form()] = "",
) -> Response:
    acknowledge_alert(session, principal, _community(principal), alert_id)
    target = back if back.startswith("/livecodes") and "//" not in back else "/livecodes"
    return RedirectResponse(target, status_code=303)


# --- create and edit -----------------------------------------------------------------


@router.get("/new")
def new_page(request: Request, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    principal.require(_community(principal), Role.operator)
    kind = request.query_params.get("kind", "group")
    form = CodeForm(
        kind=kind if kind in CodeKind.__members__ else "group",
        timezone=ctx.settings.timezone,
    )
    if form.kind == CodeKind.staff:
        form = form.model_copy(
            update={"strategy": "weighted", "default_threshold": "0", "default_expiry_days": "0"}
        )
    return _form_page(request, ctx, principal, form)


@router.post("/new")
def create(
    request: Request,
    form: Annotated[CodeForm, Form()],
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    fallback_image: Annotated[UploadFile | None, File()] = None,
) -> Response:
    community_id = _community(principal)
    principal.require(community_id, Role.operator)
    try:
        code = service.create_code(
            session,
            _env(ctx),
            principal,
            community_id,
            _fields(form),
            slug=form.slug or None,
            fallback_picture=_picture(fallback_image),
        )
    except DomainError as exc:
        if not _shown_on_page(exc):
            raise
        session.rollback()
        return _form_page(request, ctx, principal, form, error=exc)
    return RedirectResponse(f"/livecodes/{code.id}?created=1", status_code=303)


@router.get("/{code_id:int}/edit")
def edit_page(
    request: Request, code_id: int, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    principal.require(_community(principal), Role.operator)
    code = service.get_code(session, principal, _community(principal), code_id)
    return _form_page(request, ctx, principal, _form_of(session, code), code=code)


@router.post("/{code_id:int}/edit")
def edit(
    request: Request,
    code_id: int,
    form: Annotated[CodeForm, Form()],
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    fallback_image: Annotated[UploadFile | None, File()] = None,
) -> Response:
    community_id = _community(principal)
    principal.require(community_id, Role.operator)
    try:
        service.update_code(
            session,
            _env(ctx),
            principal,
            community_id,
            code_id,
            _fields(form),
            fallback_picture=_picture(fallback_image),
            remove_fallback_picture=bool(form.remove_fallback_image),
        )
    except DomainError as exc:
        if not _shown_on_page(exc):
            raise
        session.rollback()
        code = service.get_code(session, principal, community_id, code_id)
        return _form_page(request, ctx, principal, form, code=code, error=exc)
    return _back_to(code_id)


def _code_action(
    act: Callable[[Session, LiveCodeEnv, Principal, int, int], object], to_list: bool = False
) -> Callable[..., Response]:
    def endpoint(
        code_id: int, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
    ) -> Response:
        act(session, _env(ctx), principal, _community(principal), code_id)
        return RedirectResponse("/livecodes", status_code=303) if to_list else _back_to(code_id)

    return endpoint


def _pause(s: Session, e: LiveCodeEnv, p: Principal, c: int, code_id: int) -> object:
    return service.set_status(s, e, p, c, code_id, "paused")


def _resume(s: Session, e: LiveCodeEnv, p: Principal, c: int, code_id: int) -> object:
    return service.set_status(s, e, p, c, code_id, "active")


router.post("/{code_id:int}/pause")(_code_action(_pause))
router.post("/{code_id:int}/resume")(_code_action(_resume))
router.post("/{code_id:int}/delete")(_code_action(service.delete_code, to_list=True))


# --- merge ---------------------------------------------------------------------------


def _merge_page(
    request: Request,
    session: Session,
    ctx: AppContext,
    principal: Principal,
    code: LiveCode,
    error: DomainError | None = None,
) -> Response:
    others = [
        c for c in service.list_codes(session, principal, _community(principal)) if c.id != code.id
    ]
    return render(
        request,
        "livecodes/merge.html",
        status_code=error.status if error else 200,
        code=code,
        others=others,
        error=_message(request, error) if error else None,
        **_common(ctx, principal),
    )


@router.get("/{code_id:int}/merge")
def merge_page(
    request: Request, code_id: int, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    principal.require(_community(principal), Role.operator)
    code = service.get_code(session, principal, _community(principal), code_id)
    return _merge_page(request, session, ctx, principal, code)


@router.post("/{code_id:int}/merge")
def merge(
    request: Request,
    code_id: int,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    into_id: Annotated[str, Form()] = "",
) -> Response:
    community_id = _community(principal)
    try:
        if not into_id.isdigit():
            raise DomainError("livecode.merge_target_missing")
        service.merge_code(session, _env(ctx), principal, community_id, code_id, int(into_id))
    except DomainError as exc:
        if not _shown_on_page(exc):
            raise
        session.rollback()
        code = service.get_code(session, principal, community_id, code_id)
        return _merge_page(request, session, ctx, principal, code, exc)
    return _back_to(code_id)


# --- detail --------------------------------------------------------------------------


def _member_rows(code: LiveCode, members: list[LiveCodeMember], now: datetime) -> list[Any]:
    rows = []
    for member in members:
        threshold = member.scan_threshold
        life = None
        if member.expires_at is not None:
            total = (member.expires_at - member.created_at).total_seconds()
            used = (now - member.created_at).total_seconds()
            life = 100 if total <= 0 else max(0, min(100, round(100 * used / total)))
        rows.append(
            {
                "member": member,
                "available": member_available(code, member, now),
                "expired": member.expires_at is not None and member.expires_at <= now,
                "full": threshold > 0 and member.scans >= threshold,
                "fill": min(100, round(100 * member.scans / threshold)) if threshold else None,
                "life": life,
                "hours": _hours_form(member.working_hours),
            }
        )
    return rows


def _detail_page(
    request: Request,
    session: Session,
    ctx: AppContext,
    principal: Principal,
    code: LiveCode,
    *,
    error: DomainError | None = None,
) -> Response:
    now = utcnow()
    link = service.main_link(session, code.id)
    members = code_members(session, code.id)
    channels = service.list_channels(session, code.id)
    rng = stats.resolve_range(stats.today_in(ZoneInfo(ctx.settings.timezone)), days=30)
    tables = code_tables(session, code.id, rng)
    signer = signer_of(ctx)
    merged_into = None
    if code.merged_into_id is not None:
        merged_into = session.get(LiveCode, code.merged_into_id)
    community_id = _community(principal)
    lang = language_of(request)
    alerts = list_alerts(session, principal, community_id, code_id=code.id)
    return render(
        request,
        "livecodes/detail.html",
        status_code=error.status if error else 200,
        code=code,
        link=link,
        code_url=service.short_url(ctx.settings, link.slug),
        qr=Markup(qr_svg(service.short_url(ctx.settings, link.slug))),  # noqa: S704 - our SVG
        members=_member_rows(code, members, now),
        health=pool_health(code, members, now),
        image_url=lambda m: signer.member_image_url(m.id, image_version(m.created_at)),
        fallback_url=(
            signer.fallback_image_url(code.id, image_version(code.updated_at))
            if code.fallback_image_type
            else None
        ),
        channels=channels,
        tables=tables,
        merged_into=merged_into,
        alerts=alerts,
        alert_text=lambda row: alert_message(row, lang),
        gate=service.gate_of(link),
        signing_key=(
            webhook_key(ctx.settings.secret_key, code.id)
            if code.alert_webhook_url and principal.can(community_id, Role.operator)
            else None
        ),
        created=request.query_params.get("created") == "1",
        error=_message(request, error) if error else None,
        code_local=_local(code.timezone),
        stats_api=f"/api/v1/livecodes/{code.id}/stats",
        **_common(ctx, principal),
    )


@router.get("/{code_id:int}")
def detail_page(
    request: Request, code_id: int, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    code = service.get_code(session, principal, _community(principal), code_id)
    return _detail_page(request, session, ctx, principal, code)


@router.get("/{code_id:int}/qr.{fmt}")
def qr_download(
    code_id: int,
    fmt: str,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    channel: int | None = None,
) -> Response:
    if fmt not in ("png", "svg"):
        raise DomainError("not_found", status=404)
    code = service.get_code(session, principal, _community(principal), code_id)
    slug = (
        service.get_channel(session, code.id, channel).link.slug
        if channel is not None
        else service.main_link(session, code.id).slug
    )
    return qr_response(ctx, slug, fmt)


def _on_detail(
    request: Request,
    session: Session,
    ctx: AppContext,
    principal: Principal,
    code_id: int,
    act: Callable[[], object],
    anchor: str,
) -> Response:
    """Run a change; a refusal is shown on the detail page instead of a bare error."""
    try:
        act()
    except DomainError as exc:
        if not _shown_on_page(exc):
            raise
        session.rollback()
        code = service.get_code(session, principal, _community(principal), code_id)
        return _detail_page(request, session, ctx, principal, code, error=exc)
    return _back_to(code_id, anchor)


# --- the pool ------------------------------------------------------------------------


@router.post("/{code_id:int}/members")
def upload_member(
    request: Request,
    code_id: int,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    image: Annotated[UploadFile | None, File()] = None,
    name: Annotated[str, Form(max_length=400)] = "",
    scan_threshold: Annotated[str, Form(max_length=20)] = "",
    weight: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    def act() -> object:
        if image is None or not image.filename:
            raise DomainError("livecode.image_required")
        fields: dict[str, Any] = {}
        if name.strip():
            fields["name"] = name
        if scan_threshold.strip():
            fields["scan_threshold"] = scan_threshold
        if weight.strip():
            fields["weight"] = weight
        return pool.add_member(
            session,
            _env(ctx),
            principal,
            _community(principal),
            code_id,
            read_image(image),
            fields,
        )

    return _on_detail(request, session, ctx, principal, code_id, act, "#pool")


@router.post("/{code_id:int}/members/{member_id:int}/edit")
def edit_member(
    request: Request,
    code_id: int,
    member_id: int,
    form: Annotated[MemberForm, Form()],
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> Response:
    def act() -> object:
        fields: dict[str, Any] = {
            "name": form.name,
            "expires_at": form.expires_at or None,
            "working_hours": _hours(form.work_days, form.work_start, form.work_end),
        }
        if form.scan_threshold.strip():
            fields["scan_threshold"] = form.scan_threshold
        if form.weight.strip():
            fields["weight"] = form.weight
        return pool.update_member(
            session, _env(ctx), principal, _community(principal), code_id, member_id, fields
        )

    return _on_detail(request, session, ctx, principal, code_id, act, "#pool")


_MEMBER_ACTIONS: dict[str, Callable[..., object]] = {
    "enable": lambda s, e, p, c, code, m: pool.update_member(
        s, e, p, c, code, m, {"is_enabled": True}
    ),
    "disable": lambda s, e, p, c, code, m: pool.update_member(
        s, e, p, c, code, m, {"is_enabled": False}
    ),
    "up": lambda s, e, p, c, code, m: pool.move_member(s, e, p, c, code, m, -1),
    "down": lambda s, e, p, c, code, m: pool.move_member(s, e, p, c, code, m, 1),
    "reset": pool.reset_scans,
    "delete": pool.delete_member,
}


@router.post("/{code_id:int}/members/{member_id:int}/{action}")
def member_action(
    request: Request,
    code_id: int,
    member_id: int,
    action: str,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> Response:
    run = _MEMBER_ACTIONS.get(action)
    if run is None:
        raise DomainError("not_found", status=404)

    def act() -> object:
        assert run is not None
        return run(session, _env(ctx), principal, _community(principal), code_id, member_id)

    return _on_detail(request, session, ctx, principal, code_id, act, "#pool")


# --- channels ------------------------------------------------------------------------


@router.post("/{code_id:int}/channels")
def add_channel(
    request: Request,
    code_id: int,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    name: Annotated[str, Form(max_length=400)] = "",
    slug: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    def act() -> object:
        return service.add_channel(
            session, _env(ctx), principal, _community(principal), code_id, name, slug or None
        )

    return _on_detail(request, session, ctx, principal, code_id, act, "#channels")


@router.post("/{code_id:int}/channels/{channel_id:int}/delete")
def delete_channel(
    code_id: int, channel_id: int, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    service.delete_channel(
        session, _env(ctx), principal, _community(principal), code_id, channel_id
    )
    return _back_to(code_id, "#channels")
