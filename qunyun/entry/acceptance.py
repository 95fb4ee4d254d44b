"""Rule acceptance: a newcomer accepts the group's rules before speaking.

When the group's book asks for it (``entry.accept_rules``), a join creates a pending
acceptance; the newcomer is muted for at most ``accept_mute_seconds`` (or only watched
in ``watch`` mode, and always where the group has no API to mute through) and told in
the group where the rules are and how to accept: reply with a keyword, or open their
own link and press the button. Accepting lifts the mute. A pending newcomer who speaks
is reminded, at most once per :data:`REMIND_EVERY`. Services never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Community, Group, Member, MemberIdentity
from qunyun.db.base import utcnow
from qunyun.entry.answers import AcceptWords
from qunyun.entry.env import EntryEnv
from qunyun.entry.models import RuleAcceptance
from qunyun.errors import Conflict, DomainError, NotFound
from qunyun.i18n import gettext
from qunyun.moderation import audit
from qunyun.moderation.models import AuditEntry
from qunyun.moderation.rulebook import AcceptMode, EntryRules
from qunyun.paging import Page
from qunyun.platforms import outbox
from qunyun.platforms.actions import ActionKind
from qunyun.platforms.models import PlatformConnection
from qunyun.stream.models import StreamRecord

REMIND_EVERY = timedelta(minutes=10)
# A join the follower reaches later than this (after downtime) is not acted on: muting
# someone who has been talking for days would be wrong.
STALE_AFTER = timedelta(hours=24)
STATUSES = ("pending", "accepted")
VIA = ("keyword", "button", "operator")
MAX_PER_PAGE = 200
MAX_TOKEN = 200
_SALT = "qunyun.entry.accept"


@dataclass(frozen=True)
class AcceptanceRow:
    acceptance: RuleAcceptance
    group_name: str
    member_name: str


# --- the link's token -----------------------------------------------------------------


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=_SALT)


def _stamp(acceptance: RuleAcceptance) -> int:
    return int(acceptance.required_at.timestamp())


def token_for(secret: str, acceptance: RuleAcceptance) -> str:
    """Unguessable without the secret key; a new requirement (a rejoin) makes a new one."""
    return str(_serializer(secret).dumps([acceptance.id, _stamp(acceptance)]))


def by_token(session: Session, secret: str, token: str) -> RuleAcceptance:
    found = None
    if len(token) <= MAX_TOKEN:
        try:
            value = _serializer(secret).loads(token)
        except BadSignature:
            value = None
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and 1 <= value[0] < 2**63
        ):
            found = session.get(RuleAcceptance, value[0])
            if found is not None and _stamp(found) != value[1]:
                found = None
    if found is None:
        raise NotFound("acceptance.not_found")
    return found


def accept_url(env: EntryEnv, acceptance: RuleAcceptance) -> str:
    return f"{env.base_url}/accept/{token_for(env.secret_key, acceptance)}"


def rules_url(env: EntryEnv, community_slug: str, group_id: int) -> str:
    return f"{env.base_url}/rules/{community_slug}/{group_id}"


# --- helpers --------------------------------------------------------------------------


def can_mute(session: Session, group: Group) -> bool:
    """Whether actions reach the group through an API (a manual group only gets to-dos)."""
    if group.connection_id is None:
        return False
    connection = session.get(PlatformConnection, group.connection_id)
    return connection is not None and connection.platform != "manual"


def _platform_user(session: Session, acceptance: RuleAcceptance, group: Group) -> str | None:
    found: str | None = session.scalar(
        select(MemberIdentity.platform_user_id)
        .where(
            MemberIdentity.member_id == acceptance.member_id,
            MemberIdentity.platform == group.platform,
        )
        .order_by(MemberIdentity.id)
        .limit(1)
    )
    return found


def _send(
    session: Session,
    env: EntryEnv,
    group: Group,
    text: str,
    reason: str,
    *,
    user: str | None,
    reply_to: str | None = None,
) -> None:
    params: dict[str, object] = {"text": text}
    if user:
        params["mentions"] = [user]
    if reply_to:
        params["reply_to"] = reply_to
    outbox.enqueue(
        session,
        community_id=group.community_id,
        group=group,
        kind=ActionKind.send_message,
        params=params,
        reason=reason,
        wake=env.wake,
    )


def _mute(
    session: Session, env: EntryEnv, group: Group, user: str, seconds: int, reason: str
) -> None:
    outbox.enqueue(
        session,
        community_id=group.community_id,
        group=group,
        kind=ActionKind.mute,
        params={"user": user, "seconds": seconds},
        reason=reason,
        wake=env.wake,
    )


# --- joining ----------------------------------------------------------------------------


def on_member_joined(
    session: Session, env: EntryEnv, record: StreamRecord, entry: EntryRules, book_version: int
) -> RuleAcceptance | None:
    """Require acceptance of a newcomer (once: someone who accepted before and rejoins
    is not asked again); mute or watch them and tell them how to accept."""
    if not entry.accept_rules or record.group_id is None or record.member_id is None:
        return None
    if record.occurred_at < utcnow() - STALE_AFTER:
        return None
    user = record.platform_user_id
    group = session.get(Group, record.group_id)
    if group is None or not user:
        return None
    acceptance = session.scalar(
        select(RuleAcceptance).where(
            RuleAcceptance.group_id == group.id, RuleAcceptance.member_id == record.member_id
        )
    )
    if acceptance is not None and acceptance.status == "accepted":
        return acceptance
    mutable = entry.accept_mode is AcceptMode.mute and can_mute(session, group)
    mode = "mute" if mutable else "watch"
    if acceptance is None:
        acceptance = RuleAcceptance(
            community_id=record.community_id, group_id=group.id, member_id=record.member_id
        )
        session.add(acceptance)
    acceptance.status = "pending"
    acceptance.mode = mode
    acceptance.rule_book_version = book_version
    # The platform's time of the join: their messages are compared with it.
    acceptance.required_at = record.occurred_at
    session.flush()
    reason = f"entry:accept:{acceptance.id}"
    if mode == "mute":
        _mute(session, env, group, user, entry.accept_mute_seconds, reason)
    slug = session.scalar(select(Community.slug).where(Community.id == group.community_id))
    keyword = entry.accept_keywords[0] if entry.accept_keywords else ""
    text = gettext(
        f"entry.accept.welcome.{mode}",
        env.language,
        rules_url=rules_url(env, slug or "", group.id),
        keyword=keyword,
        accept_url=accept_url(env, acceptance),
    )
    _send(session, env, group, text, reason, user=user)
    audit.record(
        session,
        group.community_id,
        "rules.required",
        summary=mode,
        group_id=group.id,
        member_id=record.member_id,
        detail={"acceptance_id": acceptance.id, "mode": mode, "rule_book_version": book_version},
    )
    return acceptance


# --- accepting --------------------------------------------------------------------------


def accept(
    session: Session,
    env: EntryEnv,
    acceptance: RuleAcceptance,
    via: str,
    *,
    actor_user_id: int | None = None,
    reply_to: str | None = None,
) -> bool:
    """Mark it accepted and lift the mute; False when it already was (a keyword and the
    button at once change it once)."""
    if via not in VIA:
        raise ValueError(via)
    now = utcnow()
    changed = session.execute(
        update(RuleAcceptance)
        .where(RuleAcceptance.id == acceptance.id, RuleAcceptance.status == "pending")
        .values(status="accepted", accepted_via=via, accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(changed, "rowcount", 0):
        return False
    session.refresh(acceptance)
    group = session.get(Group, acceptance.group_id)
    assert group is not None
    user = _platform_user(session, acceptance, group)
    reason = f"entry:accept:{acceptance.id}"
    if user is not None and acceptance.mode == "mute":
        _mute(session, env, group, user, 0, reason)
    if via == "keyword":
        _send(
            session,
            env,
            group,
            gettext("entry.accept.thanks", env.language),
            reason,
            user=user,
            reply_to=reply_to,
        )
    audit.record(
        session,
        group.community_id,
        "rules.accepted",
        summary=via,
        actor_user_id=actor_user_id,
        actor_member_id=acceptance.member_id if actor_user_id is None else None,
        group_id=group.id,
        member_id=acceptance.member_id,
        detail={"acceptance_id": acceptance.id, "via": via},
    )
    session.flush()
    return True


def _reminded_lately(session: Session, acceptance: RuleAcceptance, now: datetime) -> bool:
    return (
        session.scalar(
            select(AuditEntry.id)
            .where(
                AuditEntry.community_id == acceptance.community_id,
                AuditEntry.at > now - REMIND_EVERY,
                AuditEntry.action == "rules.reminded",
                AuditEntry.group_id == acceptance.group_id,
                AuditEntry.member_id == acceptance.member_id,
            )
            .limit(1)
        )
        is not None
    )


def remind(
    session: Session, env: EntryEnv, acceptance: RuleAcceptance, record: StreamRecord, keyword: str
) -> bool:
    """Answer a pending newcomer's message with how to accept (at most once per
    :data:`REMIND_EVERY`); whether a reminder went out."""
    now = utcnow()
    if _reminded_lately(session, acceptance, now):
        return False
    group = session.get(Group, acceptance.group_id)
    assert group is not None
    text = gettext(
        "entry.accept.reminder",
        env.language,
        keyword=keyword,
        accept_url=accept_url(env, acceptance),
    )
    _send(
        session,
        env,
        group,
        text,
        f"entry:remind:{acceptance.id}",
        user=record.platform_user_id,
        reply_to=record.message_id,
    )
    audit.record(
        session,
        acceptance.community_id,
        "rules.reminded",
        group_id=acceptance.group_id,
        member_id=acceptance.member_id,
        detail={"acceptance_id": acceptance.id},
    )
    session.flush()
    return True


def on_messages(
    session: Session,
    env: EntryEnv,
    records: Sequence[StreamRecord],
    rules_of: Callable[[int, int], EntryRules],
) -> None:
    """Messages of pending newcomers: a keyword accepts, anything else gets a reminder."""
    keyed = [
        r
        for r in records
        if r.group_id is not None and r.member_id is not None and not (r.data or {}).get("edited")
    ]
    if not keyed:
        return
    pending = {
        (a.group_id, a.member_id): a
        for a in session.scalars(
            select(RuleAcceptance).where(
                RuleAcceptance.group_id.in_({r.group_id for r in keyed}),
                RuleAcceptance.member_id.in_({r.member_id for r in keyed}),
                RuleAcceptance.status == "pending",
            )
        )
    }
    if not pending:
        return
    for record in keyed:
        acceptance = pending.get((record.group_id or 0, record.member_id or 0))
        if acceptance is None or acceptance.status != "pending":
            continue
        if record.occurred_at < acceptance.required_at - timedelta(seconds=5):
            continue  # said before they were asked (a late delivery)
        entry = rules_of(acceptance.community_id, acceptance.group_id)
        if AcceptWords.of(entry.accept_keywords).accepts(record.text or ""):
            accept(session, env, acceptance, "keyword", reply_to=record.message_id)
        else:
            keyword = entry.accept_keywords[0] if entry.accept_keywords else ""
            remind(session, env, acceptance, record, keyword)


def mark_accepted(
    session: Session, env: EntryEnv, principal: Principal, community_id: int, acceptance_id: int
) -> RuleAcceptance:
    """An operator records that the newcomer accepted (they said so some other way)."""
    principal.require(community_id, Role.operator)
    acceptance = get_acceptance(session, principal, community_id, acceptance_id)
    if not accept(session, env, acceptance, "operator", actor_user_id=principal.user_id or None):
        raise Conflict("acceptance.already_accepted", id=acceptance.id)
    return acceptance


# --- reading --------------------------------------------------------------------------


def get_acceptance(
    session: Session, principal: Principal, community_id: int, acceptance_id: int
) -> RuleAcceptance:
    principal.require(community_id, Role.viewer)
    found = session.get(RuleAcceptance, acceptance_id) if 1 <= acceptance_id < 2**63 else None
    if found is None or found.community_id != community_id:
        raise NotFound("acceptance.not_found")
    return found


def list_acceptances(
    session: Session,
    principal: Principal,
    community_id: int,
    *,
    status: str | None = "pending",
    group_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page[AcceptanceRow]:
    principal.require(community_id, Role.viewer)
    if status is not None and status not in STATUSES:
        raise DomainError("acceptance.bad_status", field="status")
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    conditions = [RuleAcceptance.community_id == community_id]
    if status is not None:
        conditions.append(RuleAcceptance.status == status)
    if group_id is not None:
        conditions.append(RuleAcceptance.group_id == group_id)
    total = int(
        session.scalar(select(func.count()).select_from(RuleAcceptance).where(*conditions)) or 0
    )
    rows = session.execute(
        select(RuleAcceptance, Group.name, Member.display_name)
        .join(Group, Group.id == RuleAcceptance.group_id)
        .join(Member, Member.id == RuleAcceptance.member_id)
        .where(*conditions)
        .order_by(RuleAcceptance.required_at.desc(), RuleAcceptance.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page([AcceptanceRow(a, g, m) for a, g, m in rows], total, page, per_page)


def acceptance_row(session: Session, acceptance: RuleAcceptance) -> AcceptanceRow:
    group = session.get(Group, acceptance.group_id)
    member = session.get(Member, acceptance.member_id)
    return AcceptanceRow(
        acceptance,
        group.name if group is not None else "",
        member.display_name if member is not None else "",
    )
