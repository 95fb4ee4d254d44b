"""Telling the member: the rule, the matched text, the ladder step and how to appeal,
in their language, in the group (mentioning them) or privately, as the book says.

A notice posted in the group must not repeat the advertisement it answers: contact
details a detector found (phone numbers, WeChat ids, QQ numbers) are shown masked and
refused links by their host only. The private notice and the case page show them whole.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from qunyun.i18n import gettext
from qunyun.moderation.evaluate import Decision, Evidence, duration_text, explain
from qunyun.moderation.models import ModerationCase
from qunyun.moderation.rulebook import NoticeWhere, RuleBook, StepAction
from qunyun.platforms.actions import ActionKind
from qunyun.platforms.models import PlatformAction
from qunyun.platforms.outbox import enqueue

from .env import EnforcementEnv

if TYPE_CHECKING:
    from .carry import NoticeText, Subject

MAX_NOTICE = 3500


def _hide(value: str | None) -> str | None:
    if not value:
        return value
    return value[:2] + "***" if len(value) > 4 else "***"


def _masked_evidence(evidence: Evidence) -> Evidence:
    if evidence.detail.get("kind") == "detector":
        return dataclasses.replace(
            evidence, text=_hide(evidence.text) or "", normalized=_hide(evidence.normalized)
        )
    host = evidence.detail.get("host")
    if host:
        return dataclasses.replace(evidence, text=str(host))
    return evidence


def masked(decision: Decision) -> Decision:
    """The decision as the group may read it (see the module's docstring)."""
    return dataclasses.replace(
        decision, evidence=tuple(_masked_evidence(e) for e in decision.evidence)
    )


def appeal_link(book: RuleBook, env: EnforcementEnv, case: ModerationCase) -> str:
    """The book's own appeal address when it names one, else the case's appeal page."""
    if book.notice.appeal_url:
        return book.notice.appeal_url
    return env.appeal_url(case.appeal_token) if case.appeal_token else ""


def rule_notice(book: RuleBook, env: EnforcementEnv) -> NoticeText:
    """Notices for decisions of the rule book (explained by evaluate.explain)."""

    def text(decision: Decision, case: ModerationCase, public: bool) -> str:
        shown = masked(decision) if public else decision
        return explain(
            shown,
            case.language,
            appeal_url=appeal_link(book, env, case),
            appeal_text=book.notice.appeal_text or None,
            expiry_days=book.ladder.warning_expiry_days,
        )

    return text


def step_text(action: str, seconds: int, lang: str) -> str:
    if action == StepAction.mute.value:
        return gettext("enforcement.step.mute", lang, duration=duration_text(seconds, lang))
    return gettext(f"enforcement.step.{action}", lang)


def appeal_line(book: RuleBook, env: EnforcementEnv, case: ModerationCase) -> str:
    url = appeal_link(book, env, case)
    if url:
        return gettext("moderation.explain.appeal_url", case.language, url=url)
    if book.notice.appeal_text:
        return book.notice.appeal_text.get(case.language)
    return gettext("moderation.explain.appeal", case.language)


def reviewed_notice(book: RuleBook, env: EnforcementEnv) -> NoticeText:
    """Notices for a rule an operator applied to a reported message."""

    def text(decision: Decision, case: ModerationCase, public: bool) -> str:
        lang = case.language
        done = []
        if case.delete_message:
            done.append(gettext("moderation.step.delete", lang))
        if case.step_action:
            done.append(step_text(case.step_action, case.step_seconds, lang))
        lines = [gettext("enforcement.notice.reviewed", lang, rule=decision.label.get(lang))]
        if done:
            joiner = "，" if lang == "zh-CN" else "; "
            lines.append(gettext("moderation.explain.action", lang, actions=joiner.join(done)))
        lines.append(appeal_line(book, env, case))
        return "\n".join(lines)

    return text


def operator_notice(book: RuleBook, env: EnforcementEnv, reason: str) -> NoticeText:
    """Notices for an operator's action on a member: what, why, and how to appeal."""

    def text(decision: Decision, case: ModerationCase, public: bool) -> str:
        lang = case.language
        lines = [
            gettext(
                "enforcement.notice.operator",
                lang,
                step=step_text(case.step_action or "warn", case.step_seconds, lang),
            )
        ]
        if reason:
            lines.append(gettext("enforcement.notice.reason", lang, reason=reason))
        lines.append(appeal_line(book, env, case))
        return "\n".join(lines)

    return text


def mention_of(platform: str, user: str, name: str) -> Any:
    """How to mention a person in a send_message: Telegram labels a user-id mention
    with the name; the others take the bare id."""
    if platform == "telegram":
        return {"user": user, "name": name or user}
    return user


def queue_notice(
    session: Session,
    env: EnforcementEnv,
    subject: Subject,
    case: ModerationCase,
    where: NoticeWhere,
    notice_text: NoticeText,
    decision: Decision,
    *,
    reply: bool,
    acted_by_id: int | None,
) -> PlatformAction | None:
    """Queue the notice (None when the book says none, or nobody can be addressed)."""
    user = subject.platform_user_id
    if where is NoticeWhere.none or not user:
        return None
    public = where is NoticeWhere.group
    text = notice_text(decision, case, public)[:MAX_NOTICE]
    if public:
        params: dict[str, Any] = {
            "text": text,
            "mentions": [mention_of(subject.group.platform, user, subject.display_name)],
        }
        if reply and subject.message_id:
            params["reply_to"] = subject.message_id
        kind = ActionKind.send_message
    else:
        params = {"user": user, "text": text}
        kind = ActionKind.send_private
    return enqueue(
        session,
        community_id=subject.community_id,
        group=subject.group,
        kind=kind,
        params=params,
        reason=f"moderation:{case.id}",
        requested_by_id=acted_by_id,
        wake=env.wake,
    )
