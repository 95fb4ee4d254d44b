"""How the moderation wing follows the stream: every live message, join and nickname
change goes through the enforcement engine (qunyun/enforcement/engine.py), and every
minute the follower also does the engine's periodic work (nickname reminders and
actions that came due, quiet hours' whole-group mutes)."""

from __future__ import annotations

import logging
import time

from qunyun.enforcement.engine import KINDS, Enforcer
from qunyun.enforcement.env import EnforcementEnv
from qunyun.stream.follower import StreamFollower
from qunyun.web.context import AppContext

log = logging.getLogger("qunyun.enforcement")

EXTRAS_KEY = "moderation_enforcer"
SWEEP_SECONDS = 60.0


class ModerationFollower(StreamFollower):
    """A stream follower that also sweeps (the follower looks at the stream every few
    seconds even when idle, so the sweep needs no task of its own)."""

    def __init__(self, ctx: AppContext, enforcer: Enforcer) -> None:
        super().__init__(ctx.db, "moderation", enforcer.handle, kinds=KINDS)
        self.enforcer = enforcer
        self._next_sweep = time.monotonic() + SWEEP_SECONDS

    def run_once(self) -> int:
        self.prefetch()
        taken = super().run_once()
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_SECONDS
            self.sweep()
        return taken

    def prefetch(self) -> None:
        """Read the images of the records the next batch will take, before the batch
        takes the cursor (and, on SQLite, the write lock)."""
        try:
            with self.db.session(write=False) as session:
                self.enforcer.prefetch_images(session, self.peek(session))
        except Exception:
            log.exception("reading message images ahead failed; the batch reads them")

    def sweep(self) -> int:
        try:
            with self.db.session() as session:
                opened = self.enforcer.sweep(session)
                session.commit()
                return opened
        except Exception:
            log.exception("the enforcement sweep failed; trying again later")
            return 0


def enforcer_of(ctx: AppContext) -> Enforcer:
    """The process's enforcer (its books, matchers and flood state), built once."""
    found = ctx.extras.get(EXTRAS_KEY)
    if not isinstance(found, Enforcer):
        found = Enforcer(EnforcementEnv.of(ctx))
        ctx.extras[EXTRAS_KEY] = found
    return found


def follower(ctx: AppContext) -> ModerationFollower:
    return ModerationFollower(ctx, enforcer_of(ctx))
