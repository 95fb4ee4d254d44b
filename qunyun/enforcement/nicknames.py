"""The nickname rule, enforced: a member whose group nickname does not fit the book's
format is reminded on joining or on changing it; once the grace period has passed
with the nickname still wrong, the book's action (mute or remove) is a case like any
other (rule "nickname", filed under ``nickname:<member>:<since>`` so it is taken once).

Each reminder is an audit entry ("nickname.reminded", with when the nickname became
wrong): the periodic :func:`sweep` reads the recent ones to remind again and to act
when due, so nothing is lost across restarts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qunyun.community.models import Group, GroupMembership, Member
from qunyun.i18n import gettext
from qunyun.moderation import audit
from qunyun.moderation.books import EffectiveBook
from qunyun.moderation.evaluate import Decision, Evidence
from qunyun.moderation.ladder import LadderOutcome
from qunyun.moderation.models import AuditEntry, ModerationCase
from qunyun.moderation.nickname import nickname_due, nickname_fits
from qunyun.moderation.rulebook import (
    LadderStep,
    NicknameAction,
    NoticeWhere,
    RuleBook,
    Severity,
    StepAction,
)
from qunyun.platforms.actions import ActionKind
from qunyun.platforms.outbox import enqueue

from .carry import Citation, NoticeText, Subject, carry_out
from .decisions import rule_label
from .env import EnforcementEnv
from .notices import appeal_line, mention_of, step_text

REMINDED = "nickname.reminded"
# Reminders older than the longest grace period allowed cannot lead to anything.
LOOK_BACK = timedelta(days=31)
RULE = "nickname"


def reminder_text(book: RuleBook, lang: str) -> str:
    fmt = book.nickname
    if fmt.reminder:
        return fmt.reminder.get(lang)
    return gettext(
        "enforcement.nickname.reminder",
        lang,
        description=fmt.description.get(lang),
        example=fmt.example,
        hours=fmt.grace_hours,
    )


def remind(
    session: Session,
    env: EnforcementEnv,
    *,
    group: Group,
    member_id: int,
    user: str,
    name: str,
    nickname: str | None,
    since: datetime,
    language: str,
    book: RuleBook,
) -> None:
    """Tell the member what their nickname should look like (recorded; in dry-run,
    only recorded)."""
    action_id = None
    where = book.notice.where
    if not book.dry_run and where is not NoticeWhere.none:
        text = reminder_text(book, language)
        if where is NoticeWhere.group:
            kind = ActionKind.send_message
            params: dict[str, Any] = {
                "text": text,
                "mentions": [mention_of(group.platform, user, name)],
            }
        else:
            kind, params = ActionKind.send_private, {"user": user, "text": text}
        action_id = enqueue(
            session,
            community_id=group.community_id,
            group=group,
            kind=kind,
            params=params,
            reason=f"nickname:{member_id}",
            wake=env.wake,
        ).id
    audit.record(
        session,
        group.community_id,
        REMINDED,
        summary=(nickname or "")[:200],
        group_id=group.id,
        member_id=member_id,
        detail={
            "since": since.isoformat(),
            "user": user,
            "name": name,
            "nickname": nickname,
            "language": language,
            "dry_run": book.dry_run,
            "action": action_id,
        },
    )


def check(
    session: Session,
    env: EnforcementEnv,
    *,
    group: Group,
    member_id: int,
    user: str | None,
    name: str,
    nickname: str | None,
    since: datetime,
    language: str,
    book: RuleBook,
) -> bool:
    """On a join or a nickname change: remind when the nickname does not fit.
    Returns whether it fits."""
    fmt = book.nickname
    if not fmt.enabled or nickname_fits(fmt, nickname):
        return True
    if user:
        remind(
            session,
            env,
            group=group,
            member_id=member_id,
            user=user,
            name=name,
            nickname=nickname,
            since=since,
            language=language,
            book=book,
        )
    return False


def nickname_notice(book: RuleBook, env: EnforcementEnv, nickname: str) -> NoticeText:
    def text(decision: Decision, case: ModerationCase, public: bool) -> str:
        lang = case.language
        fmt = book.nickname
        return "\n".join(
            [
                gettext(
                    "enforcement.nickname.acted",
                    lang,
                    nickname=nickname,
                    description=fmt.description.get(lang),
                    example=fmt.example,
                    hours=fmt.grace_hours,
                    step=step_text(case.step_action or "", case.step_seconds, lang),
                ),
                appeal_line(book, env, case),
            ]
        )

    return text


def _decision(book: RuleBook, member_id: int, key: str, nickname: str | None) -> Decision:
    fmt = book.nickname
    if fmt.action is NicknameAction.mute:
        step = LadderStep(action=StepAction.mute, seconds=fmt.mute_seconds)
    else:
        step = LadderStep(action=StepAction.remove)
    return Decision(
        rule_id=RULE,
        category=None,
        severity=Severity.low,
        label=rule_label(RULE),
        evidence=(
            Evidence(
                text=nickname or "",
                detail={"pattern": fmt.pattern, "grace_hours": fmt.grace_hours},
            ),
        ),
        message_id=key,
        member_id=member_id,
        step=LadderOutcome(step, None, 0, 0, dry_run=book.dry_run),
        dry_run=book.dry_run,
    )


def _latest_reminders(
    session: Session, group_ids: list[int], community_ids: list[int], now: datetime
) -> dict[tuple[int, int], AuditEntry]:
    latest: dict[tuple[int, int], AuditEntry] = {}
    for entry in session.scalars(
        select(AuditEntry)
        .where(
            # (community, at) is the audit log's index: only the last month is read.
            AuditEntry.community_id.in_(community_ids),
            AuditEntry.at >= now - LOOK_BACK,
            AuditEntry.action == REMINDED,
            AuditEntry.group_id.in_(group_ids),
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    ):
        if entry.group_id is not None and entry.member_id is not None:
            latest[(entry.group_id, entry.member_id)] = entry
    return latest


def _follows_up(book: RuleBook) -> bool:
    """Whether anything can happen after the first reminder."""
    fmt = book.nickname
    return fmt.enabled and (
        fmt.action is not NicknameAction.remind_only or fmt.remind_every_hours > 0
    )


def sweep(
    session: Session,
    env: EnforcementEnv,
    groups: dict[int, Group],
    books: dict[int, EffectiveBook],
    now: datetime,
) -> int:
    """Remind again and act where due; returns how many cases it opened."""
    watched = sorted(g for g in groups if _follows_up(books[g].book))
    if not watched:
        return 0
    communities = sorted({groups[g].community_id for g in watched})
    latest = _latest_reminders(session, watched, communities, now)
    if not latest:
        return 0
    member_ids = {m for _, m in latest}
    memberships = {
        (m.group_id, m.member_id): m
        for m in session.scalars(
            select(GroupMembership).where(
                GroupMembership.group_id.in_(watched),
                GroupMembership.member_id.in_(member_ids),
            )
        )
    }
    opened = 0
    for (group_id, member_id), entry in latest.items():
        group, membership = groups.get(group_id), memberships.get((group_id, member_id))
        if group is None or membership is None or membership.status != "active":
            continue
        effective = books[group_id]
        book = effective.book
        if not book.nickname.enabled or nickname_fits(book.nickname, membership.nickname):
            continue
        detail = entry.detail or {}
        since = datetime.fromisoformat(str(detail.get("since")))
        due = nickname_due(
            book.nickname,
            membership.nickname,
            wrong_since=since,
            last_reminded_at=entry.at,
            now=now,
        )
        user = str(detail.get("user") or "")
        name = str(detail.get("name") or "")
        language = str(detail.get("language") or env.language)
        if due.remind and user:
            remind(
                session,
                env,
                group=group,
                member_id=member_id,
                user=user,
                name=name,
                nickname=membership.nickname,
                since=since,
                language=language,
                book=book,
            )
        if due.act:
            key = f"nickname:{member_id}:{int(since.timestamp())}"
            member = session.get(Member, member_id)
            subject = Subject(
                community_id=group.community_id,
                group=group,
                member_id=member_id,
                platform_user_id=user or None,
                display_name=member.display_name if member is not None else name,
                language=language,
                occurred_at=now,
                case_key=key,
                role=membership.role,
            )
            outcome = carry_out(
                session,
                env,
                subject,
                [_decision(book, member_id, key, membership.nickname)],
                book,
                Citation(effective.cited_book_id, effective.cited_version),
                nickname_notice(book, env, membership.nickname or ""),
                now=now,
            )
            opened += len(outcome.cases)
    return opened
