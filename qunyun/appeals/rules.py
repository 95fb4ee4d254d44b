"""Who may review an appeal, and what undoing a case means for each action it asked
for. Pure: plain values in, plain values out.

Reviewers hold the admin or owner role: deciding an appeal overrules whoever acted,
and operators are the people who act. A reviewer must be neither the user who acted
on the case nor the user who opened the appeal, unless the community has a single
admin/owner-level user: then that user may review their own decision (nobody else
can), and the decision is marked as a self-review wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from qunyun.accounts.roles import Role

REVIEWER_ROLE = Role.admin


@dataclass(frozen=True)
class ReviewRight:
    allowed: bool
    # Allowed only because the team has one reviewer: shown beside the decision.
    self_review: bool = False
    # Why not: an error code ("appeal.reviewer_role", "appeal.reviewer_involved").
    refusal: str | None = None


def review_right(
    *,
    reviewer_id: int,
    reviewer_role: Role | None,
    acted_by_id: int | None,
    opened_by_id: int | None,
    reviewers_in_team: int,
) -> ReviewRight:
    """May ``reviewer_id`` decide an appeal on a case ``acted_by_id`` acted on and
    ``opened_by_id`` appealed (``None``: the system acted, the member appealed)?"""
    if reviewer_role is None or not reviewer_role.at_least(REVIEWER_ROLE):
        return ReviewRight(False, refusal="appeal.reviewer_role")
    involved = reviewer_id in {acted_by_id, opened_by_id} - {None}
    if not involved:
        return ReviewRight(True)
    if reviewers_in_team <= 1:
        return ReviewRight(True, self_review=True)
    return ReviewRight(False, refusal="appeal.reviewer_involved")


def is_self_review(
    reviewer_id: int | None, acted_by_id: int | None, opened_by_id: int | None
) -> bool:
    """Whether a decided appeal was reviewed by someone involved (derived, not stored)."""
    return reviewer_id is not None and reviewer_id in {acted_by_id, opened_by_id}


class UndoKind(StrEnum):
    # Never reached the platform (queued, failed, a to-do not done): cancel it.
    cancel = "cancel"
    unmute = "unmute"
    unban = "unban"
    # A removal: nothing to reverse on the platform; the member may come back.
    may_rejoin = "may_rejoin"
    # A deleted message cannot be brought back.
    not_restorable = "not_restorable"


@dataclass(frozen=True)
class ActionFacts:
    """What the undo needs to know of one outbox row a case asked for."""

    id: int
    kind: str
    status: str
    group_id: int | None
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Undo:
    kind: UndoKind
    action_id: int
    original: str
    group_id: int | None
    user: str | None = None


NOT_YET_DONE = frozenset({"pending", "failed", "todo"})
# "sending" may have reached the platform already: reverse it like a sent one.
DONE = frozenset({"sending", "sent", "done"})
MEMBER_ACTIONS = frozenset({"mute", "ban", "kick", "delete_message", "send_message"})


def plan_undo(actions: Iterable[ActionFacts]) -> list[Undo]:
    """For each action of a case, in order, what overturning it takes."""
    plan: list[Undo] = []
    for action in actions:
        if action.kind not in MEMBER_ACTIONS:
            continue
        user = action.params.get("user")
        user_text = None if user is None else str(user)
        if action.kind == "mute" and int(action.params.get("seconds") or 0) <= 0:
            continue  # already a lift, nothing to undo
        if action.status in NOT_YET_DONE:
            plan.append(Undo(UndoKind.cancel, action.id, action.kind, action.group_id, user_text))
            continue
        if action.status not in DONE:
            continue  # cancelled: never happened
        step = _REVERSAL.get(action.kind)
        if step is not None:
            plan.append(Undo(step, action.id, action.kind, action.group_id, user_text))
    return plan


_REVERSAL = {
    "mute": UndoKind.unmute,
    "ban": UndoKind.unban,
    "kick": UndoKind.may_rejoin,
    "delete_message": UndoKind.not_restorable,
    # A notice that went out stays said; the overturn notice follows it.
}


def member_was_removed(plan: Sequence[Undo]) -> bool:
    """A removed member no longer reads the group: tell them privately."""
    return any(u.kind in (UndoKind.unban, UndoKind.may_rejoin) for u in plan)
