"""Which pool member a live code shows now, and when somebody is next available. Pure.

A member is *available* when it is switched on, not expired, below its scan threshold,
not a group already at its capacity (for members linked to a group Qunyun hears), inside
its working hours (staff codes) and the code itself is inside its active hours.
Hours are wall-clock times in the code's time zone; a window whose end is not after its
start runs past midnight and belongs to the day it starts on (Fri 22:00–02:00 covers
Friday night and the small hours of Saturday).

Strategies choose among the available members:

- ``in_order``: the first by position (the next group takes over when one fills up);
- ``round_robin``: the caller's counter modulo the available members, in position order;
- ``weighted``: at random, in proportion to the weights.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from qunyun.errors import DomainError

_CLOCK = re.compile(r"([01]?\d|2[0-4]):([0-5]\d)")
_DAY = timedelta(days=1)
# Windows repeat weekly: a week and a day of window starts covers every combination.
_HORIZON_DAYS = 8
MAX_WEIGHT = 1000


class Strategy(StrEnum):
    in_order = "in_order"
    round_robin = "round_robin"
    weighted = "weighted"


def _parse_clock(value: Any, field: str) -> int:
    """ "HH:MM" (24:00 allowed) to minutes after midnight."""
    text = value.strip() if isinstance(value, str) else ""
    match = _CLOCK.fullmatch(text)
    if match is None or (int(match.group(1)) == 24 and match.group(2) != "00"):
        raise DomainError("livecode.invalid_hours", field=field, value=str(value)[:16])
    return int(match.group(1)) * 60 + int(match.group(2))


def _clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class Schedule:
    """Weekly hours: on ``days`` (ISO weekdays 1–7, None = every day), from ``start``
    for ``length`` minutes (1–1440) of wall-clock time."""

    days: frozenset[int] | None = None
    start: int = 0
    length: int = 1440

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None) -> Schedule | None:
        """``{"days": [1, 2], "start": "09:00", "end": "18:00"}``; every key optional.

        An absent start means midnight and an absent end the end of the day; an end at
        or before the start runs into the next day. ``None`` or ``{}`` means always.
        """
        if not data:
            return None
        if not isinstance(data, Mapping):
            raise DomainError("livecode.invalid_hours", field="hours", value="")
        unknown = set(data) - {"days", "start", "end"}
        if unknown:
            raise DomainError("livecode.invalid_hours", field=sorted(unknown)[0], value="")
        days: frozenset[int] | None = None
        raw_days = data.get("days")
        if raw_days is not None:
            if not isinstance(raw_days, list | tuple | set | frozenset) or not all(
                isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in raw_days
            ):
                raise DomainError("livecode.invalid_hours", field="days", value=str(raw_days)[:32])
            if not raw_days:
                raise DomainError("livecode.hours_no_days")
            days = frozenset(raw_days) if len(set(raw_days)) < 7 else None
        start = _parse_clock(data["start"], "start") if data.get("start") else 0
        end = _parse_clock(data["end"], "end") if data.get("end") else 1440
        if start == 1440:
            raise DomainError("livecode.invalid_hours", field="start", value="24:00")
        length = (end - start) % 1440 or 1440
        if days is None and length == 1440:
            return None
        return cls(days, start, length)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start": _clock_text(self.start),
            "end": _clock_text((self.start + self.length) % 1440 or 1440),
        }
        if self.days is not None:
            out["days"] = sorted(self.days)
        return out

    @property
    def end(self) -> int:
        """Minutes after the start day's midnight; above 1440 when it runs overnight."""
        return self.start + self.length

    def _on(self, day: date) -> bool:
        return self.days is None or day.isoweekday() in self.days

    def _window(self, day: date) -> tuple[datetime, datetime]:
        opens = datetime.combine(day, time()) + timedelta(minutes=self.start)
        return opens, opens + timedelta(minutes=self.length)

    def contains(self, local: datetime) -> bool:
        """Whether the wall-clock time ``local`` (its zone ignored) is inside the hours."""
        wall = local.replace(tzinfo=None)
        for day in (wall.date(), wall.date() - _DAY):
            if self._on(day):
                opens, closes = self._window(day)
                if opens <= wall < closes:
                    return True
        return False

    def openings_after(self, local: datetime) -> Iterator[datetime]:
        """Wall-clock window starts after ``local`` over the next week and a day."""
        wall = local.replace(tzinfo=None)
        for offset in range(_HORIZON_DAYS + 1):
            day = wall.date() + timedelta(days=offset)
            if self._on(day):
                opens = self._window(day)[0]
                if opens > wall:
                    yield opens


