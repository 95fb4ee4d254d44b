"""Rows of the entry services as API answers (the CLI prints the same)."""

from __future__ import annotations

from qunyun.entry.acceptance import AcceptanceRow
from qunyun.entry.invites import InviteRow
from qunyun.entry.requests import RequestRow
from qunyun.entry.schemas import AcceptanceOut, InviteOut, JoinRequestOut


def invite_url(base_url: str, community_slug: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/invite/{community_slug}/{code}"


def invite_out(row: InviteRow, base_url: str, community_slug: str) -> InviteOut:
    i = row.invite
    return InviteOut(
        id=i.id,
        code=i.code,
        url=invite_url(base_url, community_slug, i.code),
        group_id=i.group_id,
        group_name=row.group_name,
        inviter_member_id=i.inviter_member_id,
        inviter_name=row.inviter_name,
        label=i.label,
        quota=i.quota,
        used=i.used,
        state=row.state,
        expires_at=i.expires_at,
        revoked_at=i.revoked_at,
        created_at=i.created_at,
    )


def request_out(row: RequestRow) -> JoinRequestOut:
    r = row.request
    return JoinRequestOut(
        id=r.id,
        group_id=r.group_id,
        group_name=row.group_name,
        platform_user_id=r.platform_user_id,
        display_name=r.display_name,
        answers=r.answers,
        invite_code=row.invite_code,
        status=r.status,
        verdict=dict(r.verdict or {}),
        decided_by_id=r.decided_by_id,
        action_id=r.action_id,
        requested_at=r.requested_at,
        decided_at=r.decided_at,
    )


def acceptance_out(row: AcceptanceRow) -> AcceptanceOut:
    a = row.acceptance
    return AcceptanceOut(
        id=a.id,
        group_id=a.group_id,
        group_name=row.group_name,
        member_id=a.member_id,
        member_name=row.member_name,
        status=a.status,
        mode=a.mode,
        rule_book_version=a.rule_book_version,
        accepted_via=a.accepted_via,
        required_at=a.required_at,
        accepted_at=a.accepted_at,
    )
