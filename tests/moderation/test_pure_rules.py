"""Quiet hours, flood windows, the ladder and nickname grace: properties and examples."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from qunyun.moderation.flood import FloodTracker
from qunyun.moderation.ladder import PastWarning, next_step
from qunyun.moderation.nickname import nickname_due, nickname_fits
from qunyun.moderation.quiet import is_quiet, next_change
from qunyun.moderation.rulebook import (
    FloodRules,
    Ladder,
    NicknameAction,
    NicknameFormat,
    QuietHours,
    Severity,
    StepAction,
    Weekday,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIXED_ZONES = st.sampled_from(["Asia/Shanghai", "UTC", "Asia/Kolkata", "Asia/Tokyo"])
clocks = st.builds(time, st.integers(0, 23), st.integers(0, 59))
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)


def brute_quiet(rules: QuietHours, moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone).replace(tzinfo=None)
    minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7
    start = rules.start.hour * 60 + rules.start.minute
    end = rules.end.hour * 60 + rules.end.minute
    days = {d.number for d in rules.days}
    today, yesterday = local.weekday(), (local.weekday() - 1) % 7
    if start < end:
        return today in days and start <= minute < end
    return (today in days and minute >= start) or (yesterday in days and minute < end)


@settings(max_examples=300, deadline=None)
@given(
    clocks,
    clocks,
    st.sets(st.sampled_from(list(Weekday)), min_size=1),
    moments,
    FIXED_ZONES,
)
def test_quiet_hours_agree_with_a_minute_of_week_model(
    start: time, end: time, days: set[Weekday], moment: datetime, zone_name: str
) -> None:
    if start == end:
        return
    rules = QuietHours(enabled=True, start=start, end=end, days=tuple(sorted(days)))
    zone = ZoneInfo(zone_name)
    assert is_quiet(rules, moment, zone) == brute_quiet(rules, moment, zone)
    change = next_change(rules, moment, zone)
    assert change is not None and change > moment
    state = is_quiet(rules, moment, zone)
    assert is_quiet(rules, change, zone) != state
    assert is_quiet(rules, change - timedelta(microseconds=1), zone) == state
    assert is_quiet(rules, moment + (change - moment) / 2, zone) == state


def test_quiet_hours_cross_midnight_on_the_days_they_start() -> None:
    rules = QuietHours(enabled=True, start=time(23, 30), end=time(6, 30), days=(Weekday.fri,))
    fri_late = datetime(2025, 1, 3, 23, 45, tzinfo=SHANGHAI)  # a Friday
    assert is_quiet(rules, fri_late, SHANGHAI)
    assert is_quiet(rules, fri_late + timedelta(hours=6), SHANGHAI)  # Saturday 05:45
    assert not is_quiet(rules, fri_late + timedelta(hours=7), SHANGHAI)  # Saturday 06:45
    assert not is_quiet(rules, fri_late + timedelta(days=1), SHANGHAI)  # Saturday 23:45
    assert next_change(rules, fri_late, SHANGHAI) == datetime(2025, 1, 4, 6, 30, tzinfo=SHANGHAI)
    assert not is_quiet(QuietHours(enabled=False), fri_late, SHANGHAI)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(["a", "b", " A ", ""]), st.integers(0, 3)),
        max_size=40,
    ),
    st.integers(1, 6),
    st.integers(1, 10),
    st.integers(1, 4),
    st.integers(1, 6),
)
def test_flood_matches_a_brute_force_count(
    events: list[tuple[int, str, int]], max_messages: int, window: int, repeat: int, mentions: int
) -> None:
    rules = FloodRules(
        max_messages=max_messages,
        window_seconds=window,
        repeat_count=repeat,
        repeat_window_seconds=window * 2,
        max_mentions=mentions,
    )
    tracker = FloodTracker()
    now = 0.0
    seen: list[tuple[float, str, int]] = []
    for gap, text, mention_count in events:
        now += gap
        seen.append((now, text, mention_count))
        verdict = tracker.observe("k", rules, now, text=text, mentions=mention_count)
        in_window = [e for e in seen if e[0] > now - window]
        assert verdict.rate == (len(in_window) > max_messages)
        key = " ".join(text.casefold().split())
        same = sum(
            1 for t, x, _ in seen if t > now - window * 2 and " ".join(x.casefold().split()) == key
        )
        assert verdict.repeat == (bool(key) and same >= repeat)
        assert verdict.mentions == (sum(m for _, _, m in in_window) > mentions)


def test_flood_memory_is_bounded_and_idle_members_are_forgotten() -> None:
    tracker = FloodTracker(max_members=100, idle_seconds=60)
    rules = FloodRules()
    for i in range(1000):
        tracker.observe(("g", i), rules, float(i) / 100, text="hi")
    assert len(tracker) == 100
    tracker.observe(("g", "late"), rules, 10_000.0, text="hi")
    assert len(tracker) == 1
    verdict = tracker.observe("x", rules, 0.0, mention_all=True)
    assert verdict.mentions and verdict.mention_all


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 60), max_size=12),
    st.integers(0, 60),
    st.sampled_from(list(Severity)),
)
def test_ladder_never_goes_down_with_more_warnings(
    ages: list[int], extra_age: int, severity: Severity
) -> None:
    ladder = Ladder()
    now = datetime(2025, 6, 1, tzinfo=UTC)
    warnings = [PastWarning(now - timedelta(days=a)) for a in ages]
    before = next_step(ladder, warnings, now, severity=severity)
    after = next_step(
        ladder, [*warnings, PastWarning(now - timedelta(days=extra_age))], now, severity=severity
    )
    assert after.step.rank >= before.step.rank
    active = sum(1 for a in ages if a < 30)
    assert before.active_weight == active


def test_ladder_steps_expiry_grave_and_dry_run() -> None:
    ladder = Ladder(grave_categories=())
    now = datetime(2025, 6, 1, tzinfo=UTC)
    w = [PastWarning(now - timedelta(days=1))]
    assert next_step(ladder, [], now, severity=Severity.low).step.action is StepAction.warn
    second = next_step(ladder, w, now, severity=Severity.medium)
    assert (second.step.action, second.step.seconds) == (StepAction.mute, 3600)
    assert next_step(ladder, w, now, severity=Severity.high).step.seconds == 86400
    expired = [PastWarning(now - timedelta(days=31))] * 5
    assert next_step(ladder, expired, now, severity=Severity.low).index == 0
    assert next_step(ladder, w * 9, now, severity=Severity.low).step.action is StepAction.remove
    grave = next_step(
        Ladder.model_validate({"grave_categories": []}), [], now, severity=Severity.low
    )
    assert not grave.grave
    dry = next_step(ladder, w, now, severity=Severity.low, dry_run=True)
    assert dry.dry_run and dry.step == second.step


def test_nickname_format_and_grace() -> None:
    fmt = NicknameFormat(
        enabled=True,
        pattern=r"\d{1,3}-\d{1,2}-\d{3,5} ?[\u4e00-\u9fa5A-Za-z·]{1,12}",
        example="5-1-3305 吕凯",
        grace_hours=24,
        remind_every_hours=6,
        action=NicknameAction.remove,
    )
    assert nickname_fits(fmt, " 5-1-3305 吕凯 ")
    assert not nickname_fits(fmt, "吕凯")
    joined = datetime(2025, 1, 1, tzinfo=UTC)
    first = nickname_due(fmt, "吕凯", wrong_since=joined, last_reminded_at=None, now=joined)
    assert first.remind and not first.act and first.deadline == joined + timedelta(hours=24)
    later = nickname_due(
        fmt, "吕凯", wrong_since=joined, last_reminded_at=joined, now=joined + timedelta(hours=2)
    )
    assert not later.remind
    again = nickname_due(
        fmt, "吕凯", wrong_since=joined, last_reminded_at=joined, now=joined + timedelta(hours=7)
    )
    assert again.remind
    due = nickname_due(
        fmt, "吕凯", wrong_since=joined, last_reminded_at=joined, now=joined + timedelta(hours=24)
    )
    assert due.act and due.action is NicknameAction.remove
    fixed = nickname_due(
        fmt, "5-1-3305 吕凯", wrong_since=joined, last_reminded_at=joined, now=joined
    )
    assert fixed.fits and not fixed.remind and not fixed.act
    gentle = fmt.model_copy(update={"action": NicknameAction.remind_only})
    assert not nickname_due(
        gentle, "x", wrong_since=joined, last_reminded_at=joined, now=joined + timedelta(days=9)
    ).act
