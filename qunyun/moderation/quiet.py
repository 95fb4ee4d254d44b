"""Quiet hours: may members speak now, and when does that change? Pure.

A quiet period starts at ``start`` local time on each listed day and ends at the next
``end`` (the same day, or the next when ``end`` is not after ``start``). Periods never
overlap: each is shorter than a day and they start a day apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from qunyun.moderation.rulebook import QuietHours


def zone_for(rules: QuietHours, group_timezone: str | None) -> ZoneInfo:
    """The group's own zone when it has one, else the rule book's."""
    if group_timezone:
        try:
            return ZoneInfo(group_timezone)
        except (KeyError, ValueError):
            pass
    return ZoneInfo(rules.timezone)


def _periods(
    rules: QuietHours, zone: ZoneInfo, around: date, days: int
) -> Iterator[tuple[datetime, datetime]]:
    """Quiet periods (UTC) starting on local dates from ``around - 1`` for ``days`` days."""
    wanted = {d.number for d in rules.days}
    for offset in range(-1, days):
        day = around + timedelta(days=offset)
        if day.weekday() not in wanted:
            continue
        start = datetime.combine(day, rules.start, zone)
        end_day = day if rules.end > rules.start else day + timedelta(days=1)
        end = datetime.combine(end_day, rules.end, zone)
        yield start.astimezone(UTC), end.astimezone(UTC)


def is_quiet(rules: QuietHours, moment: datetime, zone: ZoneInfo) -> bool:
    """Whether ``moment`` (aware) falls in a quiet period; always False when disabled."""
    if not rules.enabled:
        return False
    at = moment.astimezone(UTC)
    local = moment.astimezone(zone).date()
    return any(start <= at < end for start, end in _periods(rules, zone, local, 2))


def speaking_allowed(rules: QuietHours, moment: datetime, zone: ZoneInfo) -> bool:
    return not is_quiet(rules, moment, zone)


def next_change(rules: QuietHours, moment: datetime, zone: ZoneInfo) -> datetime | None:
    """The first moment after ``moment`` at which quiet turns on or off (None: never)."""
    if not rules.enabled or not rules.days:
        return None
    at = moment.astimezone(UTC)
    local = moment.astimezone(zone).date()
    edges = sorted(
        edge for period in _periods(rules, zone, local, 9) for edge in period if edge > at
    )
    return edges[0] if edges else None
