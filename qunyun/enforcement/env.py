"""What carrying out a decision needs from the running application: the public base
URL (appeal links), the default language of notices, and the outbox's wake-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qunyun.i18n import normalise_language
from qunyun.platforms.outbox import waker
from qunyun.settings import Settings

if TYPE_CHECKING:
    from qunyun.web.context import AppContext


@dataclass(frozen=True)
class EnforcementEnv:
    base_url: str
    language: str = "zh-CN"
    # Called after the caller commits, so the outbox delivers at once.
    wake: Callable[[], None] | None = None
    # Images fetched for the QR check: at most this many bytes each, and from private
    # addresses only when the operator allows it (settings media_*).
    media_max_bytes: int = 8 * 1024 * 1024
    media_allow_private: bool = False

    @classmethod
    def of(cls, ctx: AppContext) -> EnforcementEnv:
        def wake() -> None:
            # Looked up on use: the outbox worker may be installed after this was built.
            found = waker(ctx)
            if found is not None:
                found()

        return cls(
            base_url=ctx.settings.base_url.rstrip("/"),
            language=normalise_language(ctx.settings.language),
            wake=wake,
            media_max_bytes=ctx.settings.media_max_bytes,
            media_allow_private=ctx.settings.media_allow_private,
        )

    @classmethod
    def of_settings(cls, settings: Settings) -> EnforcementEnv:
        """Outside the running application (the command line): nothing to wake."""
        return cls(
            base_url=settings.base_url.rstrip("/"),
            language=normalise_language(settings.language),
            media_max_bytes=settings.media_max_bytes,
            media_allow_private=settings.media_allow_private,
        )

    def appeal_url(self, token: str) -> str:
        return f"{self.base_url}/appeal/{token}"
