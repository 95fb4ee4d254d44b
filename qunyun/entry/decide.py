"""What to do with a join request, from what is known about it. Pure.

In order: an invitation of the bot itself, and a request heard of only long after it was
made (the follower catching up after downtime), wait for a person; a banned applicant is
rejected; a full group, a missing or dead invite code (when the book requires one) and
wrong answers are rejected or queued as the book's ``unanswered`` says; a request that
passes everything is approved, or queued when the book turns ``auto_approve`` off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from qunyun.moderation.rulebook import EntryRules, JoinUnanswered


class Outcome(StrEnum):
    approve = "approve"
    reject = "reject"
    queue = "queue"


# Why, as a stable code (messages "entry.reason.<code>" explain it to the applicant).
REASONS = (
    "answers_ok",
    "manual_review",
    "invitation",
    "stale",
    "banned",
    "group_full",
    "answers_wrong",
    "invite_missing",
    "invite_expired",
    "invite_revoked",
    "invite_used_up",
    "invite_other_group",
)


@dataclass(frozen=True)
class RequestFacts:
    banned: bool = False
    group_full: bool = False
    # The platform asks whether the bot may join (OneBot's invite), not a member.
    invitation: bool = False
    # Made long ago: answering it now, unseen, could surprise everyone.
    stale: bool = False
    failed_questions: tuple[int, ...] = ()
    # The invite code found in the answers: None (none found), "" (a live one), or its
    # problem: expired, revoked, used_up, other_group.
    code_problem: str | None = None

    @property
    def has_live_code(self) -> bool:
        return self.code_problem == ""


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str
    failed_questions: tuple[int, ...] = field(default=())

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.reason}
        if self.failed_questions:
            out["failed_questions"] = list(self.failed_questions)
        return out


def _unanswered(entry: EntryRules, reason: str, facts: RequestFacts) -> Verdict:
    outcome = Outcome.reject if entry.unanswered is JoinUnanswered.reject else Outcome.queue
    return Verdict(outcome, reason, facts.failed_questions)


def decide(entry: EntryRules, facts: RequestFacts) -> Verdict:
    if facts.invitation:
        return Verdict(Outcome.queue, "invitation")
    if facts.stale:
        return Verdict(Outcome.queue, "stale")
    if facts.banned:
        return Verdict(Outcome.reject, "banned")
    if facts.group_full:
        return _unanswered(entry, "group_full", facts)
    if entry.invite_required and not facts.has_live_code:
        return _unanswered(entry, f"invite_{facts.code_problem or 'missing'}", facts)
    if facts.failed_questions:
        return _unanswered(entry, "answers_wrong", facts)
    if not entry.auto_approve:
        return Verdict(Outcome.queue, "manual_review")
    return Verdict(Outcome.approve, "answers_ok")
