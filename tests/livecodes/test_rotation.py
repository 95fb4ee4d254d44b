"""The rotation policy, by the thousand: pure values in, pure values out."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qunyun.errors import DomainError
from qunyun.livecodes.rotation import (
    PoolMember,
    Schedule,
    Strategy,
    available_members,
    choose,
    code_open,
    is_available,
    next_available_at,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday, 10:00 in Shanghai.
MONDAY_10 = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)

clock = st.integers(min_value=0, max_value=24 * 60).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")
schedules = st.none() | st.builds(
    lambda days, start, end: Schedule.parse({"days": days, "start": start, "end": end}),
    st.none() | st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True),
    clock.filter(lambda c: c != "24:00"),
    clock,
)
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@st.composite
def pools(draw: st.DrawFn) -> list[PoolMember]:
    size = draw(st.integers(0, 8))
    members = []
    for index in range(size):
        threshold = draw(st.none() | st.integers(1, 50))
        members.append(
            PoolMember(
                id=index + 1,
                position=draw(st.integers(0, 5)),
                weight=draw(st.integers(1, 20)),
                threshold=threshold,
                scans=draw(st.integers(0, 60)),
                expires_at=draw(st.none() | moments),
                enabled=draw(st.booleans()),
                working_hours=draw(schedules),
                full=draw(st.booleans()),
            )
        )
    return members


zones = st.sampled_from([SHANGHAI, ZoneInfo("UTC"), ZoneInfo("America/New_York")])


@settings(max_examples=1000, deadline=None)
@given(
    pools(),
    st.sampled_from(list(Strategy)),
    moments,
    zones,
    st.integers(0, 1000),
    schedules,
    st.integers(0, 2**32),
)
def test_never_chooses_an_unavailable_member(
    members: list[PoolMember],
    strategy: Strategy,
    now: datetime,
    zone: ZoneInfo,
    counter: int,
    active: Schedule | None,
    seed: int,
) -> None:
    chosen = choose(
        members, strategy, now, zone, counter=counter, rng=random.Random(seed), active_hours=active
    )
    available = available_members(members, now, zone, active_hours=active)
    if chosen is None:
        assert available == []
    else:
        assert chosen in available
        assert is_available(chosen, now, zone)
        assert code_open(active, now, zone)
        assert chosen.enabled
        assert chosen.expires_at is None or now < chosen.expires_at
        assert chosen.threshold is None or chosen.scans < chosen.threshold
        assert not chosen.full


@settings(max_examples=1000, deadline=None)
@given(pools(), moments, zones)
def test_in_order_is_the_first_available_by_position(
    members: list[PoolMember], now: datetime, zone: ZoneInfo
) -> None:
    chosen = choose(members, Strategy.in_order, now, zone)
    available = [m for m in members if is_available(m, now, zone)]
    if not available:
        assert chosen is None
        return
    assert chosen is not None
    assert chosen.position == min(m.position for m in available)
    assert chosen.id == min(m.id for m in available if m.position == chosen.position)


@settings(max_examples=300, deadline=None)
@given(pools(), moments, zones, st.integers(0, 10_000))
def test_round_robin_cycles_through_every_available_member(
    members: list[PoolMember], now: datetime, zone: ZoneInfo, start: int
) -> None:
    available = available_members(members, now, zone)
    shown = [
        choose(members, Strategy.round_robin, now, zone, counter=start + i)
        for i in range(len(available))
    ]
    assert sorted(m.id for m in shown if m is not None) == sorted(m.id for m in available)


def test_weighted_draws_follow_the_weights() -> None:
    members = [
        PoolMember(id=1, weight=1, threshold=None),
        PoolMember(id=2, weight=3, threshold=None),
        PoolMember(id=3, weight=6, threshold=None),
    ]
    rng = random.Random(20250602)
    draws = Counter(
        chosen.id
        for _ in range(20_000)
        if (chosen := choose(members, Strategy.weighted, MONDAY_10, SHANGHAI, rng=rng))
    )
    assert sum(draws.values()) == 20_000
    for member in members:
        share = draws[member.id] / 20_000
        assert share == pytest.approx(member.weight / 10, abs=0.02)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=2, max_size=5), st.integers(0, 2**32))
def test_weighted_shares_are_roughly_proportional_for_any_weights(
    weights: list[int], seed: int
) -> None:
    members = [PoolMember(id=i + 1, weight=w, threshold=None) for i, w in enumerate(weights)]
    rng = random.Random(seed)
    n = 4000
    draws = Counter(
        m.id
        for _ in range(n)
        if (m := choose(members, Strategy.weighted, MONDAY_10, SHANGHAI, rng=rng))
    )
    total = sum(weights)
    for member in members:
        expected = n * member.weight / total
        # Five standard deviations of a binomial count: fails by chance ~1e-6 per member.
        spread = 5 * (n * (member.weight / total) * (1 - member.weight / total)) ** 0.5
        assert abs(draws[member.id] - expected) <= spread + 1


def test_in_order_moves_on_at_the_threshold_expiry_and_switch_off() -> None:
    first = PoolMember(id=1, position=0, threshold=2, scans=1)
    second = PoolMember(id=2, position=1, threshold=2)
    assert choose([first, second], Strategy.in_order, MONDAY_10, SHANGHAI) == first
    # The visitor in hand (one scan not yet stored) fills the first group.
    assert (
        choose([first, second], Strategy.in_order, MONDAY_10, SHANGHAI, extra_scans={1: 1})
        == second
    )
    expired = PoolMember(id=1, expires_at=MONDAY_10)
    assert choose([expired, second], Strategy.in_order, MONDAY_10, SHANGHAI) == second
    off = PoolMember(id=1, enabled=False)
    assert choose([off, second], Strategy.in_order, MONDAY_10, SHANGHAI) == second


def test_a_returning_visitor_ignores_the_threshold_only() -> None:
    full = PoolMember(id=1, threshold=3, scans=3)
    assert not is_available(full, MONDAY_10, SHANGHAI)
    assert is_available(full, MONDAY_10, SHANGHAI, ignore_threshold=True)
    gone = PoolMember(id=1, enabled=False)
    assert not is_available(gone, MONDAY_10, SHANGHAI, ignore_threshold=True)


# --- hours ---------------------------------------------------------------------------


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI)


def test_working_hours_on_weekdays() -> None:
    office = Schedule.parse({"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"})
    assert office is not None
    assert office.contains(local(2025, 6, 2, 9, 0))  # Monday 09:00, the start is inside
    assert office.contains(local(2025, 6, 2, 17, 59))
    assert not office.contains(local(2025, 6, 2, 18, 0))  # the end is outside
    assert not office.contains(local(2025, 6, 7, 10, 0))  # Saturday


def test_hours_spanning_midnight_belong_to_the_day_they_start() -> None:
    night = Schedule.parse({"days": [5], "start": "22:00", "end": "02:00"})
    assert night is not None
    assert night.contains(local(2025, 6, 6, 23, 0))  # Friday night
    assert night.contains(local(2025, 6, 7, 1, 30))  # Saturday small hours
    assert not night.contains(local(2025, 6, 7, 23, 0))  # Saturday night
    assert not night.contains(local(2025, 6, 6, 1, 30))  # Friday small hours (Thursday's)


def test_schedule_round_trips_and_always_is_none() -> None:
    data = {"days": [1, 3], "start": "22:30", "end": "06:00"}
    parsed = Schedule.parse(data)
    assert parsed is not None
    assert parsed.to_dict() == data
    assert Schedule.parse({}) is None
    assert Schedule.parse({"start": "00:00", "end": "24:00"}) is None
    assert Schedule.parse({"days": [1, 2, 3, 4, 5, 6, 7]}) is None


@pytest.mark.parametrize(
    "data",
    [
        {"start": "25:00"},
        {"end": "9"},
        {"start": "24:00"},
        {"days": [0]},
        {"days": [8]},
        {"days": "1"},
        {"days": [True]},
        {"hours": 1},
        {"end": "12:60"},
    ],
)
def test_bad_hours_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(DomainError) as caught:
        Schedule.parse(data)
    assert caught.value.code == "livecode.invalid_hours"


def test_no_days_at_all_is_refused() -> None:
    with pytest.raises(DomainError) as caught:
        Schedule.parse({"days": []})
    assert caught.value.code == "livecode.hours_no_days"


def test_next_working_time_of_a_staff_pool() -> None:
    alice = PoolMember(
        id=1,
        threshold=None,
        working_hours=Schedule.parse({"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"}),
    )
    bob = PoolMember(
        id=2,
        threshold=None,
        working_hours=Schedule.parse({"days": [6], "start": "10:00", "end": "12:00"}),
    )
    friday_night = local(2025, 6, 6, 20, 0).astimezone(UTC)
    assert choose([alice, bob], Strategy.weighted, friday_night, SHANGHAI) is None
    assert next_available_at([alice, bob], friday_night, SHANGHAI) == local(2025, 6, 7, 10, 0)
    saturday_noon = local(2025, 6, 7, 12, 0).astimezone(UTC)
    assert next_available_at([alice, bob], saturday_noon, SHANGHAI) == local(2025, 6, 9, 9, 0)
    monday_ten = local(2025, 6, 9, 10, 0).astimezone(UTC)
    assert next_available_at([alice, bob], monday_ten, SHANGHAI) == local(2025, 6, 9, 10, 0)


def test_next_time_respects_the_code_hours_expiry_and_full_members() -> None:
    hours = Schedule.parse({"days": [2], "start": "14:00", "end": "16:00"})
    member = PoolMember(
        id=1, threshold=None, working_hours=Schedule.parse({"start": "15:00", "end": "20:00"})
    )
    # Monday 10:00: the member works daily from 15:00, the code opens Tuesday 14:00.
    assert next_available_at([member], MONDAY_10, SHANGHAI, active_hours=hours) == local(
        2025, 6, 3, 15, 0
    )
    expiring = PoolMember(id=1, threshold=None, expires_at=local(2025, 6, 3, 13, 59))
    assert next_available_at([expiring], MONDAY_10, SHANGHAI, active_hours=hours) is None
    full = PoolMember(id=1, threshold=5, scans=5)
    assert next_available_at([full], MONDAY_10, SHANGHAI) is None
    full_group = PoolMember(id=1, threshold=None, full=True)
    assert next_available_at([full_group], MONDAY_10, SHANGHAI) is None
    assert next_available_at([], MONDAY_10, SHANGHAI) is None


fixed_zones = st.sampled_from([SHANGHAI, ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata")])


@settings(max_examples=500, deadline=None)
@given(pools(), moments, fixed_zones, schedules)
def test_next_available_time_is_really_available(
    members: list[PoolMember], now: datetime, zone: ZoneInfo, active: Schedule | None
) -> None:
    # Zones without daylight saving: a wall-clock window start always exists there.
    found = next_available_at(members, now, zone, active_hours=active)
    if choose(members, Strategy.in_order, now, zone, active_hours=active) is not None:
        assert found == now
        return
    if found is None:
        return
    assert found > now
    assert choose(members, Strategy.in_order, found, zone, active_hours=active) is not None
    just_before = found - timedelta(seconds=1)
    if just_before > now:
        assert choose(members, Strategy.in_order, just_before, zone, active_hours=active) is None
