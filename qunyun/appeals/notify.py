"""What the member a case is about hears from the appeal: their one-time code, and the
decision, in their language (the case's), through the group's platform outbox."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qunyun.appeals import codes
from qunyun.appeals.rules import Undo, UndoKind, member_was_removed
from qunyun.community.models import Group, MemberIdentity
from qunyun.i18n import gettext
from qunyun.moderation.books import effective_book
from qunyun.moderation.models import Appeal, ModerationCase
from qunyun.moderation.rulebook import NoticeWhere
from qunyun.platforms import outbox
from qunyun.platforms.actions import ActionKind
from qunyun.platforms.models import PlatformAction

Wake = Callable[[], None]


def member_user_id(session: Session, case: ModerationCase, group: Group | None) -> str | None:
    """The member's user id on the group's platform, where the platform can reach them."""
    if group is None or case.member_id is None:
        return None
    return session.scalar(
        select(MemberIdentity.platform_user_id)
        .where(
            MemberIdentity.community_id == case.community_id,
            MemberIdentity.member_id == case.member_id,
            MemberIdentity.platform == group.platform,
        )
        .order_by(MemberIdentity.id)
        .limit(1)
    )


def rule_name(case: ModerationCase, lang: str) -> str:
    return case.label.get(lang) or case.label.get("zh-CN") or case.rule_id


def send_code(
    session: Session,
    case: ModerationCase,
    group: Group,
    user: str,
    code: str,
    *,
    wake: Wake | None = None,
) -> PlatformAction:
    minutes = int(codes.CODE_TTL.total_seconds() // 60)
    text = gettext("appeal.notice.code", case.language, code=code, minutes=minutes)
    return outbox.enqueue(
        session,
        community_id=case.community_id,
        group=group,
        kind=ActionKind.send_private,
        params={"user": user, "text": text, "secret": code},
        reason=f"appeal-code:{case.id}",
        wake=wake,
    )


_UNDO_LINES = {
    UndoKind.unmute: "appeal.notice.unmuted",
    UndoKind.unban: "appeal.notice.unbanned",
    UndoKind.may_rejoin: "appeal.notice.may_rejoin",
    UndoKind.not_restorable: "appeal.notice.not_restorable",
}


def decision_text(
    case: ModerationCase, appeal: Appeal, plan: Sequence[Undo], warning_revoked: bool
) -> str:
    lang = case.language
    rule = rule_name(case, lang)
    if appeal.status == "upheld":
        lines = [gettext("appeal.notice.upheld", lang, rule=rule)]
    else:
        lines = [gettext("appeal.notice.overturned", lang, rule=rule)]
        seen: set[UndoKind] = set()
        for undo in plan:
            key = _UNDO_LINES.get(undo.kind)
            if key is not None and undo.kind not in seen:
                seen.add(undo.kind)
                lines.append(gettext(key, lang))
        if warning_revoked:
            lines.append(gettext("appeal.notice.warning_revoked", lang))
    if appeal.decision_note:
        lines.append(gettext("appeal.notice.note", lang, note=appeal.decision_note))
    return "\n".join(lines)


def tell_decision(
    session: Session,
    case: ModerationCase,
    appeal: Appeal,
    plan: Sequence[Undo],
    *,
    warning_revoked: bool,
    requested_by_id: int | None,
    wake: Wake | None = None,
) -> PlatformAction | None:
    """Tell the member, privately or in the group as the rule book's notice says.

    A member who was removed no longer reads the group, and one who appealed through
    the link asked to hear back even where the book sends no notices: both are told
    privately. ``None`` when the platform cannot reach them (no group, no identity).
    """
    group = session.get(Group, case.group_id) if case.group_id is not None else None
    user = member_user_id(session, case, group)
    if group is None or user is None:
        return None
    where = effective_book(session, case.community_id, group.id).book.notice.where
    private = where is not NoticeWhere.group or member_was_removed(plan)
    text = decision_text(case, appeal, plan, warning_revoked)
    params: dict[str, Any]
    if private:
        kind, params = ActionKind.send_private, {"user": user, "text": text}
    else:
        kind, params = ActionKind.send_message, {"text": text, "mentions": [user]}
    return outbox.enqueue(
        session,
        community_id=case.community_id,
        group=group,
        kind=kind,
        params=params,
        reason=f"appeal:{appeal.id}",
        requested_by_id=requested_by_id,
        wake=wake,
    )
