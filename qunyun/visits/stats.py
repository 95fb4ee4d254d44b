"""Visit statistics of one link or of every link of a tag. Queries only; never writes.

Grouping uses the columns the recorder stored with each visit, so both databases agree
without date functions of their own: ``day`` is the local calendar day in
``settings.timezone`` and ``hour`` the UTC epoch hour (``ts // 3600``), shown in that
zone.

How people are counted:
    * visits: every request by a person (not a bot);
    * unique visitors of a bucket: distinct daily visitor keys in that bucket;
    * unique visitors of a range: distinct (day, visitor key) pairs, i.e. each day's
      unique visitors summed. Visitor keys change every day by design (so no one can be
      followed across days), hence a person who comes back on three days counts three
      times, and the uniques of a range equal the sum of its daily uniques.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, distinct, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from qunyun.errors import DomainError, NotFound
from qunyun.links.models import Link, Tag, link_tags
from qunyun.visits.export import VisitRow
from qunyun.visits.keys import epoch_hour
from qunyun.visits.models import Visit

DEFAULT_DAYS = 30
DEFAULT_HOUR_DAYS = 7
MAX_DAYS = 366
MAX_HOUR_DAYS = 14
MIN_DATE = date(1970, 1, 2)
MAX_DATE = date(2999, 12, 31)
TOP = 10
MAX_TAG_NAME = 64  # the width of tags.name
# Keys that are not stored values: the roll-up of everything past the top entries, a
# visit without referrer, a visit from a plain browser rather than an app.
REST_KEY = "__rest__"
DIRECT_KEY = "direct"
NO_APP_KEY = "none"


class Granularity(StrEnum):
    hour = "hour"
    day = "day"


@dataclass(frozen=True)
class StatsRange:
    """Local calendar days ``start``..``end``, both included."""

    start: date
    end: date
    granularity: Granularity

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def resolve_range(
    today: date,
    start: date | None = None,
    end: date | None = None,
    *,
    days: int | None = None,
    granularity: Granularity = Granularity.day,
) -> StatsRange:
    """The range asked for. ``end`` defaults to today, ``start`` to ``days`` back from
    ``end`` (30 by the day, 7 by the hour)."""
    end = end or today
    _within_bounds(end)
    if start is None:
        span = days or (DEFAULT_HOUR_DAYS if granularity is Granularity.hour else DEFAULT_DAYS)
        if not 1 <= span <= MAX_DAYS:
            raise DomainError("stats.range_too_long", max_days=MAX_DAYS, days=span)
        start = max(end - timedelta(days=span - 1), MIN_DATE)
    _within_bounds(start)
    if start > end:
        raise DomainError("stats.range_reversed", start=start.isoformat(), end=end.isoformat())
    rng = StatsRange(start, end, granularity)
    if rng.days > MAX_DAYS:
        raise DomainError("stats.range_too_long", max_days=MAX_DAYS, days=rng.days)
    if granularity is Granularity.hour and rng.days > MAX_HOUR_DAYS:
        raise DomainError("stats.hour_range_too_long", max_days=MAX_HOUR_DAYS, days=rng.days)
    return rng


def _within_bounds(value: date) -> None:
    if not MIN_DATE <= value <= MAX_DATE:
        raise DomainError(
            "stats.date_out_of_range",
            value=value.isoformat(),
            min=MIN_DATE.isoformat(),
            max=MAX_DATE.isoformat(),
        )


def today_in(zone: ZoneInfo) -> date:
    return datetime.now(zone).date()


# --- results -----------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """One hour or day. ``key``: ISO date, or ISO local date-time with offset for hours."""

    key: str
    people: int
    uniques: int
    bots: int

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "people": self.people, "uniques": self.uniques, "bots": self.bots}


@dataclass(frozen=True)
class Totals:
    people: int
    uniques: int
    bots: int

    def to_dict(self) -> dict[str, Any]:
        return {"people": self.people, "uniques": self.uniques, "bots": self.bots}


@dataclass(frozen=True)
class Share:
    key: str
    people: int
    bots: int

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "people": self.people, "bots": self.bots}


@dataclass(frozen=True)
class Breakdowns:
    os: tuple[Share, ...]
    device: tuple[Share, ...]
    browser: tuple[Share, ...]
    referrer: tuple[Share, ...]
    app: tuple[Share, ...]
    bot: tuple[Share, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            name: [s.to_dict() for s in getattr(self, name)]
            for name in ("os", "device", "browser", "referrer", "app", "bot")
        }


@dataclass(frozen=True)
class Stats:
    start: date
    end: date
    granularity: Granularity
    timezone: str
    totals: Totals
    series: tuple[Bucket, ...]
    breakdowns: Breakdowns

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "granularity": self.granularity.value,
            "timezone": self.timezone,
            "totals": self.totals.to_dict(),
            "series": [b.to_dict() for b in self.series],
            "breakdowns": self.breakdowns.to_dict(),
        }


# --- which visits ------------------------------------------------------------------


def link_scope(link_id: int) -> ColumnElement[bool]:
    return Visit.link_id == link_id


def tag_scope(tag_id: int) -> ColumnElement[bool]:
    """Visits of every link carrying the tag (deleted links left out)."""
    links = (
        select(link_tags.c.link_id)
        .join(Link, Link.id == link_tags.c.link_id)
        .where(link_tags.c.tag_id == tag_id, Link.deleted_at.is_(None))
    )
    return Visit.link_id.in_(links)


def tag_by_name(session: Session, community_id: int, name: str) -> Tag:
    # Tag names are stored with their blanks collapsed; look them up the same way.
    name = " ".join(name.split())
    if not name or len(name) > MAX_TAG_NAME or "\x00" in name:
        # Nothing stored looks like this (and PostgreSQL refuses NUL in text outright).
        raise NotFound("stats.tag_not_found", name=name[:MAX_TAG_NAME])
    tag = session.scalar(select(Tag).where(Tag.community_id == community_id, Tag.name == name))
    if tag is None:
        raise NotFound("stats.tag_not_found", name=name)
    return tag


# --- the queries -------------------------------------------------------------------


def compute_stats(
    session: Session, scope: ColumnElement[bool], rng: StatsRange, timezone: str
) -> Stats:
    zone = ZoneInfo(timezone)
    where = and_(scope, Visit.day >= rng.start, Visit.day <= rng.end)
    series = _series(session, where, rng, zone)
    pairs = (
        select(Visit.day, Visit.visitor_key)
        .where(where, Visit.is_bot.is_(False))
        .distinct()
        .subquery()
    )
    uniques = session.scalar(select(func.count()).select_from(pairs)) or 0
    totals = Totals(
        people=sum(b.people for b in series),
        uniques=int(uniques),
        bots=sum(b.bots for b in series),
    )
    breakdowns = Breakdowns(
        os=_breakdown(session, where, Visit.os),
        device=_breakdown(session, where, Visit.device),
        browser=_breakdown(session, where, Visit.browser),
        referrer=_breakdown(session, where, Visit.referrer_host, none_key=DIRECT_KEY),
        app=_breakdown(session, where, Visit.app, none_key=NO_APP_KEY),
        bot=_breakdown(session, and_(where, Visit.is_bot.is_(True)), Visit.bot_name),
    )
    return Stats(rng.start, rng.end, rng.granularity, timezone, totals, series, breakdowns)


def link_stats(session: Session, link_id: int, rng: StatsRange, timezone: str) -> Stats:
    return compute_stats(session, link_scope(link_id), rng, timezone)


def tag_stats(session: Session, tag_id: int, rng: StatsRange, timezone: str) -> Stats:
    return compute_stats(session, tag_scope(tag_id), rng, timezone)


def _series(
    session: Session, where: ColumnElement[bool], rng: StatsRange, zone: ZoneInfo
) -> tuple[Bucket, ...]:
    column: InstrumentedAttribute[Any] = (
        Visit.hour if rng.granularity is Granularity.hour else Visit.day
    )
    rows = session.execute(
        select(column, Visit.is_bot, func.count(), func.count(distinct(Visit.visitor_key)))
        .where(where)
        .group_by(column, Visit.is_bot)
    ).all()
    people: dict[Any, tuple[int, int]] = {}
    bots: dict[Any, int] = {}
    for bucket, is_bot, visits, uniques in rows:
        if is_bot:
            bots[bucket] = int(visits)
        else:
            people[bucket] = (int(visits), int(uniques))
    out = []
    for bucket, key in _buckets(rng, zone):
        visits, uniques = people.get(bucket, (0, 0))
        out.append(Bucket(key=key, people=visits, uniques=uniques, bots=bots.get(bucket, 0)))
    return tuple(out)


def _buckets(rng: StatsRange, zone: ZoneInfo) -> Iterator[tuple[Any, str]]:
    """Every bucket of the range, empty or not: (stored value, ISO key)."""
    if rng.granularity is Granularity.day:
        for offset in range(rng.days):
            day = rng.start + timedelta(days=offset)
            yield day, day.isoformat()
        return
    first = epoch_hour(_local_midnight(rng.start, zone))
    # The hour holding the range's last second. Hours are floored, so in zones offset by
    # half an hour the first local minutes of the range fall into a UTC hour that began
    # the evening before, and are still covered.
    last = epoch_hour(_local_midnight(rng.end + timedelta(days=1), zone) - 1)
    for hour in range(first, last + 1):
        yield hour, datetime.fromtimestamp(hour * 3600, UTC).astimezone(zone).isoformat()


def _local_midnight(day: date, zone: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def _breakdown(
    session: Session,
    where: ColumnElement[bool],
    column: InstrumentedAttribute[Any],
    *,
    none_key: str = "unknown",
) -> tuple[Share, ...]:
    rows = session.execute(
        select(column, Visit.is_bot, func.count()).where(where).group_by(column, Visit.is_bot)
    ).all()
    counts: dict[str, list[int]] = {}
    for value, is_bot, visits in rows:
        key = str(value) if value else none_key
        entry = counts.setdefault(key, [0, 0])
        entry[1 if is_bot else 0] += int(visits)
    return top_shares(counts, TOP)


def top_shares(counts: dict[str, list[int]], top: int) -> tuple[Share, ...]:
    """People first (they are the audience), then bots; the rest rolled into one entry."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))
    shares = [Share(key, people, bots) for key, (people, bots) in ranked[:top]]
    rest = ranked[top:]
    if rest:
        shares.append(Share(REST_KEY, sum(p for _, (p, _b) in rest), sum(b for _, (_p, b) in rest)))
    return tuple(shares)


