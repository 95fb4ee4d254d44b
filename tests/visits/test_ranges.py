"""Range validation and top-N roll-up: pure functions, checked by example and by property."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qunyun.errors import DomainError
from qunyun.visits.stats import (
    MAX_DATE,
    MAX_DAYS,
    MAX_HOUR_DAYS,
    MIN_DATE,
    REST_KEY,
    Granularity,
    resolve_range,
    top_shares,
)

TODAY = date(2024, 6, 30)


def code_of(**kwargs: object) -> str:
    with pytest.raises(DomainError) as info:
        resolve_range(TODAY, **kwargs)  # type: ignore[arg-type]
    assert info.value.status == 400
    return info.value.code


def test_default_is_the_last_30_days_by_day():
    rng = resolve_range(TODAY)
    assert (rng.start, rng.end, rng.granularity, rng.days) == (
        date(2024, 6, 1),
        TODAY,
        Granularity.day,
        30,
    )


def test_hourly_default_is_a_week():
    rng = resolve_range(TODAY, granularity=Granularity.hour)
    assert (rng.start, rng.days) == (date(2024, 6, 24), 7)


def test_days_counts_back_from_end():
    rng = resolve_range(TODAY, end=date(2024, 1, 10), days=10)
    assert (rng.start, rng.end) == (date(2024, 1, 1), date(2024, 1, 10))


def test_errors_have_their_own_codes():
    assert code_of(start=date(2024, 6, 2), end=date(2024, 6, 1)) == "stats.range_reversed"
    assert code_of(start=date(2023, 1, 1), end=date(2024, 1, 2)) == "stats.range_too_long"
    assert code_of(days=MAX_DAYS + 1) == "stats.range_too_long"
    assert (
        code_of(start=date(2024, 6, 1), end=date(2024, 6, 15), granularity=Granularity.hour)
        == "stats.hour_range_too_long"
    )
    assert code_of(start=date(1, 1, 1)) == "stats.date_out_of_range"
    assert code_of(end=date(9999, 12, 31)) == "stats.date_out_of_range"


def test_the_limits_themselves_are_allowed():
    assert resolve_range(TODAY, days=MAX_DAYS).days == MAX_DAYS
    hourly = resolve_range(TODAY, days=MAX_HOUR_DAYS, granularity=Granularity.hour)
    assert hourly.days == MAX_HOUR_DAYS


@given(
    start=st.dates(min_value=MIN_DATE, max_value=MAX_DATE),
    span=st.integers(min_value=-5, max_value=400),
    hourly=st.booleans(),
)
def test_accepts_exactly_the_valid_ranges(start: date, span: int, hourly: bool):
    granularity = Granularity.hour if hourly else Granularity.day
    try:
        end = start + timedelta(days=span)
    except OverflowError:
        return
    limit = MAX_HOUR_DAYS if hourly else MAX_DAYS
    valid = 0 <= span < limit and end <= MAX_DATE
    try:
        rng = resolve_range(TODAY, start, end, granularity=granularity)
    except DomainError:
        assert not valid
    else:
        assert valid
        assert rng.days == span + 1


def test_top_shares_ranks_people_before_bots_and_rolls_up_the_rest():
    counts = {"a": [1, 50], "b": [5, 0], "c": [5, 1], "d": [0, 9]}
    result = top_shares(counts, 2)
    assert [(s.key, s.people, s.bots) for s in result] == [
        ("c", 5, 1),
        ("b", 5, 0),
        (REST_KEY, 1, 59),
    ]


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=5),
        st.lists(st.integers(min_value=0, max_value=1000), min_size=2, max_size=2),
        max_size=30,
    ),
    st.integers(min_value=1, max_value=12),
)
def test_top_shares_keeps_every_visit(counts: dict[str, list[int]], top: int):
    result = top_shares(counts, top)
    assert sum(s.people for s in result) == sum(p for p, _ in counts.values())
    assert sum(s.bots for s in result) == sum(b for _, b in counts.values())
    assert len(result) == (len(counts) if len(counts) <= top else top + 1)
