"""Decisions made by people rather than by evaluate: an operator applying a rule of the
book to a reported message, or acting on a member by hand. They step the same ladder
(or the step the operator chose) and are carried out like any other decision.

A person's decision is never a dry run: the book's dry-run mode is for its automatic
judgements while operators watch what they would do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from qunyun.errors import DomainError
from qunyun.i18n import gettext
from qunyun.moderation.evaluate import Decision, Evidence
from qunyun.moderation.ladder import LadderOutcome, PastWarning, active_weight, next_step
from qunyun.moderation.models import MemberWarning
from qunyun.moderation.rulebook import (
    RULE_IDS,
    LadderStep,
    LocalText,
    RuleBook,
    Severity,
    StepAction,
)

MANUAL_RULE = "manual"
# Rules an operator may apply to a reported message (the nickname rule is about a
# member, not a message).
MESSAGE_RULES = tuple(r for r in RULE_IDS if r != "nickname")
MANUAL_STEPS = ("warn", "mute", "remove", "ban")


def rule_label(rule_id: str) -> LocalText:
    key = "enforcement.rule.manual" if rule_id == MANUAL_RULE else f"moderation.rule.{rule_id}"
    return LocalText.model_validate({"zh-CN": gettext(key, "zh-CN"), "en": gettext(key, "en")})


def rule_choices(book: RuleBook, lang: str) -> list[tuple[str, str]]:
    """(rule id, name) of every rule a reported message can be judged under."""
    out = [
        (f"category:{name}", (c.label.get(lang) if c.label else name))
        for name, c in book.categories.items()
        if c.enabled
    ]
    out.extend((rule, rule_label(rule).get(lang)) for rule in MESSAGE_RULES)
    return out


def _rule(book: RuleBook, rule_id: str) -> tuple[str | None, Severity, LocalText]:
    if rule_id.startswith("category:"):
        name = rule_id.removeprefix("category:")
        category = book.categories.get(name)
        if category is None or not category.enabled:
            raise DomainError("enforcement.unknown_rule", rule=rule_id[:80])
        label = category.label or LocalText.model_validate(name)
        return name, category.severity, label
    severities = {
        "links": book.links.severity,
        "media": book.media.severity,
        "flood.rate": book.flood.severity,
        "flood.repeat": book.flood.severity,
        "flood.mentions": book.flood.severity,
        "quiet_hours": book.quiet_hours.severity,
        "newcomer": book.newcomer.severity,
    }
    if rule_id not in severities:
        raise DomainError("enforcement.unknown_rule", rule=rule_id[:80])
    return None, severities[rule_id], rule_label(rule_id)


def past_warnings(session: Session, member_id: int | None, now: datetime) -> list[PastWarning]:
    if member_id is None:
        return []
    return [
        PastWarning(given_at, weight)
        for given_at, weight in session.execute(
            select(MemberWarning.given_at, MemberWarning.weight).where(
                MemberWarning.member_id == member_id,
                MemberWarning.revoked_at.is_(None),
                MemberWarning.expires_at > now,
            )
        )
    ]


def rule_decision(
    book: RuleBook,
    rule_id: str,
    *,
    message_id: str,
    member_id: int | None,
    text: str,
    warnings: list[PastWarning],
    now: datetime,
    detail: dict[str, object] | None = None,
) -> Decision:
    """An operator's judgement that a message broke ``rule_id``: the ladder's next step."""
    category, severity, label = _rule(book, rule_id)
    step = next_step(book.ladder, warnings, now, severity=severity, category=category)
    return Decision(
        rule_id=rule_id,
        category=category,
        severity=severity,
        label=label,
        evidence=(Evidence(text=text[:500], detail=detail or {}),),
        message_id=message_id,
        member_id=member_id or 0,
        delete_message=book.notice.delete_message,
        step=step,
    )


def manual_decision(
    book: RuleBook,
    action: str,
    seconds: int,
    reason: str,
    *,
    member_id: int,
    warnings: list[PastWarning],
    now: datetime,
) -> Decision:
    """An operator's action on a member (warn, mute for ``seconds``, remove, ban)."""
    if action not in MANUAL_STEPS:
        raise DomainError("enforcement.bad_step", step=action[:20])
    if action == "mute" and not 60 <= seconds <= 30 * 86400:
        raise DomainError("enforcement.bad_seconds")
    step = LadderStep(action=StepAction(action), seconds=seconds if action == "mute" else 0)
    outcome = LadderOutcome(step, None, active_weight(book.ladder, warnings, now), 1)
    return Decision(
        rule_id=MANUAL_RULE,
        category=None,
        severity=Severity.medium,
        label=rule_label(MANUAL_RULE),
        evidence=(Evidence(text=reason[:500], detail={"reason": reason[:500]}),),
        message_id="",
        member_id=member_id,
        step=outcome,
    )
