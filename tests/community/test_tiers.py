"""Tiers by join order: bands, caps, and the stored form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qunyun.community.tiers import Band, TierScheme, format_spec, from_json, parse_spec, validate
from qunyun.errors import DomainError

ISSUE = validate([Band("founder", 10), Band("initiator", 50), Band("partner", 199)], None)


@pytest.mark.parametrize(
    ("order", "tier"),
    [
        (1, "founder"),
        (10, "founder"),
        (11, "initiator"),
        (50, "initiator"),
        (51, "partner"),
        (199, "partner"),
        (200, None),
        (0, None),
        (None, None),
    ],
)
def test_the_issues_example(order: int | None, tier: str | None) -> None:
    assert ISSUE.cap == 199
    assert ISSUE.tier_of(order) == tier


def test_open_last_band_without_cap_runs_forever() -> None:
    scheme = validate([Band("early", 3), Band("member")], None)
    assert scheme.tier_of(3) == "early"
    assert scheme.tier_of(1_000_000) == "member"
    assert scheme.range_of("member") == (4, None)


def test_cap_extends_the_last_band_and_closes_it() -> None:
    scheme = validate([Band("a", 10), Band("b", 20)], 30)
    assert scheme.tier_of(25) == "b"
    assert scheme.tier_of(31) is None
    assert scheme.range_of("b") == (11, 30)
    assert scheme.range_of("nope") is None


@pytest.mark.parametrize(
    ("bands", "cap", "code"),
    [
        ([Band("a", 10), Band("b", 10)], None, "tier.not_ascending"),
        ([Band("a", 10), Band("b", 5)], None, "tier.not_ascending"),
        ([Band("a", 0)], None, "tier.upto_range"),
        ([Band("a", -3)], None, "tier.upto_range"),
        ([Band("a"), Band("b", 5)], None, "tier.upto_required"),
        ([Band("a", 10), Band("a", 20)], None, "tier.duplicate_name"),
        ([Band(" ", 10)], None, "tier.invalid_name"),
        ([Band("a", 10), Band("b", 20)], 15, "tier.cap_below_band"),
        ([Band("a", 10), Band("b")], 10, "tier.cap_below_band"),
        ([], 10, "tier.cap_without_bands"),
        ([Band("a", 10)], 0, "tier.cap_range"),
    ],
)
def test_refused(bands: list[Band], cap: int | None, code: str) -> None:
    with pytest.raises(DomainError) as exc:
        validate(bands, cap)
    assert exc.value.code == code


def test_cap_equal_to_last_band_is_allowed() -> None:
    assert validate([Band("a", 10), Band("b", 20)], 20).tier_of(20) == "b"


def test_spec_round_trip_and_malformed_json() -> None:
    bands, cap = parse_spec("founder:10，initiator:50, partner @199")
    scheme = validate(bands, cap)
    assert scheme == ISSUE
    assert format_spec(scheme) == "founder:10,initiator:50,partner@199"
    assert from_json([{"name": "x", "upto": "ten"}]) == TierScheme()
    assert from_json({"name": "x"}) == TierScheme()
    assert from_json(None) == TierScheme()
    with pytest.raises(DomainError):
        parse_spec("a:x")


uptos = st.lists(st.integers(1, 10_000), min_size=1, max_size=8, unique=True).map(sorted)


@given(uptos, st.booleans(), st.integers(0, 20_000))
def test_tiers_follow_the_bands(ends: list[int], open_last: bool, order: int) -> None:
    bands = [Band(f"t{i}", upto) for i, upto in enumerate(ends)]
    if open_last:
        bands.append(Band("last"))
    scheme = validate(bands, None)
    tier = scheme.tier_of(order)
    if order < 1:
        assert tier is None
    elif order <= ends[-1] or open_last:
        assert tier is not None
        first, last = scheme.range_of(tier) or (0, 0)
        assert first <= order and (last is None or order <= last)
    else:
        assert tier is None
    # Stored and read back, the scheme assigns the same tiers.
    assert from_json(scheme.to_json()).tier_of(order) == tier


@given(uptos, st.integers(0, 5_000))
def test_a_cap_never_lets_anyone_above_it_in(ends: list[int], extra: int) -> None:
    cap = ends[-1] + extra
    scheme = validate([Band(f"t{i}", u) for i, u in enumerate(ends)], cap)
    assert scheme.tier_of(cap + 1) is None
    assert scheme.tier_of(cap) == f"t{len(ends) - 1}"
    assert from_json(scheme.to_json()) == scheme