@dataclass(frozen=True, slots=True)
class PoolMember:
    """What rotation needs to know of one QR in a pool. ``threshold`` None: no limit."""

    id: int
    position: int = 0
    weight: int = 1
    threshold: int | None = 200
    scans: int = 0
    expires_at: datetime | None = None
    enabled: bool = True
    working_hours: Schedule | None = None
    # Its group has as many members as its capacity (member count from the stream).
    full: bool = False


def _local(now: datetime, zone: tzinfo) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(zone)


def code_open(active_hours: Schedule | None, now: datetime, zone: tzinfo) -> bool:
    return active_hours is None or active_hours.contains(_local(now, zone))


def is_usable(member: PoolMember, now: datetime, extra_scans: int = 0) -> bool:
    """Could serve a new visitor at some hour: switched on, unexpired, below threshold."""
    return (
        member.enabled
        and not member.full
        and (member.expires_at is None or now < member.expires_at)
        and (member.threshold is None or member.scans + extra_scans < member.threshold)
    )


def is_available(
    member: PoolMember,
    now: datetime,
    zone: tzinfo,
    *,
    extra_scans: int = 0,
    ignore_threshold: bool = False,
) -> bool:
    """The member's own rules (the code's active hours are checked by the caller).

    ``ignore_threshold`` serves a returning visitor, who already counted once (a full
    group is skipped even for them: the platform would turn them away).
    """
    if not member.enabled or member.full:
        return False
    if member.expires_at is not None and now >= member.expires_at:
        return False
    if (
        not ignore_threshold
        and member.threshold is not None
        and member.scans + extra_scans >= member.threshold
    ):
        return False
    return member.working_hours is None or member.working_hours.contains(_local(now, zone))


def available_members(
    members: Iterable[PoolMember],
    now: datetime,
    zone: tzinfo,
    *,
    active_hours: Schedule | None = None,
    extra_scans: Mapping[int, int] | None = None,
) -> list[PoolMember]:
    """The available members in position order (ties by id)."""
    if not code_open(active_hours, now, zone):
        return []
    extra = extra_scans or {}
    found = [m for m in members if is_available(m, now, zone, extra_scans=extra.get(m.id, 0))]
    found.sort(key=lambda m: (m.position, m.id))
    return found


def choose(
    members: Sequence[PoolMember],
    strategy: Strategy,
    now: datetime,
    zone: tzinfo,
    *,
    counter: int = 0,
    rng: random.Random | None = None,
    active_hours: Schedule | None = None,
    extra_scans: Mapping[int, int] | None = None,
) -> PoolMember | None:
    """The member to show a new visitor, or None when nobody is available."""
    pool = available_members(members, now, zone, active_hours=active_hours, extra_scans=extra_scans)
    if not pool:
        return None
    if strategy is Strategy.round_robin:
        return pool[counter % len(pool)]
    if strategy is Strategy.weighted and len(pool) > 1:
        draw = rng or random.Random()  # noqa: S311 - spreading visitors, not a secret
        return draw.choices(pool, weights=[max(1, m.weight) for m in pool])[0]
    return pool[0]


def next_available_at(
    members: Iterable[PoolMember],
    now: datetime,
    zone: tzinfo,
    *,
    active_hours: Schedule | None = None,
    extra_scans: Mapping[int, int] | None = None,
) -> datetime | None:
    """The earliest moment from ``now`` at which some member is available (scans as
    they stand), in ``zone``; None when no member ever will be without a change."""
    local = _local(now, zone)
    extra = extra_scans or {}
    best: datetime | None = None
    for member in members:
        if not member.enabled or member.full:
            continue
        if member.threshold is not None and member.scans + extra.get(member.id, 0) >= (
            member.threshold
        ):
            continue
        found = _first_common(local, zone, member.working_hours, active_hours)
        if found is None or (member.expires_at is not None and found >= member.expires_at):
            continue
        if best is None or found < best:
            best = found
    return best


def _first_common(local: datetime, zone: tzinfo, *schedules: Schedule | None) -> datetime | None:
    """The first moment from ``local`` inside every schedule (None: always)."""
    relevant = [s for s in schedules if s is not None]
    if all(s.contains(local) for s in relevant):
        return local
    candidates = sorted({t for s in relevant for t in s.openings_after(local)})
    for wall in candidates:
        if all(s.contains(wall) for s in relevant):
            return wall.replace(tzinfo=zone)
    return None
