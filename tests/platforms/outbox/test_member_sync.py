"""Syncing a group's members from the platform's list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from qunyun.community.models import GroupMembership, MemberIdentity, MembershipChange
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.platforms.actions import ActionKind, ActionResult
from qunyun.platforms.member_sync import sync_members
from qunyun.stream.ingest import Ingestor
from qunyun.stream.records import JoinHow, MemberJoined
from qunyun.web.context import AppContext
from tests.conftest import run_async
from tests.platforms.outbox.conftest import MakeGroup, Platform


def test_sync_updates_the_known_and_adds_the_unseen(
    db: Database, ctx: AppContext, platform: Platform, group_factory: MakeGroup
) -> None:
    group = group_factory("三期学员群", group_key="555")
    with db.transaction() as session:
        Ingestor(1, source="live:1").ingest(
            session,
            [
                MemberJoined(
                    platform="qq",
                    platform_record_id="join-10",
                    platform_group_id="555",
                    occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                    platform_user_id="10",
                    user_name="旧名字",
                    how=JoinHow.scanned,
                )
            ],
        )
    platform.client.then = ActionResult.success(
        [
            {"user_id": 10, "nickname": "小明", "card": "三期-小明", "role": "owner"},
            {"user_id": 11, "nickname": "小红", "card": "三期-小红", "role": "admin"},
        ]
    )
    result = run_async(sync_members(ctx, group))
    assert (result.listed, result.added, result.updated) == (2, 1, 2)
    assert platform.client.performed[0].kind is ActionKind.get_member_list
    with db.session(write=False) as session:
        rows = session.execute(
            select(
                MemberIdentity.platform_user_id,
                MemberIdentity.display_name,
                GroupMembership.nickname,
                GroupMembership.role,
                GroupMembership.status,
            )
            .join(GroupMembership, GroupMembership.member_id == MemberIdentity.member_id)
            .where(GroupMembership.group_id == group.id)
            .order_by(MemberIdentity.platform_user_id)
        ).all()
        assert [tuple(r) for r in rows] == [
            ("10", "小明", "三期-小明", "owner", "active"),
            ("11", "小红", "三期-小红", "steward", "active"),
        ]
        hows = session.scalars(select(MembershipChange.how).order_by(MembershipChange.id)).all()
        assert list(hows) == ["scanned", "imported"]
    # A second sync changes nothing and invents no second join.
    again = run_async(sync_members(ctx, group))
    assert (again.added, again.updated) == (0, 0)


def test_sync_of_a_manual_group_is_refused(
    db: Database, ctx: AppContext, group_factory: MakeGroup
) -> None:
    group = group_factory("微信群", platform="manual")
    with pytest.raises(DomainError) as refused:
        run_async(sync_members(ctx, group))
    assert refused.value.code == "action.manual_connection"
