"""Rate limits with one interface and two stores: in-process memory or Redis.

A fixed window per key (``"10/minute"`` → 10 hits per 60-second window). Memory limits
are per worker process; with ``QUNYUN_REDIS_URL`` set they are shared by every worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True, slots=True)
class Rate:
    limit: int
    window: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        count, _, unit = text.partition("/")
        unit = unit.strip().rstrip("s")
        if unit not in _UNITS or not count.strip().isdigit() or int(count) < 1:
            raise ValueError(f"rate must look like '10/minute', got {text!r}")
        return cls(int(count), _UNITS[unit])


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: int


class RateLimiter(Protocol):
    def hit(self, key: str, rate: Rate) -> Verdict: ...

    def reset(self, key: str, rate: Rate) -> None: ...


class MemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.time, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, rate: Rate) -> Verdict:
        now = self._clock()
        window = int(now // rate.window)
        retry_after = max(1, int((window + 1) * rate.window - now))
        with self._lock:
            if len(self._counts) >= self._max_keys:
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
        return Verdict(count <= rate.limit, 0 if count <= rate.limit else retry_after)

    def reset(self, key: str, rate: Rate) -> None:
        window = int(self._clock() // rate.window)
        with self._lock:
            self._counts.pop((key, window), None)


class RedisRateLimiter:
    def __init__(self, client: redis.Redis, prefix: str = "qunyun:rl:") -> None:
        self._client = client
        self._prefix = prefix

    def _key(self, key: str, rate: Rate, now: float) -> str:
        return f"{self._prefix}{rate.window}:{int(now // rate.window)}:{key}"

    def hit(self, key: str, rate: Rate) -> Verdict:
        now = time.time()
        rkey = self._key(key, rate, now)
        pipe = self._client.pipeline()
        pipe.incr(rkey)
        pipe.expire(rkey, rate.window + 1)
        count = int(pipe.execute()[0])
        if count <= rate.limit:
            return Verdict(True, 0)
        return Verdict(False, max(1, int((int(now // rate.window) + 1) * rate.window - now)))

    def reset(self, key: str, rate: Rate) -> None:
        self._client.delete(self._key(key, rate, time.time()))
