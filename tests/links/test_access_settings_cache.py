"""Emptying the whole link cache when a community's defaults change."""

from __future__ import annotations

import time

from qunyun.links.cache import LinkCache
from tests.links.test_cache import snap


def test_invalidate_all_empties_the_cache_without_redis() -> None:
    cache = LinkCache(ttl=60)
    for key in ("a1", "b2", "c3"):
        cache.put(key, snap(key))
    cache.invalidate_all()
    assert len(cache) == 0
    cache.put("a1", snap("a1"))
    assert cache.get("a1") is not None  # still usable


def test_invalidate_all_reaches_other_workers_through_redis(redis_url: str) -> None:
    here, there = LinkCache(ttl=60), LinkCache(ttl=60)
    here.connect_redis(redis_url)
    there.connect_redis(redis_url)
    try:
        for cache in (here, there):
            cache.put("one", snap("one"))
            cache.put("two", snap("two"))
        here.invalidate_all()
        assert len(here) == 0
        deadline = time.monotonic() + 5
        while len(there) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(there) == 0
        # Ordinary invalidations still drop only what they name.
        there.put("kept", snap("kept"))
        there.put("gone", snap("gone"))
        here.invalidate(["gone"])
        deadline = time.monotonic() + 5
        while there.get("gone") is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert there.get("gone") is None
        assert there.get("kept") is not None
    finally:
        here.close()
        there.close()
