"""A moderation case made directly in the database, the way enforcement leaves one: the
case, the outbox actions it asked for (already sent), its warning, and for a ban the
shared ban-list entry."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from qunyun.accounts import service as accounts
from qunyun.accounts.passwords import Passwords
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Group, Member, MemberIdentity
from qunyun.db.engine import Database
from qunyun.moderation import bans
from qunyun.moderation.models import MemberWarning, ModerationCase
from qunyun.platforms.models import PlatformAction, PlatformConnection

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
CODE_RE = re.compile(r"\b(\d{6})\b")


@dataclass(frozen=True)
class Seeded:
    case_id: int
    token: str
    group_id: int
    member_id: int
    user: str
    action_ids: tuple[int, ...]


def seed_case(
    db: Database,
    *,
    step: str = "mute",
    seconds: int = 3600,
    platform: str = "onebot",
    connected: bool = True,
    action_status: str = "sent",
    acted_by_id: int | None = None,
    language: str = "zh-CN",
    status: str = "applied",
    delete_message: bool = True,
    group_id: int | None = None,
    user: str = "20001",
) -> Seeded:
    """A case on an advertisement, with the actions enforcement would have sent.

    ``connected=False`` puts the group in manual mode (actions become to-dos); a
    connected group's connection is disabled so no worker delivers anything.
    """
    with db.transaction() as s:
        if group_id is None:
            connection = None
            if connected:
                connection = PlatformConnection(
                    community_id=1,
                    platform=platform,
                    name="bot",
                    key=secrets.token_urlsafe(12),
                    enabled=False,
                )
                s.add(connection)
                s.flush()
            group = Group(
                community_id=1,
                platform=platform,
                platform_group_id=str(900000 + secrets.randbelow(99999)),
                name="业主交流群",
                connection_id=connection.id if connection else None,
            )
            s.add(group)
            s.flush()
        else:
            found = s.get(Group, group_id)
            assert found is not None
            group = found
        member_id = s.scalar(
            select(MemberIdentity.member_id).where(
                MemberIdentity.platform == platform, MemberIdentity.platform_user_id == user
            )
        )
        if member_id is None:
            member = Member(community_id=1, display_name="吕凯")
            s.add(member)
            s.flush()
            s.add(
                MemberIdentity(
                    community_id=1,
                    member_id=member.id,
                    platform=platform,
                    platform_user_id=user,
                    display_name="吕凯",
                )
            )
            member_id = member.id
        token = secrets.token_urlsafe(24)
        actions: list[PlatformAction] = []

        def act(kind: str, params: dict[str, object]) -> None:
            row = PlatformAction(
                community_id=1,
                connection_id=group.connection_id,
                group_id=group.id,
                kind=kind,
                params=params,
                status=action_status,
                attempts=1,
                reason="moderation",
                created_at=T0,
            )
            s.add(row)
            actions.append(row)

        message_id = str(secrets.randbelow(10**9))
        if delete_message:
            act("delete_message", {"message_id": message_id})
        if step == "mute":
            act("mute", {"user": user, "seconds": seconds})
        elif step == "ban":
            act("ban", {"user": user})
        elif step == "remove":
            act("kick", {"user": user})
        s.flush()
        case = ModerationCase(
            community_id=1,
            group_id=group.id,
            member_id=member_id,
            message_id=message_id,
            message_text="出租房子，加微信 abc12345 详聊",
            rule_id="category:ads",
            category="ads",
            severity="medium",
            label={"zh-CN": "广告", "en": "Advertising"},
            evidence=[
                {"text": "加微信", "span": [6, 9], "normalized": "加微信", "detail": {}},
                {"text": "abc12345", "span": [10, 18], "normalized": "abc12345", "detail": {}},
            ],
            step_action=step,
            step_seconds=seconds if step == "mute" else 0,
            step_index=1,
            delete_message=delete_message,
            status=status,
            acted_by_id=acted_by_id,
            action_ids=[a.id for a in actions],
            appeal_token=token,
            language=language,
            occurred_at=T0,
            created_at=T0,
        )
        s.add(case)
        s.flush()
        s.add(
            MemberWarning(
                community_id=1,
                member_id=member_id,
                case_id=case.id,
                weight=1,
                given_at=T0,
                expires_at=T0 + timedelta(days=30),
            )
        )
        if step == "ban":
            bans.add_ban(s, 1, platform, user, reason="广告", member_id=member_id, case_id=case.id)
        return Seeded(case.id, token, group.id, member_id, user, tuple(a.id for a in actions))


def add_user(db: Database, name: str, role: Role) -> Principal:
    with db.transaction() as s:
        user = accounts.create_user(s, Passwords("test"), name, "correct horse battery", role, 1)
        return accounts.principal_for(s, user)


def actions_after(db: Database, after: int = 0) -> list[PlatformAction]:
    with db.session() as s:
        rows = list(
            s.scalars(
                select(PlatformAction).where(PlatformAction.id > after).order_by(PlatformAction.id)
            )
        )
        s.expunge_all()
        return rows


def sent_code(db: Database) -> str:
    """The code in the newest private message (what the member's phone shows)."""
    private = [a for a in actions_after(db) if a.kind == "send_private"]
    assert private, "no private message was queued"
    found = CODE_RE.search(str(private[-1].params["text"]))
    assert found is not None
    return found.group(1)