# --- raw visits --------------------------------------------------------------------


def count_visits(session: Session, link_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Visit.link_id == link_id)) or 0)


def iter_visits(session: Session, link_id: int, *, batch_size: int = 1000) -> Iterator[VisitRow]:
    """Every visit of a link, oldest day first, fetched ``batch_size`` rows at a time.

    Keyset pagination on (day, id), which the (link_id, day) index serves, so memory stays
    constant and each page costs the same however far the export has gone.
    """
    columns = (
        Visit.id,
        Visit.day,
        Visit.ts,
        Visit.referrer,
        Visit.user_agent,
        Visit.ip,
        Visit.browser,
        Visit.os,
        Visit.device,
        Visit.app,
        Visit.is_bot,
        Visit.bot_name,
    )
    after: tuple[date, int] | None = None
    while True:
        query = select(*columns).where(Visit.link_id == link_id)
        if after is not None:
            day, last_id = after
            query = query.where(or_(Visit.day > day, and_(Visit.day == day, Visit.id > last_id)))
        rows = session.execute(query.order_by(Visit.day, Visit.id).limit(batch_size)).all()
        for r in rows:
            yield VisitRow(
                id=r.id,
                ts=r.ts,
                referrer=r.referrer,
                user_agent=r.user_agent,
                ip=r.ip,
                browser=r.browser,
                os=r.os,
                device=r.device,
                app=r.app,
                is_bot=r.is_bot,
                bot_name=r.bot_name,
            )
        if len(rows) < batch_size:
            return
        after = (rows[-1].day, rows[-1].id)
