"""The seam between Qunyun and one platform connection."""

from __future__ import annotations

from typing import Protocol

from qunyun.platforms.actions import Action, ActionResult


class PlatformClient(Protocol):
    """Carries actions to one connection's platform (OneBot, Telegram, a webhook)."""

    async def perform(self, action: Action) -> ActionResult:
        """Do ``action``; never raise for platform or network errors, report them."""
        ...

    async def aclose(self) -> None: ...
