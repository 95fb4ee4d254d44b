"""Wiring of the live codes into the running application (called from ``app.py``)."""

from __future__ import annotations

from qunyun.livecodes.alerts import AlertWorker, worker_of
from qunyun.livecodes.landing import LiveCodeLanding
from qunyun.web.context import AppContext


def install(ctx: AppContext) -> None:
    """The landing the redirect front calls, and the alert task (not started yet)."""
    landing = LiveCodeLanding(ctx.settings)
    worker = AlertWorker(ctx.db, ctx.settings, landing.cache.take_fallbacks)
    landing.on_fallback = worker.wake
    ctx.extras["live_code_landing"] = landing
    ctx.extras["live_code_alerts"] = worker


async def start(ctx: AppContext) -> None:
    worker = worker_of(ctx)
    if worker is not None:
        await worker.start()


async def stop(ctx: AppContext) -> None:
    worker = worker_of(ctx)
    if worker is not None:
        await worker.stop()
