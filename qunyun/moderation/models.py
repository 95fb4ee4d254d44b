"""Rule books with their versions, and what enforcing them leaves behind: cases (one
decision about one message or member), warnings, appeals, member reports, the shared
ban list and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from qunyun.db.base import Base, BigIntKey, utcnow

_OPEN = text("status = 'open'")


class StoredRuleBook(Base):
    """A community's rule book (group_id None), or one group's override of it.

    The document itself lives in its versions; ``version`` is the one in force.
    """

    __tablename__ = "rule_books"
    __table_args__ = (UniqueConstraint("community_id", "group_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleBookVersion(Base):
    """Every saved state of a rule book, never changed afterwards."""

    __tablename__ = "rule_book_versions"
    __table_args__ = (UniqueConstraint("rule_book_id", "version"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    rule_book_id: Mapped[int] = mapped_column(ForeignKey("rule_books.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    # The full document for a community book; the partial override for a group's.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModerationCase(Base):
    """One decision: a rule broken (or reported) by a member, and what was done about it."""

    __tablename__ = "moderation_cases"
    __table_args__ = (
        # A redelivered message is judged once per rule.
        UniqueConstraint("group_id", "message_id", "rule_id"),
        Index("ix_moderation_cases_community_created", "community_id", "created_at"),
        Index("ix_moderation_cases_member_created", "member_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    # The stream record judged (a message, a join, a nickname change), when there is one.
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("stream_records.id", ondelete="SET NULL"), default=None
    )
    message_id: Mapped[str | None] = mapped_column(String(128), default=None)
    message_text: Mapped[str | None] = mapped_column(Text, default=None)
    # "category:ads", "links", "flood.rate", "nickname", "report", "manual" ...
    rule_id: Mapped[str] = mapped_column(String(80))
    category: Mapped[str | None] = mapped_column(String(40), default=None)
    severity: Mapped[str] = mapped_column(String(8), default="medium")
    # The rule's name in zh-CN and en, as the book said when the case was made.
    label: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # [{"text", "span": [start, end] | None, "normalized", "detail"}]
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rule_book_id: Mapped[int | None] = mapped_column(
        ForeignKey("rule_books.id", ondelete="SET NULL"), default=None
    )
    rule_book_version: Mapped[int | None] = mapped_column(Integer, default=None)
    # The ladder step: "warn", "mute", "remove", "ban", or None (exempt, or a later rule
    # of the same message: only the gravest steps the ladder).
    step_action: Mapped[str | None] = mapped_column(String(8), default=None)
    step_seconds: Mapped[int] = mapped_column(Integer, default=0)
    step_index: Mapped[int | None] = mapped_column(Integer, default=None)
    grave: Mapped[bool] = mapped_column(Boolean, default=False)
    delete_message: Mapped[bool] = mapped_column(Boolean, default=False)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when an exemption written in the book covered this member: {"index", "reason"}.
    exemption: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # "applied", "dry_run", "exempt", "overturned".
    status: Mapped[str] = mapped_column(String(12), default="applied")
    # "auto" (the rule book), "report" (from the review queue), "operator" (by hand).
    source: Mapped[str] = mapped_column(String(12), default="auto")
    acted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Outbox rows this case asked for (to undo them on an overturn).
    action_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    notice_action_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_actions.id", ondelete="SET NULL"), default=None
    )
    # For the appeal link: unguessable, names the case without an account.
    appeal_token: Mapped[str | None] = mapped_column(String(48), default=None, unique=True)
    # The member's language for notices ("zh-CN" or "en").
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberWarning(Base):
    """A case's mark on the member's record; the ladder counts the unexpired ones."""

    __tablename__ = "moderation_warnings"
    __table_args__ = (Index("ix_moderation_warnings_member_given", "member_id", "given_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(
        ForeignKey("moderation_cases.id", ondelete="CASCADE"), unique=True
    )
    weight: Mapped[int] = mapped_column(Integer, default=1)
    given_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    # Set when an appeal overturned the case.
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Appeal(Base):
    __tablename__ = "moderation_appeals"
    __table_args__ = (
        Index("ix_moderation_appeals_community_status", "community_id", "status"),
        # One open appeal per case, whatever races the service's checks.
        Index(
            "ux_moderation_appeals_open_case",
            "case_id",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("moderation_cases.id", ondelete="CASCADE"))
    # "member" (through the link, proven by a one-time code) or "operator".
    via: Mapped[str] = mapped_column(String(12), default="member")
    statement: Mapped[str] = mapped_column(Text, default="")
    # "open", "upheld", "overturned".
    status: Mapped[str] = mapped_column(String(12), default="open")
    opened_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decision_note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)


class AppealCode(Base):
    """A one-time code sent privately to the member a case is about."""

    __tablename__ = "moderation_appeal_codes"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("moderation_cases.id", ondelete="CASCADE"), index=True
    )
    # sha256 of the code; the code itself is only ever in the private message.
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class MemberReport(Base):
    """A message a member reported (by a reply keyword or command), waiting for review."""

    __tablename__ = "moderation_reports"
    __table_args__ = (
        UniqueConstraint("group_id", "message_id", "reporter_member_id"),
        Index("ix_moderation_reports_community_status", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(128))
    message_text: Mapped[str | None] = mapped_column(Text, default=None)
    reported_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    reporter_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    # "open", "actioned", "dismissed".
    status: Mapped[str] = mapped_column(String(12), default="open")
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderation_cases.id", ondelete="SET NULL"), default=None
    )
    handled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    handled_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Ban(Base):
    """The community's shared ban list: banned in one group, kept out of all of them."""

    __tablename__ = "moderation_bans"
    __table_args__ = (UniqueConstraint("community_id", "platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    platform_user_id: Mapped[str] = mapped_column(String(128))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    display_name: Mapped[str | None] = mapped_column(String(200), default=None)
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderation_cases.id", ondelete="SET NULL"), default=None
    )
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    lifted_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEntry(Base):
    """Everything the order wing did or was asked to do, for operators to filter and export."""

    __tablename__ = "moderation_audit"
    __table_args__ = (
        Index("ix_moderation_audit_community_at", "community_id", "at"),
        # The audit page filtered by action, and the quiet-hours sweep's last switch.
        Index("ix_moderation_audit_community_action_at", "community_id", "action", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # "case.created", "case.overturned", "appeal.opened", "rulebook.saved", "ban.added" ...
    action: Mapped[str] = mapped_column(String(40))
    # "system", "user" or "member".
    actor_kind: Mapped[str] = mapped_column(String(8), default="system")
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    actor_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), default=None
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderation_cases.id", ondelete="SET NULL"), default=None
    )
    summary: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
