"""One load per key at a time, however many requests wait for it.

Without it, every request that arrives while a popular cache entry is being refreshed
reads the database itself: a stampede each time the entry expires.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._tasks: dict[K, asyncio.Task[V]] = {}

    async def do(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        task = self._tasks.get(key)
        if task is None:

            async def run() -> V:
                return await load()

            task = asyncio.get_running_loop().create_task(run())
            self._tasks[key] = task
            task.add_done_callback(lambda _: self._tasks.pop(key, None))
        # Shielded: a visitor who hangs up must not cancel the load others wait for.
        return await asyncio.shield(task)
