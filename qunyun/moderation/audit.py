"""The order wing's audit log: one call records what happened, who did it and to whom."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from qunyun.db.base import utcnow
from qunyun.moderation.models import AuditEntry

MAX_SUMMARY = 500


def record(
    session: Session,
    community_id: int,
    action: str,
    *,
    summary: str = "",
    actor_user_id: int | None = None,
    actor_member_id: int | None = None,
    group_id: int | None = None,
    member_id: int | None = None,
    case_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry (``action`` such as "case.created", "appeal.overturned", "rulebook.saved").

    The actor is a Qunyun user, a member (an appeal, a report), or the system when
    neither is given. Never put secrets in ``detail``: operators export it.
    """
    if actor_user_id is not None:
        actor_kind = "user"
    elif actor_member_id is not None:
        actor_kind = "member"
    else:
        actor_kind = "system"
    entry = AuditEntry(
        community_id=community_id,
        at=utcnow(),
        action=action,
        actor_kind=actor_kind,
        actor_user_id=actor_user_id,
        actor_member_id=actor_member_id,
        group_id=group_id,
        member_id=member_id,
        case_id=case_id,
        summary=summary[:MAX_SUMMARY],
        detail=detail or {},
    )
    session.add(entry)
    return entry
