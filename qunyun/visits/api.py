"""Visit statistics over JSON, and raw visits as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.responses import StreamingResponse

from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, csrf_protect
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.links.models import Link
from qunyun.links.service import get_link
from qunyun.visits import stats
from qunyun.visits.export import csv_chunks
from qunyun.visits.stats import Granularity, StatsRange
from qunyun.web.schemas import ErrorOut, ValidationErrorOut

router = APIRouter(prefix="/api/v1", tags=["stats"], dependencies=[Depends(csrf_protect)])


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error(
        "bad range: stats.range_reversed, stats.range_too_long, "
        "stats.hour_range_too_long, stats.date_out_of_range"
    ),
    401: _error("not signed in, or an invalid token (auth.required, auth.invalid_token)"),
    403: _error("no role in any community (community.none, community.no_access)"),
    422: {"model": ValidationErrorOut, "description": "Malformed request"},
}


class BucketOut(BaseModel):
    key: str = Field(description="ISO date, or ISO local date-time of the hour's start")
    people: int = Field(description="visits by people")
    uniques: int = Field(description="distinct daily visitor keys in the bucket")
    bots: int = Field(description="visits by bots and link-preview fetchers")


class TotalsOut(BaseModel):
    people: int
    uniques: int = Field(description="unique visitors per day, summed over the range")
    bots: int


class ShareOut(BaseModel):
    key: str = Field(description="the value; __rest__ rolls up everything past the top 10")
    people: int
    bots: int


class BreakdownsOut(BaseModel):
    os: list[ShareOut]
    device: list[ShareOut]
    browser: list[ShareOut]
    referrer: list[ShareOut] = Field(description="referrer host; 'direct' when none was sent")
    app: list[ShareOut] = Field(description="in-app browser; 'none' for a plain browser")
    bot: list[ShareOut] = Field(description="bots by name")


class StatsOut(BaseModel):
    scope: Literal["link", "tag"]
    name: str = Field(description="the link's slug or the tag's name")
    start: date
    end: date
    granularity: Granularity
    timezone: str = Field(description="days and hours are in this time zone")
    totals: TotalsOut
    series: list[BucketOut]
    breakdowns: BreakdownsOut


StartQuery = Annotated[date | None, Query(description="first local day (default: days before end)")]
EndQuery = Annotated[date | None, Query(description="last local day, included (default: today)")]
DaysQuery = Annotated[
    int | None,
    Query(ge=1, le=stats.MAX_DAYS, description="length of the range when start is not given"),
]
GranularityQuery = Annotated[
    Granularity, Query(description=f"hour allows at most {stats.MAX_HOUR_DAYS} days")
]


def _range(
    zone: ZoneInfo, start: date | None, end: date | None, days: int | None, granularity: Granularity
) -> StatsRange:
    return stats.resolve_range(stats.today_in(zone), start, end, days=days, granularity=granularity)


def visible_link(session: Session, principal: Principal, slug: str) -> Link:
    """The link, if it belongs to the principal's community; 404 otherwise."""
    return get_link(session, principal, principal.default_community(), slug)


@router.get(
    "/links/{slug}/stats",
    response_model=StatsOut,
    responses={**ERRORS, 404: _error("no such link in your community (link.not_found)")},
    summary="Visit statistics of one link",
)
def link_stats(
    slug: str,
    ctx: Ctx,
    session: DbSession,
    principal: CurrentPrincipal,
    start: StartQuery = None,
    end: EndQuery = None,
    days: DaysQuery = None,
    granularity: GranularityQuery = Granularity.day,
) -> StatsOut:
    link = visible_link(session, principal, slug)
    timezone = ctx.settings.timezone
    rng = _range(ZoneInfo(timezone), start, end, days, granularity)
    result = stats.link_stats(session, link.id, rng, timezone)
    return StatsOut.model_validate({"scope": "link", "name": link.slug, **result.to_dict()})


@router.get(
    "/tags/{name}/stats",
    response_model=StatsOut,
    responses={**ERRORS, 404: _error("no such tag in your community (stats.tag_not_found)")},
    summary="Visit statistics of every link with a tag",
)
def tag_stats(
    name: str,
    ctx: Ctx,
    session: DbSession,
    principal: CurrentPrincipal,
    start: StartQuery = None,
    end: EndQuery = None,
    days: DaysQuery = None,
    granularity: GranularityQuery = Granularity.day,
) -> StatsOut:
    community = principal.default_community()
    principal.require(community, Role.viewer)
    tag = stats.tag_by_name(session, community, name)
    timezone = ctx.settings.timezone
    rng = _range(ZoneInfo(timezone), start, end, days, granularity)
    result = stats.tag_stats(session, tag.id, rng, timezone)
    return StatsOut.model_validate({"scope": "tag", "name": tag.name, **result.to_dict()})


@router.get(
    "/links/{slug}/visits.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "every visit, oldest first; UTF-8 with BOM; times in the "
            "configured time zone; client addresses only within their retention and only "
            "for operators and above",
        },
        401: ERRORS[401],
        403: ERRORS[403],
        404: _error("no such link in your community (link.not_found)"),
    },
    summary="Raw visits of one link as CSV",
)
def visits_csv(
    slug: str, ctx: Ctx, session: DbSession, principal: CurrentPrincipal
) -> StreamingResponse:
    link = visible_link(session, principal, slug)
    settings = ctx.settings
    retention = settings.visit_ip_retention_days
    show_ips = retention > 0 and principal.can(link.community_id, Role.operator)
    ip_since = datetime.now(UTC) - timedelta(days=retention) if show_ips else None
    zone = ZoneInfo(settings.timezone)
    db, link_id = ctx.db, link.id

    # The request's session closes when this function returns; the body is produced
    # later, so it reads through its own session.
    def body() -> Iterator[str]:
        with db.session(write=False) as reader:
            yield from csv_chunks(stats.iter_visits(reader, link_id), zone, ip_since=ip_since)

    filename = f"{link.slug}-visits.csv"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
