"""The live-code JSON API under ``/api/v1/livecodes``."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.db.base import utcnow
from qunyun.errors import DomainError
from qunyun.livecodes import members as pool
from qunyun.livecodes import service
from qunyun.livecodes.alerts import acknowledge_alert, list_alerts
from qunyun.livecodes.images import MAX_UPLOAD_BYTES
from qunyun.livecodes.landing import landing_of
from qunyun.livecodes.lookup import code_members
from qunyun.livecodes.models import LiveCode
from qunyun.livecodes.present import alert_out, channel_out, code_out, member_out
from qunyun.livecodes.schemas import (
    AlertOut,
    ChannelIn,
    ChannelOut,
    ChannelStatsOut,
    LiveCodeCreateIn,
    LiveCodeOut,
    LiveCodeStatsOut,
    LiveCodeUpdateIn,
    MemberOut,
    MemberStatsOut,
    MemberUpdateIn,
    MergeIn,
    OrderIn,
    error_responses,
)
from qunyun.livecodes.service import LiveCodeEnv
from qunyun.livecodes.stats import Counts, code_link_ids, code_scope, code_tables
from qunyun.livecodes.tokens import Signer
from qunyun.qr import QrStyle, render_png, render_svg
from qunyun.visits import stats
from qunyun.visits.stats import Granularity
from qunyun.web.context import AppContext
from qunyun.web.render import language_of
from qunyun.web.schemas import MAX_ROW_ID

router = APIRouter(
    prefix="/api/v1/livecodes", tags=["live codes"], dependencies=[Depends(csrf_protect)]
)

CodeId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the live code's id")]
MemberId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
ChannelId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def signer_of(ctx: AppContext) -> Signer:
    landing = landing_of(ctx)
    return landing.signer if landing is not None else Signer(ctx.settings.secret_key)


def read_image(upload: UploadFile) -> bytes:
    data = upload.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError("qr.image_too_large", status=413, size=len(data), limit=MAX_UPLOAD_BYTES)
    return data


def _community(principal: Principal) -> int:
    return principal.default_community()


def _code(session: Session, principal: Principal, code_id: int) -> LiveCode:
    return service.get_code(session, principal, _community(principal), code_id)


# --- alerts --------------------------------------------------------------------------


@router.get(
    "/alerts",
    response_model=list[AlertOut],
    responses=error_responses(401, 403),
    summary="Alerts of every live code, newest first",
)
def alerts(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    include_acknowledged: bool = False,
) -> list[AlertOut]:
    rows = list_alerts(
        session, principal, _community(principal), include_acknowledged=include_acknowledged
    )
    lang = language_of(request)
    return [alert_out(row, lang) for row in rows]


@router.get(
    "/{code_id}/alerts",
    response_model=list[AlertOut],
    responses=error_responses(401, 403, 404),
    summary="One live code's alerts, newest first",
)
def code_alerts(
    request: Request,
    code_id: CodeId,
    session: DbSession,
    principal: CurrentPrincipal,
    include_acknowledged: bool = False,
) -> list[AlertOut]:
    code = _code(session, principal, code_id)
    rows = list_alerts(
        session,
        principal,
        _community(principal),
        code_id=code.id,
        include_acknowledged=include_acknowledged,
    )
    lang = language_of(request)
    return [alert_out(row, lang) for row in rows]


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertOut,
    responses=error_responses(401, 403, 404),
    summary="Mark an alert as seen",
)
def acknowledge(
    request: Request,
    alert_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    session: DbSession,
    principal: CurrentPrincipal,
) -> AlertOut:
    row = acknowledge_alert(session, principal, _community(principal), alert_id)
    return alert_out(row, language_of(request))


# --- codes ---------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=LiveCodeOut,
    responses=error_responses(400, 401, 403, 409),
    summary="Create a live code (and its permanent short link)",
)
def create_code(
    body: LiveCodeCreateIn, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> LiveCodeOut:
    env = LiveCodeEnv.from_context(ctx)
    code = service.create_code(
        session, env, principal, _community(principal), body.to_fields(), slug=body.slug
    )
    return code_out(session, ctx.settings, code, utcnow())


@router.get(
    "",
    response_model=list[LiveCodeOut],
    responses=error_responses(401, 403),
    summary="Every live code of the community (retired ones included)",
)
def list_codes(session: DbSession, ctx: Ctx, principal: CurrentPrincipal) -> list[LiveCodeOut]:
    codes = service.list_codes(session, principal, _community(principal))
    views = service.total_views(session, [c.id for c in codes])
    now = utcnow()
    return [code_out(session, ctx.settings, c, now, views.get(c.id, 0)) for c in codes]


@router.get(
    "/{code_id}",
    response_model=LiveCodeOut,
    responses=error_responses(401, 403, 404),
    summary="One live code",
)
def get_code(
    code_id: CodeId, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> LiveCodeOut:
    return code_out(session, ctx.settings, _code(session, principal, code_id), utcnow())


@router.patch(
    "/{code_id}",
    response_model=LiveCodeOut,
    responses=error_responses(400, 401, 403, 404),
    summary="Change a live code (only the fields sent); status pauses or resumes it",
)
def update_code(
    code_id: CodeId,
    body: LiveCodeUpdateIn,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> LiveCodeOut:
    env = LiveCodeEnv.from_context(ctx)
    code = service.update_code(
        session, env, principal, _community(principal), code_id, body.to_fields()
    )
    return code_out(session, ctx.settings, code, utcnow())


@router.delete(
    "/{code_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404),
    summary="Delete a live code: its links stop working, their slugs stay taken",
)
def delete_code(code_id: CodeId, session: DbSession, ctx: Ctx, principal: CurrentPrincipal) -> None:
    env = LiveCodeEnv.from_context(ctx)
    service.delete_code(session, env, principal, _community(principal), code_id)


@router.post(
    "/{code_id}/merge",
    response_model=LiveCodeOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Retire this code into another: its links then serve the other's pool",
)
def merge_code(
    code_id: CodeId, body: MergeIn, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> LiveCodeOut:
    env = LiveCodeEnv.from_context(ctx)
    code = service.merge_code(session, env, principal, _community(principal), code_id, body.into_id)
    return code_out(session, ctx.settings, code, utcnow())


@router.get(
    "/{code_id}/qr",
    response_class=Response,
    responses={
        200: {
            "content": {"image/png": {}, "image/svg+xml": {}},
            "description": "the QR of the code's short link (or of a channel's)",
        },
        **error_responses(401, 403, 404),
    },
    summary="QR code of the live code's link, PNG or SVG",
)
def code_qr(
    code_id: CodeId,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    format: Annotated[Literal["png", "svg"], Query()] = "png",
    channel_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    scale: Annotated[int, Query(ge=1, le=40)] = 10,
) -> Response:
    code = _code(session, principal, code_id)
    slug = (
        service.get_channel(session, code.id, channel_id).link.slug
        if channel_id is not None
        else service.main_link(session, code.id).slug
    )
    return qr_response(ctx, slug, format, scale)


def qr_response(ctx: AppContext, slug: str, fmt: str, scale: int = 10) -> Response:
    url = service.short_url(ctx.settings, slug)
    style = QrStyle(scale=scale, border=4)
    disposition = f'attachment; filename="{slug}.{fmt}"'
    headers = {"Content-Disposition": disposition, "Cache-Control": "no-store"}
    if fmt == "svg":
        return Response(render_svg(url, style), media_type="image/svg+xml", headers=headers)
    return Response(render_png(url, style), media_type="image/png", headers=headers)


# --- members -------------------------------------------------------------------------


@router.get(
    "/{code_id}/members",
    response_model=list[MemberOut],
    responses=error_responses(401, 403, 404),
    summary="The pool, in order",
)
def list_members(
    code_id: CodeId, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> list[MemberOut]:
    code = _code(session, principal, code_id)
    now, signer = utcnow(), signer_of(ctx)
    return [member_out(code, m, signer, ctx.settings, now) for m in code_members(session, code.id)]


def _hours_form(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise DomainError("livecode.invalid_hours", field="working_hours", value="") from None
    if value is not None and not isinstance(value, dict):
        raise DomainError("livecode.invalid_hours", field="working_hours", value="")
    return value


@router.post(
    "/{code_id}/members",
    status_code=201,
    response_model=MemberOut,
    responses=error_responses(400, 401, 403, 404, 409, 413),
    summary="Add a pool member from a QR image (a group invitation or a staff card)",
)
def add_member(
    code_id: CodeId,
    file: Annotated[UploadFile, File(description="PNG, JPEG, WebP or GIF holding one QR")],
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    name: Annotated[str | None, Form(max_length=200)] = None,
    scan_threshold: Annotated[int | None, Form(ge=0, le=1_000_000)] = None,
    weight: Annotated[int | None, Form(ge=1, le=1000)] = None,
    expires_at: Annotated[
        datetime | None, Form(description="default: the code's expiry days, or the QR's own")
    ] = None,
    working_hours: Annotated[
        str | None, Form(description='JSON, e.g. {"days": [1,2,3,4,5], "start": "09:00"}')
    ] = None,
) -> MemberOut:
    fields: dict[str, Any] = {
        key: value
        for key, value in (
            ("name", name),
            ("scan_threshold", scan_threshold),
            ("weight", weight),
            ("expires_at", expires_at),
            ("working_hours", _hours_form(working_hours)),
        )
        if value is not None
    }
    if "name" not in fields and file.filename:
        fields["name"] = file.filename.rsplit(".", 1)[0][:200] or None
        if not fields["name"]:
            fields.pop("name")
    env = LiveCodeEnv.from_context(ctx)
    member = pool.add_member(
        session, env, principal, _community(principal), code_id, read_image(file), fields
    )
    code = _code(session, principal, code_id)
    return member_out(code, member, signer_of(ctx), ctx.settings, utcnow())


@router.patch(
    "/{code_id}/members/{member_id}",
    response_model=MemberOut,
    responses=error_responses(400, 401, 403, 404),
    summary="Change a member: threshold, weight, expiry, hours, on/off; or reset its scans",
)
def update_member(
    code_id: CodeId,
    member_id: MemberId,
    body: MemberUpdateIn,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> MemberOut:
    env = LiveCodeEnv.from_context(ctx)
    community = _community(principal)
    member = pool.update_member(
        session, env, principal, community, code_id, member_id, body.to_fields()
    )
    if body.reset_scans:
        member = pool.reset_scans(session, env, principal, community, code_id, member_id)
    code = _code(session, principal, code_id)
    return member_out(code, member, signer_of(ctx), ctx.settings, utcnow())


@router.delete(
    "/{code_id}/members/{member_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404),
    summary="Remove a member from the pool",
)
def delete_member(
    code_id: CodeId,
    member_id: MemberId,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> None:
    env = LiveCodeEnv.from_context(ctx)
    pool.delete_member(session, env, principal, _community(principal), code_id, member_id)


@router.put(
    "/{code_id}/members/order",
    response_model=list[MemberOut],
    responses=error_responses(400, 401, 403, 404),
    summary="Put the pool in a new order (every member's id once)",
)
def reorder_members(
    code_id: CodeId, body: OrderIn, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> list[MemberOut]:
    env = LiveCodeEnv.from_context(ctx)
    ordered = pool.reorder_members(
        session, env, principal, _community(principal), code_id, body.member_ids
    )
    code = _code(session, principal, code_id)
    now, signer = utcnow(), signer_of(ctx)
    return [member_out(code, m, signer, ctx.settings, now) for m in ordered]


# --- channels ------------------------------------------------------------------------


@router.get(
    "/{code_id}/channels",
    response_model=list[ChannelOut],
    responses=error_responses(401, 403, 404),
    summary="The code's channels, each with its own link",
)
def list_channels(
    code_id: CodeId, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> list[ChannelOut]:
    code = _code(session, principal, code_id)
    return [channel_out(ctx.settings, row) for row in service.list_channels(session, code.id)]


@router.post(
    "/{code_id}/channels",
    status_code=201,
    response_model=ChannelOut,
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Add a channel (poster, article, event, partner…) with its own link",
)
def add_channel(
    code_id: CodeId, body: ChannelIn, session: DbSession, ctx: Ctx, principal: CurrentPrincipal
) -> ChannelOut:
    env = LiveCodeEnv.from_context(ctx)
    row = service.add_channel(
        session, env, principal, _community(principal), code_id, body.name, body.slug
    )
    return channel_out(ctx.settings, row)


@router.delete(
    "/{code_id}/channels/{channel_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404),
    summary="Remove a channel: its link stops working, its visits stay counted",
)
def delete_channel(
    code_id: CodeId,
    channel_id: ChannelId,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> None:
    env = LiveCodeEnv.from_context(ctx)
    service.delete_channel(session, env, principal, _community(principal), code_id, channel_id)


# --- statistics ----------------------------------------------------------------------


def code_statistics(
    session: Session,
    ctx: AppContext,
    code: LiveCode,
    rng: stats.StatsRange,
    member_id: int | None = None,
    channel_id: int | None = None,
) -> LiveCodeStatsOut:
    timezone = ctx.settings.timezone
    link_ids = code_link_ids(session, code.id)
    link_id = None
    if channel_id is not None:
        link_id = service.get_channel(session, code.id, channel_id).link.id
    if member_id is not None:
        pool.get_member(session, code, member_id)
    result = stats.compute_stats(
        session, code_scope(link_ids, member_id=member_id, link_id=link_id), rng, timezone
    )
    tables = code_tables(session, code.id, rng)
    names = {m.id: m.name for m in code_members(session, code.id)}
    members = [
        MemberStatsOut(member_id=key, name=names.get(key) if key else None, **counts.to_dict())
        for key, counts in sorted(tables.members.items(), key=lambda kv: -kv[1].people)
    ]
    main = service.main_link(session, code.id)
    channel_rows = service.list_channels(session, code.id)
    channels = [
        ChannelStatsOut(
            channel_id=None,
            name=None,
            slug=main.slug,
            **tables.links.get(main.id, Counts()).to_dict(),
        ),
        *(
            ChannelStatsOut(
                channel_id=row.channel.id,
                name=row.channel.name,
                slug=row.link.slug,
                **tables.links.get(row.link.id, Counts()).to_dict(),
            )
            for row in channel_rows
        ),
    ]
    presses = tables.total.presses
    if member_id is not None:
        presses = tables.members.get(member_id, Counts()).presses
    if link_id is not None:
        presses = tables.links.get(link_id, Counts()).presses
    return LiveCodeStatsOut.model_validate(
        {
            "live_code_id": code.id,
            "member_id": member_id,
            "channel_id": channel_id,
            **result.to_dict(),
            "presses": presses,
            "members": members,
            "channels": channels,
        }
    )


@router.get(
    "/{code_id}/stats",
    response_model=LiveCodeStatsOut,
    responses=error_responses(400, 401, 403, 404),
    summary="Views, unique visitors, platforms and long presses; per member and channel",
)
def code_stats(
    code_id: CodeId,
    session: DbSession,
    ctx: Ctx,
    principal: CurrentPrincipal,
    member_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="one member")] = None,
    channel_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="one channel")] = None,
    start: Annotated[date | None, Query()] = None,
    end: Annotated[date | None, Query()] = None,
    days: Annotated[int | None, Query(ge=1, le=stats.MAX_DAYS)] = None,
    granularity: Annotated[Granularity, Query()] = Granularity.day,
) -> LiveCodeStatsOut:
    code = _code(session, principal, code_id)
    zone = ZoneInfo(ctx.settings.timezone)
    rng = stats.resolve_range(stats.today_in(zone), start, end, days=days, granularity=granularity)
    return code_statistics(session, ctx, code, rng, member_id, channel_id)
