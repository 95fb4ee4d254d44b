"""Deciding appeals on SQLite and PostgreSQL: who may review, and what overturning
undoes (the warning, the mute or ban through the outbox, the ban list) and says."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from qunyun.accounts.models import User
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.appeals import review, service
from qunyun.appeals.rules import UndoKind
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.moderation import books
from qunyun.moderation.models import (
    Appeal,
    AuditEntry,
    Ban,
    MemberWarning,
    ModerationCase,
)
from qunyun.platforms.models import PlatformAction
from tests.appeals.helpers import Seeded, actions_after, add_user, seed_case, sent_code


def _operator_appeal(db: Database, seeded: Seeded, opener: Principal) -> int:
    with db.transaction() as s:
        return service.open_by_operator(s, opener, 1, seeded.case_id, "成员说这是误判").id


def _decide(db: Database, who: Principal, appeal_id: int, outcome: str, note: str = "") -> Any:
    with db.transaction() as s:
        return review.decide(s, who, 1, appeal_id, outcome, note)


def _get(db: Database, model: Any, ident: int) -> Any:
    with db.session() as s:
        row = s.get(model, ident)
        s.expunge_all()
        return row


def _audit(db: Database) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def team(db: Database) -> dict[str, Principal]:
    return {
        "owner": add_user(db, "owner", Role.owner),
        "admin": add_user(db, "admin", Role.admin),
        "op": add_user(db, "op", Role.operator),
    }


def test_reviewer_must_be_admin_and_not_involved(db: Database, team: dict[str, Principal]) -> None:
    seeded = seed_case(db, acted_by_id=team["admin"].user_id)
    appeal_id = _operator_appeal(db, seeded, team["owner"])
    for who, code in (
        (team["op"], "appeal.reviewer_role"),  # operators act, they do not review
        (team["admin"], "appeal.reviewer_involved"),  # acted on the case
        (team["owner"], "appeal.reviewer_involved"),  # opened the appeal
    ):
        with pytest.raises(DomainError) as refused:
            _decide(db, who, appeal_id, "overturn")
        assert (refused.value.code, refused.value.status) == (code, 403)
    assert _get(db, Appeal, appeal_id).status == "open"
    second = add_user(db, "admin2", Role.admin)
    decided = _decide(db, second, appeal_id, "uphold", "证据清楚")
    assert decided.appeal.status == "upheld" and not decided.self_review
    with pytest.raises(DomainError) as refused:
        _decide(db, second, appeal_id, "overturn")
    assert refused.value.code == "appeal.already_decided"


def test_a_single_admin_may_review_their_own_case_marked_as_such(db: Database) -> None:
    owner = add_user(db, "solo", Role.owner)
    add_user(db, "helper", Role.operator)  # operators do not count as reviewers
    seeded = seed_case(db, acted_by_id=owner.user_id)
    appeal_id = _operator_appeal(db, seeded, owner)
    decided = _decide(db, owner, appeal_id, "overturn", "我看错了")
    assert decided.self_review and decided.appeal.status == "overturned"
    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "appeal.overturned")).one()
        assert entry.detail["self_review"] is True and entry.actor_user_id == owner.user_id


def test_an_inactive_second_admin_does_not_make_a_team(db: Database) -> None:
    add_user(db, "solo", Role.owner)
    gone = add_user(db, "gone", Role.admin)
    with db.transaction() as s:
        user = s.get(User, gone.user_id)
        assert user is not None
        user.is_active = False
        assert review.reviewers_in_team(s, 1) == 1


def test_overturning_a_mute_unmutes_revokes_and_tells_the_member(
    db: Database, team: dict[str, Principal]
) -> None:
    seeded = seed_case(db, step="mute", seconds=3600)
    before = max(seeded.action_ids)
    with db.transaction() as s:
        service.request_code(s, seeded.token)
    code_action = actions_after(db, before)[-1].id
    with db.transaction() as s:
        opened = service.open_by_member(s, seeded.token, sent_code(db), "我在转发物业通知")
        assert opened.appeal is not None
        appeal_id = opened.appeal.id
    decided = _decide(db, team["admin"], appeal_id, "overturn", "物业通知，不是广告")
    assert [u.kind for u in decided.plan] == [UndoKind.not_restorable, UndoKind.unmute]
    assert decided.message_lost and decided.warning_revoked
    unmute, notice = actions_after(db, code_action)
    assert (unmute.kind, unmute.params, unmute.group_id) == (
        "mute",
        {"user": seeded.user, "seconds": 0},
        seeded.group_id,
    )
    assert (
        unmute.reason == f"appeal:{appeal_id}" and unmute.requested_by_id == team["admin"].user_id
    )
    # The starter book notices in the group: the member is mentioned there.
    assert notice.kind == "send_message" and notice.params["mentions"] == [seeded.user]
    text = notice.params["text"]
    assert "“广告”" in text and "已撤销" in text and "禁言已解除" in text
    assert "无法恢复" in text and "提醒已从您的记录中撤销" in text and "物业通知，不是广告" in text
    assert decided.queued == [unmute.id] and decided.notice_action_id == notice.id
    case = _get(db, ModerationCase, seeded.case_id)
    assert case.status == "overturned"
    with db.session() as s:
        warning = s.scalars(select(MemberWarning).where(MemberWarning.case_id == case.id)).one()
        assert warning.revoked_at is not None
    assert _audit(db)[-3:] == ["appeal.opened", "appeal.overturned", "case.overturned"]
    with pytest.raises(DomainError) as refused, db.transaction() as s:
        service.open_by_operator(s, team["op"], 1, seeded.case_id, "again")
    assert refused.value.code == "appeal.case_not_appealable"


def test_overturning_a_ban_unbans_and_lifts_the_ban_list_entry_privately(
    db: Database, team: dict[str, Principal]
) -> None:
    seeded = seed_case(db, step="ban", language="en")
    appeal_id = _operator_appeal(db, seeded, team["op"])
    decided = _decide(db, team["admin"], appeal_id, "overturn")
    unban, notice = actions_after(db, max(seeded.action_ids))
    assert (unban.kind, unban.params) == ("unban", {"user": seeded.user})
    with db.session() as s:
        ban = s.scalars(select(Ban).where(Ban.case_id == seeded.case_id)).one()
        assert ban.lifted_at is not None and decided.lifted_bans == [ban.id]
    # A removed member no longer reads the group: told privately, in their language.
    assert notice.kind == "send_private" and notice.params["user"] == seeded.user
    assert "overturned" in notice.params["text"] and "ban list" in notice.params["text"]
    assert "ban.lifted" in _audit(db)


def test_overturning_a_removal_says_the_member_may_rejoin(
    db: Database, team: dict[str, Principal]
) -> None:
    seeded = seed_case(db, step="remove", delete_message=False)
    appeal_id = _operator_appeal(db, seeded, team["op"])
    decided = _decide(db, team["admin"], appeal_id, "overturn")
    assert [u.kind for u in decided.plan] == [UndoKind.may_rejoin] and decided.queued == []
    [notice] = actions_after(db, max(seeded.action_ids))
    assert notice.kind == "send_private" and "可以重新加入本群" in notice.params["text"]


def test_actions_not_yet_carried_out_are_cancelled_not_reversed(
    db: Database, team: dict[str, Principal]
) -> None:
    seeded = seed_case(db, step="mute", action_status="pending")
    appeal_id = _operator_appeal(db, seeded, team["op"])
    decided = _decide(db, team["admin"], appeal_id, "overturn")
    assert sorted(decided.cancelled) == sorted(seeded.action_ids) and decided.queued == []
    for action_id in seeded.action_ids:
        assert _get(db, PlatformAction, action_id).status == "cancelled"
    kinds = [a.kind for a in actions_after(db, max(seeded.action_ids))]
    assert kinds == ["send_message"]  # only the notice: no unmute for a mute never sent


def test_upholding_changes_nothing_but_the_appeal(db: Database, team: dict[str, Principal]) -> None:
    seeded = seed_case(db)
    appeal_id = _operator_appeal(db, seeded, team["op"])
    decided = _decide(db, team["admin"], appeal_id, "uphold", "链接是广告")
    assert decided.plan == [] and not decided.warning_revoked
    assert _get(db, ModerationCase, seeded.case_id).status == "applied"
    with db.session() as s:
        warning = s.scalars(select(MemberWarning)).one()
        assert warning.revoked_at is None
    [notice] = actions_after(db, max(seeded.action_ids))
    assert "维持原处理" in notice.params["text"] and "链接是广告" in notice.params["text"]
    appeal = _get(db, Appeal, appeal_id)
    assert (appeal.reviewer_id, appeal.decision_note) == (team["admin"].user_id, "链接是广告")
    assert appeal.decided_at is not None
    assert _audit(db)[-1] == "appeal.upheld"


def test_private_notices_follow_the_rule_book(db: Database, team: dict[str, Principal]) -> None:
    seeded = seed_case(db)
    with db.transaction() as s:
        books.save_group_override(
            s, 1, seeded.group_id, {"notice": {"where": "private"}}, author_id=None
        )
    appeal_id = _operator_appeal(db, seeded, team["op"])
    _decide(db, team["admin"], appeal_id, "overturn")
    notice = actions_after(db, max(seeded.action_ids))[-1]
    assert notice.kind == "send_private" and notice.params["user"] == seeded.user


def test_bad_outcomes_and_notes_are_refused(db: Database, team: dict[str, Principal]) -> None:
    seeded = seed_case(db)
    appeal_id = _operator_appeal(db, seeded, team["op"])
    for outcome, note, code in (
        ("revert", "", "appeal.bad_outcome"),
        ("overturn", "x" * 2001, "appeal.bad_note"),
    ):
        with pytest.raises(DomainError) as refused:
            _decide(db, team["admin"], appeal_id, outcome, note)
        assert refused.value.code == code
    with pytest.raises(DomainError) as refused:
        _decide(db, team["admin"], 999_999, "overturn")
    assert refused.value.status == 404
    assert _get(db, Appeal, appeal_id).status == "open"
