"""The per-worker link cache: TTL, bounds, and invalidation across workers via Redis."""

from __future__ import annotations

import time

from qunyun.links.cache import LinkCache
from qunyun.links.snapshot import LinkSnapshot, LinkState


def snap(slug: str = "a", **kw: object) -> LinkSnapshot:
    values: dict[str, object] = {
        "id": 1,
        "community_id": 1,
        "slug": slug,
        "location": "https://e.com/",
        "redirect_status": 302,
        "enabled": True,
        "deleted": False,
        "expires_at": None,
        "max_visits": None,
        "human_visits": 0,
        "password_hash": None,
        "title": None,
    }
    values.update(kw)
    return LinkSnapshot(**values)  # type: ignore[arg-type]


def test_entries_expire_after_the_ttl() -> None:
    now = [0.0]
    cache = LinkCache(ttl=2.0, clock=lambda: now[0])
    cache.put("a", snap())
    now[0] = 1.9
    assert cache.get("a") is not None
    now[0] = 2.1
    assert cache.get("a") is None


def test_zero_ttl_disables_caching() -> None:
    cache = LinkCache(ttl=0)
    cache.put("a", snap())
    assert cache.get("a") is None


def test_cache_is_bounded() -> None:
    cache = LinkCache(ttl=60, max_entries=100)
    for i in range(1000):
        cache.put(str(i), snap(str(i)))
    assert len(cache) <= 100
    assert cache.get("999") is not None


def test_snapshot_states() -> None:
    assert snap().state(0) is LinkState.ok
    assert snap(deleted=True).state(0) is LinkState.unknown
    assert snap(enabled=False).state(0) is LinkState.disabled
    assert snap(expires_at=10.0).state(10.0) is LinkState.expired
    assert snap(expires_at=10.0).state(9.9) is LinkState.ok
    assert snap(max_visits=2, human_visits=2).state(0) is LinkState.used_up


def test_invalidation_reaches_other_workers_through_redis(redis_url: str) -> None:
    here, there = LinkCache(ttl=60), LinkCache(ttl=60)
    here.connect_redis(redis_url)
    there.connect_redis(redis_url)
    try:
        there.put("shared", snap("shared"))
        here.put("shared", snap("shared"))
        here.invalidate(["shared"])
        assert here.get("shared") is None
        deadline = time.monotonic() + 5
        while there.get("shared") is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert there.get("shared") is None
    finally:
        here.close()
        there.close()


def test_a_load_that_straddles_a_drop_is_not_stored() -> None:
    cache = LinkCache(ttl=60)
    generation = cache.generation  # a worker starts reading the database
    cache.invalidate(["a"])  # meanwhile the link changes
    cache.put("a", snap(), generation)  # the read returns the old version
    assert cache.get("a") is None
    cache.put("a", snap(), cache.generation)
    assert cache.get("a") is not None
