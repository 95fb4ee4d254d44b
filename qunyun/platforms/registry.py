"""One platform client per connection, built on first use and closed at shutdown.

Each platform package provides ``qunyun.platforms.<platform>.client.build_client``;
it is imported only when a connection of that platform first needs it. Manual
connections have no client: their actions are to-dos for people. A connection whose
address or credentials changed gets a fresh client; the old one is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import inspect

from qunyun.platforms.base import PlatformClient
from qunyun.platforms.models import PlatformConnection

if TYPE_CHECKING:
    from qunyun.web.context import AppContext

log = logging.getLogger("qunyun.platforms.registry")

EXTRAS_KEY = "platform_clients"
# Tests (and embedders) may put a factory here to stand in for the platform packages.
FACTORY_KEY = "platform_client_factory"
NO_CLIENT_PLATFORMS = frozenset({"manual"})

ClientFactory = Callable[[PlatformConnection, "AppContext"], PlatformClient | None]


@dataclass
class ClientCache:
    clients: dict[int, tuple[tuple[object, ...], PlatformClient]] = field(default_factory=dict)
    retired: list[PlatformClient] = field(default_factory=list)
    closing: set[asyncio.Task[None]] = field(default_factory=set)


def _cache(ctx: AppContext) -> ClientCache:
    cache = ctx.extras.get(EXTRAS_KEY)
    if not isinstance(cache, ClientCache):
        cache = ClientCache()
        ctx.extras[EXTRAS_KEY] = cache
    return cache


def _fingerprint(connection: PlatformConnection) -> tuple[object, ...]:
    return (
        connection.platform,
        connection.api_url,
        connection.access_token,
        connection.inbound_secret,
        connection.self_id,
    )


def snapshot(connection: PlatformConnection) -> PlatformConnection:
    """A copy tied to no session, safe to keep in a long-lived client."""
    columns = {c.key: getattr(connection, c.key) for c in inspect(PlatformConnection).column_attrs}
    return PlatformConnection(**columns)


def build_client(connection: PlatformConnection, ctx: AppContext) -> PlatformClient | None:
    """A new client from the platform's package (or the test factory); None for manual."""
    factory = ctx.extras.get(FACTORY_KEY)
    if factory is not None:
        return factory(connection, ctx)  # type: ignore[no-any-return]
    if connection.platform in NO_CLIENT_PLATFORMS:
        return None
    module = importlib.import_module(f"qunyun.platforms.{connection.platform}.client")
    client: PlatformClient = module.build_client(connection, ctx)
    return client


def client_for(connection: PlatformConnection, ctx: AppContext) -> PlatformClient | None:
    """The connection's cached client (built on first use); None for manual ones.

    Raises ImportError when the platform's package is missing.
    """
    if connection.platform in NO_CLIENT_PLATFORMS and FACTORY_KEY not in ctx.extras:
        return None
    cache = _cache(ctx)
    fingerprint = _fingerprint(connection)
    cached = cache.clients.get(connection.id)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    client = build_client(snapshot(connection), ctx)
    if cached is not None:
        _retire(cache, cached[1])
    if client is None:
        cache.clients.pop(connection.id, None)
        return None
    cache.clients[connection.id] = (fingerprint, client)
    return client


def forget(ctx: AppContext, connection_id: int) -> None:
    """Drop (and close) a deleted connection's client."""
    cached = _cache(ctx).clients.pop(connection_id, None)
    if cached is not None:
        _retire(_cache(ctx), cached[1])


def _retire(cache: ClientCache, client: PlatformClient) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        cache.retired.append(client)
        return
    task = loop.create_task(_close(client))
    cache.closing.add(task)
    task.add_done_callback(cache.closing.discard)


async def _close(client: PlatformClient) -> None:
    try:
        await client.aclose()
    except Exception:  # closing must never take the caller down
        log.exception("closing a platform client failed")


async def close_all(ctx: AppContext) -> None:
    cache = _cache(ctx)
    clients = [client for _, client in cache.clients.values()] + cache.retired
    cache.clients.clear()
    cache.retired.clear()
    for client in clients:
        await _close(client)


async def start(ctx: AppContext) -> None:
    """Called from the application's lifespan: starts the outbox's delivery task."""
    from qunyun.platforms.outbox import install

    _cache(ctx)
    await install(ctx).start()


async def stop(ctx: AppContext) -> None:
    """Stops the delivery task, then closes every client."""
    from qunyun.platforms.outbox import outbox_of

    worker = outbox_of(ctx)
    if worker is not None:
        await worker.stop()
    with contextlib.suppress(Exception):
        await close_all(ctx)
