"""The ladder: which step a member's next violation earns. Pure.

Each violation leaves a warning weighted by its severity; warnings expire after the
ladder's ``warning_expiry_days``. The next step is the one at index
``active weight + this violation's weight - 1``, the last step once past the end. A
grave category skips the ladder and bans. In dry-run the step is computed the same
way and only marked, so the record shows what would have happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from qunyun.moderation.rulebook import Ladder, LadderStep, Severity, StepAction

BAN = LadderStep(action=StepAction.ban)


@dataclass(frozen=True, slots=True)
class PastWarning:
    """A violation on the member's record (one row of the storage's warning table)."""

    at: datetime
    weight: int = 1


@dataclass(frozen=True, slots=True)
class LadderOutcome:
    step: LadderStep
    # Position on the ladder (0 = first step); None for a grave category's ban.
    index: int | None
    # The weight of the member's unexpired warnings before this violation.
    active_weight: int
    # The weight this violation adds (what the storage records as its warning).
    weight: int
    grave: bool = False
    dry_run: bool = False


def expires_at(ladder: Ladder, warning: PastWarning) -> datetime:
    return warning.at + timedelta(days=ladder.warning_expiry_days)


def active_weight(ladder: Ladder, warnings: Iterable[PastWarning], now: datetime) -> int:
    """The weight of warnings given before ``now`` that have not yet expired."""
    return sum(w.weight for w in warnings if w.at <= now < expires_at(ladder, w))


def next_step(
    ladder: Ladder,
    warnings: Iterable[PastWarning],
    now: datetime,
    *,
    severity: Severity,
    category: str | None = None,
    dry_run: bool = False,
) -> LadderOutcome:
    weight = ladder.weight(severity)
    active = active_weight(ladder, warnings, now)
    if category is not None and category in ladder.grave_categories:
        return LadderOutcome(BAN, None, active, weight, grave=True, dry_run=dry_run)
    index = min(active + weight - 1, len(ladder.steps) - 1)
    return LadderOutcome(ladder.steps[index], index, active, weight, dry_run=dry_run)
