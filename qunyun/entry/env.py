"""What entry control needs from the running application, handed to its services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qunyun.platforms.outbox import waker
from qunyun.settings import Settings
from qunyun.web.context import AppContext


@dataclass(frozen=True)
class EntryEnv:
    """``base_url`` builds the links sent to members; ``language`` is the one they are
    written in (members have none of their own yet); ``wake`` starts the outbox."""

    base_url: str
    language: str
    secret_key: str
    wake: Callable[[], None] | None = None

    @classmethod
    def of(cls, ctx: AppContext) -> EntryEnv:
        def wake() -> None:
            # Looked up when needed: the outbox worker may start after this env is made.
            found = waker(ctx)
            if found is not None:
                found()

        return cls.from_settings(ctx.settings, wake)

    @classmethod
    def from_settings(cls, settings: Settings, wake: Callable[[], None] | None = None) -> EntryEnv:
        return cls(settings.base_url.rstrip("/"), settings.language, settings.secret_key, wake)
