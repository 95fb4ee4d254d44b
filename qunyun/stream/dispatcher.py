"""One in-process dispatcher: consumers (moderation, analytics) subscribe to records.

Records are published after their transaction commits, in the platform's order per
batch. A consumer that raises is logged and does not stop the others or the sender;
it can catch up from the table, which is the source of truth. The interface is small
on purpose (``subscribe``/``publish``) so a queue can stand behind it later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qunyun.stream.records import RecordKind, StoredRecord

log = logging.getLogger("qunyun.stream")

Consumer = Callable[[Sequence[StoredRecord]], None]


@dataclass(frozen=True)
class Subscription:
    name: str
    consumer: Consumer
    kinds: frozenset[RecordKind] | None
    # History imports are not news: most consumers (moderation) only want live records.
    live_only: bool


class Dispatcher:
    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self.published = 0
        self.failures = 0

    def subscribe(
        self,
        name: str,
        consumer: Consumer,
        *,
        kinds: Sequence[RecordKind] | None = None,
        live_only: bool = True,
    ) -> Subscription:
        subscription = Subscription(
            name, consumer, frozenset(kinds) if kinds is not None else None, live_only
        )
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.remove(subscription)

    def publish(self, records: Sequence[StoredRecord]) -> None:
        ordered = sorted(records, key=lambda s: (s.record.occurred_at, s.id))
        self.published += len(ordered)
        for subscription in self._subscriptions:
            wanted = [
                s
                for s in ordered
                if (subscription.kinds is None or s.record.kind in subscription.kinds)
                and not (subscription.live_only and s.source.startswith("import"))
            ]
            if not wanted:
                continue
            try:
                subscription.consumer(wanted)
            except Exception:
                self.failures += 1
                log.exception("stream consumer %s failed", subscription.name)
