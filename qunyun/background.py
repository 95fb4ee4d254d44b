"""A background task on the event loop that sleeps until woken or until its next
check is due: what the outbox and the live-code alerts share."""

from __future__ import annotations

import asyncio
import contextlib


class WakeableTask:
    """Runs :meth:`_run` as a task between :meth:`start` and :meth:`stop`.

    :meth:`wake` (from the loop) or :meth:`wake_threadsafe` (from any thread, e.g. a
    request's commit) cuts the current :meth:`wait` short; :meth:`stopping` tells
    :meth:`_run` to return.
    """

    task_name = "qunyun-background"
    # How long stop() waits for _run to return before cancelling it (None: for ever).
    stop_timeout: float | None = None

    def __init__(self) -> None:
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._task is not None

    async def start(self) -> None:
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping = True
        self.wake()
        task, self._task = self._task, None
        if self.stop_timeout is None:
            await task
            return
        try:
            await asyncio.wait_for(task, timeout=self.stop_timeout)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """From the event loop."""
        if self._wake is not None:
            self._wake.set()

    def wake_threadsafe(self) -> None:
        """From any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.wake)

    def stopping(self) -> bool:
        return self._stopping

    async def wait(self, timeout: float) -> None:
        """Until woken or ``timeout`` seconds have passed (the wake-up stays set)."""
        assert self._wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    def clear_wake(self) -> None:
        if self._wake is not None:
            self._wake.clear()

    async def _run(self) -> None:
        raise NotImplementedError
