"""Per-worker state of the live-code landing: cached snapshots and what happened since.

Snapshots live ``ttl`` seconds (like the link cache); the worker that changes a code
drops it at once after commit, other workers see the change within ``ttl``.

Scan thresholds between flushes: the visit recorder writes scans to the database in
batches, so each worker also counts the scans it served since it loaded a code's
snapshot and adds them to the stored counts. When the snapshot is reloaded the local
count starts again from the stored value, which lacks the scans still waiting in the
recorder: a member can therefore overshoot its threshold by at most one flush
interval's scans per worker (``visit_flush_seconds``, 0.5 s by default), plus whatever
other workers served within their own counting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping

from qunyun.livecodes.snapshot import LiveCodeSnapshot

_MAX_ENTRIES = 10_000


class LiveCodeCache:
    def __init__(
        self,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - spreading visitors, not a secret
        # Served code -> (loaded at, snapshot); a link's code -> (resolved at, served code).
        self._entries: dict[int, tuple[float, LiveCodeSnapshot]] = {}
        self._aliases: dict[int, tuple[float, int]] = {}
        self._scans: dict[int, dict[int, int]] = {}
        self._rounds: dict[int, int] = {}
        self._fallbacks: set[int] = set()
        # Rendered member pages of the snapshot they were made from.
        self._pages: dict[tuple[int, int, int, str], tuple[LiveCodeSnapshot, bytes]] = {}
        self._stickies: dict[tuple[int, int, int], str] = {}

    # --- snapshots ----------------------------------------------------------------------

    def get(self, code_id: int) -> LiveCodeSnapshot | None:
        alias = self._aliases.get(code_id)
        if alias is None:
            return None
        now = self._clock()
        entry = self._entries.get(alias[1])
        if now - alias[0] > self.ttl or entry is None or now - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, code_id: int, snapshot: LiveCodeSnapshot) -> None:
        if self.ttl <= 0:
            self._scans[snapshot.id] = {}
            return
        if len(self._entries) >= _MAX_ENTRIES or len(self._aliases) >= _MAX_ENTRIES:
            self.clear()
        now = self._clock()
        self._aliases[code_id] = (now, snapshot.id)
        current = self._entries.get(snapshot.id)
        if current is None or now - current[0] > self.ttl:
            self._entries[snapshot.id] = (now, snapshot)
            # The stored counts now include what the recorder has written so far.
            self._scans[snapshot.id] = {}

    def invalidate(self, code_ids: Iterable[int]) -> None:
        """Forget these codes, and every link's code that resolved to one of them."""
        dropped = set(code_ids)
        for code_id in dropped:
            self._entries.pop(code_id, None)
            self._aliases.pop(code_id, None)
        for code_id, (_at, target) in list(self._aliases.items()):
            if target in dropped:
                self._aliases.pop(code_id, None)

    def clear(self) -> None:
        self._entries.clear()
        self._aliases.clear()
        self._pages.clear()

    # --- rendered pages and signed cookie values ----------------------------------------

    def page(self, snapshot: LiveCodeSnapshot, key: tuple[int, int, int, str]) -> bytes | None:
        found = self._pages.get(key)
        # A page made from an older snapshot is stale (the code or member changed).
        return found[1] if found is not None and found[0] is snapshot else None

    def keep_page(
        self, snapshot: LiveCodeSnapshot, key: tuple[int, int, int, str], page: bytes
    ) -> None:
        if len(self._pages) >= _MAX_ENTRIES:
            self._pages.clear()
        self._pages[key] = (snapshot, page)

    def sticky_value(self, key: tuple[int, int, int], make: Callable[[], str]) -> str:
        value = self._stickies.get(key)
        if value is None:
            if len(self._stickies) >= _MAX_ENTRIES:
                self._stickies.clear()
            value = self._stickies[key] = make()
        return value

    def __len__(self) -> int:
        return len(self._entries)

    # --- what the landing served ----------------------------------------------------------

    def scans_since_load(self, code_id: int) -> Mapping[int, int]:
        return self._scans.get(code_id, {})

    def note_scan(self, code_id: int, member_id: int) -> None:
        counts = self._scans.setdefault(code_id, {})
        counts[member_id] = counts.get(member_id, 0) + 1

    def next_round(self, code_id: int) -> int:
        """The round-robin counter of a code, then advanced."""
        value = self._rounds.get(code_id, 0)
        self._rounds[code_id] = value + 1
        return value

    def note_fallback(self, code_id: int) -> None:
        self._fallbacks.add(code_id)

    def take_fallbacks(self) -> set[int]:
        """Codes that served their fallback since the last call (for the alert task)."""
        taken, self._fallbacks = self._fallbacks, set()
        return taken
