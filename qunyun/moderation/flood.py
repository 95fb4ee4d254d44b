"""Flood detection: too many messages, the same text again, too many mentions. Pure.

One :class:`FloodTracker` per process keeps a little state per (group, member): the
recent message times, hashes of recent texts and recent mention counts, each trimmed to
what the rules can still look at. Members idle for ``idle_seconds`` and the least
recently seen beyond ``max_members`` are forgotten, so memory stays bounded. The caller
passes the clock (seconds, any epoch) so tests and replays are exact.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass

from qunyun.moderation.rulebook import FloodRules

MAX_KEPT = 1001  # never more times than the largest max_messages + 1


@dataclass(frozen=True, slots=True)
class FloodVerdict:
    # More than max_messages in window_seconds (this message included).
    rate: bool = False
    # This text was sent repeat_count times within repeat_window_seconds.
    repeat: bool = False
    # More than max_mentions mentions in window_seconds, or a forbidden @all.
    mentions: bool = False
    messages_in_window: int = 0
    same_text: int = 0
    mentions_in_window: int = 0
    mention_all: bool = False

    @property
    def any(self) -> bool:
        return self.rate or self.repeat or self.mentions


CLEAN = FloodVerdict()


class _State:
    __slots__ = ("last", "mention_sum", "mentions", "texts", "times")

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.texts: deque[tuple[float, int]] = deque()
        self.mentions: deque[tuple[float, int]] = deque()
        self.mention_sum = 0
        self.last = 0.0


def text_key(text: str) -> int | None:
    """What counts as "the same text": case and spacing ignored; None for no text."""
    folded = " ".join(text.casefold().split())
    return hash(folded) if folded else None


class FloodTracker:
    def __init__(self, *, max_members: int = 50_000, idle_seconds: float = 86_400) -> None:
        self.max_members = max_members
        self.idle_seconds = idle_seconds
        self._states: OrderedDict[Hashable, _State] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def forget(self, key: Hashable) -> None:
        self._states.pop(key, None)

    def observe(
        self,
        key: Hashable,
        rules: FloodRules,
        now: float,
        *,
        text: str = "",
        mentions: int = 0,
        mention_all: bool = False,
    ) -> FloodVerdict:
        """Count one message by ``key`` (e.g. (group_id, member_id)) at ``now``."""
        if not rules.enabled:
            return CLEAN
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _State()
            state.last = now
            self._evict(now)
        else:
            self._states.move_to_end(key)
            state.last = now

        times = state.times
        times.append(now)
        horizon = now - rules.window_seconds
        keep = min(rules.max_messages + 1, MAX_KEPT)
        while times and (times[0] <= horizon or len(times) > keep):
            times.popleft()
        in_window = len(times)

        same = 0
        if rules.repeat_count:
            texts = state.texts
            repeat_horizon = now - rules.repeat_window_seconds
            while texts and (texts[0][0] <= repeat_horizon or len(texts) >= 100):
                texts.popleft()
            digest = text_key(text)
            if digest is not None:
                texts.append((now, digest))
                same = sum(1 for _, d in texts if d == digest)

        recent = state.mentions
        while recent and recent[0][0] <= horizon:
            state.mention_sum -= recent.popleft()[1]
        if mentions:
            recent.append((now, mentions))
            state.mention_sum += mentions
        forbidden_all = mention_all and not rules.allow_mention_all
        too_many = bool(rules.max_mentions) and state.mention_sum > rules.max_mentions

        return FloodVerdict(
            rate=in_window > rules.max_messages,
            repeat=bool(rules.repeat_count) and same >= rules.repeat_count,
            mentions=too_many or forbidden_all,
            messages_in_window=in_window,
            same_text=same,
            mentions_in_window=state.mention_sum,
            mention_all=forbidden_all,
        )

    def _evict(self, now: float) -> None:
        states = self._states
        while len(states) > self.max_members:
            states.popitem(last=False)
        idle_before = now - self.idle_seconds
        # Oldest first: stop at the first member seen recently (amortised O(1)).
        while states:
            oldest_key = next(iter(states))
            if states[oldest_key].last >= idle_before:
                break
            del states[oldest_key]
