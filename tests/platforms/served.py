"""Helpers for the platform peers (OneBot, Telegram, webhook): ASGI apps served on
loopback by uvicorn in a thread, connections made in the database, and what got stored."""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import uvicorn
from sqlalchemy import select
from starlette.types import ASGIApp

from qunyun.db.engine import Database
from qunyun.links.redirect import RedirectFront
from qunyun.platforms.models import PlatformConnection
from qunyun.stream.models import StreamRecord
from qunyun.web.context import AppContext

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], what: str, seconds: float = 15) -> None:
    """Poll ``check`` until it holds (a deadline against hanging, not a timing claim)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


@dataclass
class Served:
    url: str
    loop: asyncio.AbstractEventLoop
    app: ASGIApp

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        """Run ``coroutine`` on the server's own event loop and wait for it."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    @property
    def ctx(self) -> AppContext:
        assert isinstance(self.app, RedirectFront)
        ctx = self.app.ctx
        assert ctx is not None
        return ctx


@contextmanager
def serve(app: ASGIApp) -> Iterator[Served]:
    """Serve ``app`` on a free loopback port in a thread with its own loop."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the server to start")
    try:
        yield Served(f"http://127.0.0.1:{port}", loop, app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        loop.close()


@dataclass(frozen=True)
class Conn:
    id: int
    key: str
    secret: str | None
    token: str | None


def add_connection(
    db: Database,
    platform: str,
    *,
    secret: str | None = None,
    token: str | None = None,
    api_url: str | None = None,
    enabled: bool = True,
) -> Conn:
    with db.transaction() as session:
        conn = PlatformConnection(
            community_id=1,
            platform=platform,
            name=f"{platform} 测试连接",
            key=secrets.token_urlsafe(16),
            inbound_secret=secret,
            access_token=token,
            api_url=api_url,
            enabled=enabled,
        )
        session.add(conn)
        session.flush()
        return Conn(conn.id, conn.key, secret, token)


def counters(db: Database, connection_id: int) -> dict[str, Any]:
    with db.session() as session:
        conn = session.get(PlatformConnection, connection_id)
        assert conn is not None
        return {
            "received": conn.received_count,
            "unknown": conn.unknown_count,
            "rejected": conn.rejected_count,
            "last_seen_at": conn.last_seen_at,
        }


def stored(db: Database) -> list[StreamRecord]:
    with db.session() as session:
        rows = list(session.scalars(select(StreamRecord).order_by(StreamRecord.id)))
        session.expunge_all()
        return rows
