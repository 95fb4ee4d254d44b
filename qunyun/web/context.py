"""What the running application holds: built once in the lifespan, reached via request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from qunyun.accounts.passwords import Passwords
from qunyun.db.engine import Database
from qunyun.ratelimit import RateLimiter
from qunyun.settings import Settings

if TYPE_CHECKING:
    from qunyun.links.cache import LinkCache
    from qunyun.platforms.ingress import StreamWriter
    from qunyun.stream.dispatcher import Dispatcher
    from qunyun.visits.recorder import VisitRecorder


@dataclass
class AppContext:
    settings: Settings
    db: Database
    passwords: Passwords
    limiter: RateLimiter
    link_cache: LinkCache
    recorder: VisitRecorder
    # The stream: consumers subscribe here; live deliveries are written through here.
    dispatcher: Dispatcher
    stream_writer: StreamWriter
    extras: dict[str, Any] = field(default_factory=dict)


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx
