"""The stream's consumers (each a follower with its own cursor), started with the app."""

from __future__ import annotations

from qunyun.entry import runtime as entry_runtime
from qunyun.moderation import runtime as moderation_runtime
from qunyun.stream.follower import StreamFollower
from qunyun.web.context import AppContext

_KEY = "stream_followers"


def followers(ctx: AppContext) -> list[StreamFollower]:
    """Built once per context: moderation judges messages, entry control admits people."""
    built: list[StreamFollower] | None = ctx.extras.get(_KEY)
    if built is None:
        built = [moderation_runtime.follower(ctx), entry_runtime.follower(ctx)]
        for follower in built:
            follower.listen(ctx.dispatcher)
        ctx.extras[_KEY] = built
    return built


async def start(ctx: AppContext) -> None:
    for follower in followers(ctx):
        await follower.start()


async def stop(ctx: AppContext) -> None:
    for follower in reversed(followers(ctx)):
        await follower.stop()
