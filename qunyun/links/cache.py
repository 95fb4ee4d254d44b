"""Per-worker cache of link snapshots for the redirect.

Entries live ``ttl`` seconds; the worker that changes a link drops it at once (after
commit) and, with Redis configured, tells every other worker to drop it too. Without
Redis another worker may serve the old version for at most ``ttl`` seconds. Missing
links are never cached, so a link is resolvable the moment its creation commits.
A change that every link may follow (a community's defaults) empties the whole cache
the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import redis

from qunyun.links.snapshot import LinkSnapshot

log = logging.getLogger("qunyun.links.cache")
INVALIDATE_CHANNEL = "qunyun:links:invalidate"
# Sent on the channel instead of slug keys: empty the whole cache. No slug key is "*".
INVALIDATE_ALL = "*"


class LinkCache:
    def __init__(
        self,
        ttl: float,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, LinkSnapshot]] = {}
        # Bumped by every drop: a snapshot read from the database before a drop must
        # not be stored after it (it may be the version the drop was for).
        self.generation = 0
        self._publisher: redis.Redis | None = None
        self._subscriber: redis.Redis | None = None
        self._listener: threading.Thread | None = None
        self._pubsub: redis.client.PubSub | None = None

    def get(self, key: str) -> LinkSnapshot | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() - entry[0] > self.ttl:
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: str, snapshot: LinkSnapshot, generation: int | None = None) -> None:
        """Store ``snapshot``; with ``generation`` (read before loading it), only if no
        drop happened since."""
        if self.ttl <= 0 or (generation is not None and generation != self.generation):
            return
        if len(self._entries) >= self.max_entries:
            # Drop the oldest tenth: dicts keep insertion order.
            for old in list(self._entries)[: max(1, self.max_entries // 10)]:
                self._entries.pop(old, None)
        self._entries[key] = (self._clock(), snapshot)

    def drop(self, keys: Iterable[str]) -> None:
        self.generation += 1
        for key in keys:
            self._entries.pop(key, None)

    def invalidate(self, keys: Iterable[str]) -> None:
        """Drop here and, when Redis is configured, in every other worker."""
        keys = list(keys)
        self.drop(keys)
        if self._publisher is not None and keys:
            try:
                self._publisher.publish(INVALIDATE_CHANNEL, "\n".join(keys))
            except redis.RedisError:
                log.warning("could not publish link invalidation; other workers wait for the TTL")

    def invalidate_all(self) -> None:
        """Empty the cache here and, when Redis is configured, in every other worker."""
        self.clear()
        if self._publisher is not None:
            try:
                self._publisher.publish(INVALIDATE_CHANNEL, INVALIDATE_ALL)
            except redis.RedisError:
                log.warning("could not publish link invalidation; other workers wait for the TTL")

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    # --- Redis fan-out -------------------------------------------------------------

    def connect_redis(self, url: str) -> None:
        self._publisher = redis.Redis.from_url(url)
        # A blocking subscriber needs no socket timeout, or redis-py retries forever.
        # Keep the client referenced: when it is collected it closes its connections,
        # the subscription's included.
        self._subscriber = redis.Redis.from_url(url, socket_timeout=None)
        self._pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self._pubsub.subscribe(INVALIDATE_CHANNEL)
        self._listener = threading.Thread(
            target=self._listen, name="link-cache-invalidation", daemon=True
        )
        self._listener.start()

    def _listen(self) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return
        try:
            for message in pubsub.listen():  # type: ignore[no-untyped-call]
                data = message.get("data")
                if isinstance(data, bytes):
                    keys = data.decode("utf-8").split("\n")
                    if INVALIDATE_ALL in keys:
                        self.clear()
                    else:
                        self.drop(keys)
        except (redis.RedisError, ValueError, AttributeError):
            log.warning("link invalidation listener stopped; falling back to the TTL")
            self.clear()

    def close(self) -> None:
        if self._pubsub is not None:
            try:
                self._pubsub.unsubscribe()  # type: ignore[no-untyped-call]
                self._pubsub.close()
            except redis.RedisError:
                pass
        if self._publisher is not None:
            self._publisher.close()


def remote_invalidator(redis_url: str | None) -> Callable[[Sequence[str]], None]:
    """For processes without a link cache (the command line): tell running servers to
    drop changed links at once; without Redis they see the change within the TTL."""
    if not redis_url:
        return lambda keys: None
    url = redis_url

    def publish(keys: Sequence[str]) -> None:
        client = redis.Redis.from_url(url)
        try:
            client.publish(INVALIDATE_CHANNEL, "\n".join(keys))
        except redis.RedisError:
            log.warning("could not reach Redis; servers see the change within the cache TTL")
        finally:
            client.close()

    return publish
