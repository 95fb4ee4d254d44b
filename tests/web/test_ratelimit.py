"""Fixed-window rate limits, in memory and in Redis."""

from __future__ import annotations

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st

from qunyun.ratelimit import MemoryRateLimiter, Rate, RedisRateLimiter


@pytest.mark.parametrize(
    ("text", "rate"),
    [("10/minute", Rate(10, 60)), ("5/second", Rate(5, 1)), ("100/hours", Rate(100, 3600))],
)
def test_parse(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "10", "x/minute", "0/minute", "10/fortnight", "-1/second"])
def test_parse_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="rate must look like"):
        Rate.parse(text)


@given(st.integers(1, 50), st.integers(0, 120))
def test_memory_limiter_allows_exactly_the_limit_per_window(limit: int, extra: int) -> None:
    now = [1000.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    rate = Rate(limit, 60)
    verdicts = [limiter.hit("k", rate) for _ in range(limit + extra)]
    assert sum(v.allowed for v in verdicts) == limit
    assert all(1 <= v.retry_after <= 60 for v in verdicts if not v.allowed)
    now[0] += 60
    assert limiter.hit("k", rate).allowed
    assert limiter.hit("other", rate).allowed


def test_redis_limiter_is_shared_between_instances(redis_url: str) -> None:
    a = RedisRateLimiter(redis.Redis.from_url(redis_url), prefix="t:")
    b = RedisRateLimiter(redis.Redis.from_url(redis_url), prefix="t:")
    # A day-long window: the test never straddles two windows in practice.
    rate = Rate(3, 86400)
    allowed = [
        a.hit("login:x", rate).allowed,
        b.hit("login:x", rate).allowed,
        a.hit("login:x", rate).allowed,
    ]
    assert allowed == [True, True, True]
    refused = b.hit("login:x", rate)
    assert refused.allowed is False
    assert 1 <= refused.retry_after <= 86400
    a.reset("login:x", rate)
    assert b.hit("login:x", rate).allowed
