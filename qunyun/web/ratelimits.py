"""Turning a rate-limit verdict into a refusal."""

from __future__ import annotations

from qunyun.errors import DomainError
from qunyun.ratelimit import Rate
from qunyun.web.context import AppContext


def enforce(ctx: AppContext, key: str, rate_text: str) -> None:
    verdict = ctx.limiter.hit(key, Rate.parse(rate_text))
    if not verdict.allowed:
        raise DomainError("rate_limited", status=429, retry_after=verdict.retry_after)
