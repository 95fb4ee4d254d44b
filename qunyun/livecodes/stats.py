"""Live-code statistics: the visits panel's numbers for a code, a member or a channel
(through :mod:`qunyun.visits.stats`), and per-member and per-channel tables with
long-press counts. Queries only; never writes.

A code's visits are those of its own links (main and channels) and of the links of
codes merged into it; a member's are the code's visits that showed that member.
Counting follows the visits module: people are non-bot visits, uniques are distinct
(day, daily visitor key) pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from qunyun.links.models import Link
from qunyun.livecodes.models import LiveCode, LiveCodePress
from qunyun.livecodes.snapshot import CodeStatus
from qunyun.visits.models import Visit
from qunyun.visits.stats import StatsRange


@dataclass(frozen=True)
class Counts:
    people: int = 0
    uniques: int = 0
    presses: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"people": self.people, "uniques": self.uniques, "presses": self.presses}


def merged_codes(session: Session, code_id: int) -> list[int]:
    """The code and every code whose merge chain leads into it."""
    found = [code_id]
    frontier = [code_id]
    while frontier:
        children = list(
            session.scalars(
                select(LiveCode.id).where(
                    LiveCode.merged_into_id.in_(frontier),
                    LiveCode.status == CodeStatus.retired,
                )
            )
        )
        frontier = [c for c in children if c not in found]
        found.extend(frontier)
    return found


def code_link_ids(session: Session, code_id: int) -> list[int]:
    """Every link whose visits count for the code, deleted channels' included."""
    codes = merged_codes(session, code_id)
    return list(session.scalars(select(Link.id).where(Link.live_code_id.in_(codes))))


def code_scope(
    link_ids: Sequence[int], *, member_id: int | None = None, link_id: int | None = None
) -> ColumnElement[bool]:
    """Which visits: the code's, narrowed to one member or one of its links."""
    scope: ColumnElement[bool] = Visit.link_id.in_(list(link_ids) or [-1])
    if member_id is not None:
        scope = and_(scope, Visit.member_id == member_id)
    if link_id is not None:
        scope = and_(scope, Visit.link_id == link_id)
    return scope


def _in_range(rng: StatsRange) -> ColumnElement[bool]:
    return and_(Visit.day >= rng.start, Visit.day <= rng.end, Visit.is_bot.is_(False))


def _grouped(
    session: Session, link_ids: Sequence[int], rng: StatsRange, column: InstrumentedAttribute[Any]
) -> dict[int | None, tuple[int, int]]:
    where = and_(Visit.link_id.in_(list(link_ids) or [-1]), _in_range(rng))
    people: dict[int | None, int] = dict(
        session.execute(select(column, func.count()).where(where).group_by(column)).all()
    )
    pairs = (
        select(column.label("k"), Visit.day, Visit.visitor_key).where(where).distinct().subquery()
    )
    uniques: dict[int | None, int] = dict(
        session.execute(select(pairs.c.k, func.count()).group_by(pairs.c.k)).all()
    )
    return {key: (int(count), int(uniques.get(key, 0))) for key, count in people.items()}


def _presses(
    session: Session, code_ids: Sequence[int], rng: StatsRange, column: InstrumentedAttribute[Any]
) -> dict[int | None, int]:
    rows = session.execute(
        select(column, func.count())
        .where(
            LiveCodePress.live_code_id.in_(list(code_ids) or [-1]),
            LiveCodePress.day >= rng.start,
            LiveCodePress.day <= rng.end,
        )
        .group_by(column)
    )
    return {key: int(count) for key, count in rows}


@dataclass(frozen=True)
class CodeTables:
    total: Counts
    members: dict[int | None, Counts]
    links: dict[int, Counts]


def code_tables(session: Session, code_id: int, rng: StatsRange) -> CodeTables:
    """People, uniques and long presses per member and per link, and in total."""
    codes = merged_codes(session, code_id)
    link_ids = list(session.scalars(select(Link.id).where(Link.live_code_id.in_(codes))))
    by_member = _grouped(session, link_ids, rng, Visit.member_id)
    by_link = _grouped(session, link_ids, rng, Visit.link_id)
    presses_by_member = _presses(session, codes, rng, LiveCodePress.member_id)
    presses_by_link = _presses(session, codes, rng, LiveCodePress.link_id)
    members = {
        key: Counts(*by_member.get(key, (0, 0)), presses_by_member.get(key, 0))
        for key in set(by_member) | set(presses_by_member)
    }
    links = {
        key: Counts(*by_link.get(key, (0, 0)), presses_by_link.get(key, 0))
        for key in set(by_link) | set(presses_by_link)
        if key is not None
    }
    where = and_(Visit.link_id.in_(link_ids or [-1]), _in_range(rng))
    people = session.scalar(select(func.count()).where(where)) or 0
    pairs = select(Visit.day, Visit.visitor_key).where(where).distinct().subquery()
    uniques = session.scalar(select(func.count()).select_from(pairs)) or 0
    total = Counts(int(people), int(uniques), sum(presses_by_member.values()))
    return CodeTables(total, members, links)
