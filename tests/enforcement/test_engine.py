"""The engine on the stored stream: cases, warnings, the ladder, actions, notices,
dry-run, exemptions, the ban list at the door, and what a batch costs in queries."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, select

from qunyun.db.engine import Database
from qunyun.enforcement.engine import Enforcer
from qunyun.moderation.bans import add_ban
from qunyun.moderation.models import AuditEntry
from qunyun.stream.records import MessageKind
from tests.enforcement.support import (
    AD,
    AD_AGAIN,
    BASE_URL,
    actions,
    at,
    audit_actions,
    cases,
    env,
    follower,
    group_of,
    ingest,
    joined,
    member_of,
    message,
    save_book,
    set_role,
    warnings,
)
from tests.image_server import serve_images


def test_an_evaded_ad_is_deleted_warned_then_muted(db: Database) -> None:
    ingest(db, [message(1, "大家好"), message(2, AD)])
    engine = follower(db)
    engine.drain()
    (case,) = cases(db)
    assert (case.rule_id, case.status, case.source) == ("category:ads", "applied", "auto")
    assert (case.step_action, case.step_index, case.delete_message) == ("warn", 0, True)
    assert case.message_id == "2" and case.message_text == AD
    matched = {e["text"]: e for e in case.evidence}
    assert "薇❤信" in matched
    start, end = matched["薇❤信"]["span"]
    assert AD[start:end] == "薇❤信" and matched["薇❤信"]["normalized"] == "薇信"
    assert case.rule_book_version == 0 and case.language == "zh-CN"
    assert case.appeal_token and len(case.appeal_token) >= 32

    delete, notice = actions(db)
    assert (delete.kind, delete.params) == ("delete_message", {"message_id": "2"})
    assert notice.kind == "send_message" and notice.params["mentions"] == ["10001"]
    # The message is being deleted: the notice mentions the member instead of replying.
    assert "reply_to" not in notice.params
    text = notice.params["text"]
    assert "广告与引流" in text and "薇❤信" in text and "提醒（第 1 次）" in text
    assert f"{BASE_URL}/appeal/{case.appeal_token}" in text
    assert "qunyun2024" not in text  # a detected contact is not repeated in the group
    assert {a.reason for a in (delete, notice)} == {f"moderation:{case.id}"}
    assert case.action_ids == [delete.id] and case.notice_action_id == notice.id

    (warning,) = warnings(db)
    assert warning.case_id == case.id and warning.weight == 1
    assert warning.expires_at - warning.given_at == timedelta(days=30)
    assert audit_actions(db) == ["case.created"]

    ingest(db, [message(3, AD_AGAIN)])
    engine.drain()
    second = cases(db)[1]
    assert (second.step_action, second.step_seconds, second.step_index) == ("mute", 3600, 1)
    kinds = [(a.kind, a.params) for a in actions(db)[2:]]
    assert kinds[0] == ("delete_message", {"message_id": "3"})
    assert kinds[1] == ("mute", {"user": "10001", "seconds": 3600})
    assert kinds[2][0] == "send_message" and "禁言 1 小时（第 2 次）" in kinds[2][1]["text"]
    assert len(warnings(db)) == 2


def test_a_redelivered_or_edited_message_adds_nothing(db: Database) -> None:
    ingest(db, [message(2, AD)])
    engine = follower(db)
    engine.drain()
    before = (len(cases(db)), len(actions(db)), len(warnings(db)))
    ingest(db, [message(2, AD)])  # the same delivery again: stored once
    edit = message(2, AD + "！", record_id="edit:736584321:2:1", edited=True)
    ingest(db, [edit])  # an edit breaking the same rule: judged once per rule
    engine.drain()
    assert (len(cases(db)), len(actions(db)), len(warnings(db))) == before


def test_a_group_owner_is_treated_like_anyone(db: Database) -> None:
    ingest(db, [message(1, "通知：周六活动照常", user="20002")])
    set_role(db, "20002", "owner")
    ingest(db, [message(2, AD, user="20002"), message(3, AD_AGAIN, user="20002")])
    follower(db).drain()
    first, second = cases(db)
    assert (first.status, first.step_action) == ("applied", "warn")
    assert (second.status, second.step_action, second.step_seconds) == ("applied", "mute", 3600)
    assert ("mute", {"user": "20002", "seconds": 3600}) in [(a.kind, a.params) for a in actions(db)]
    with db.session(write=False) as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).first()
        assert entry is not None and entry.detail["role"] == "owner"
        assert entry.detail["is_admin"] is True


def test_dry_run_records_and_does_nothing(db: Database) -> None:
    save_book(db, {"dry_run": True})
    ingest(db, [message(1, AD), message(2, AD_AGAIN)])
    follower(db).drain()
    first, second = cases(db)
    assert [c.status for c in (first, second)] == ["dry_run", "dry_run"]
    assert first.dry_run and first.appeal_token is None
    # No warnings counted: the second is still the ladder's first step.
    assert [c.step_action for c in (first, second)] == ["warn", "warn"]
    assert actions(db) == [] and warnings(db) == []
    assert first.rule_book_version == 1 and first.rule_book_id is not None


def test_an_exemption_in_the_book_spares_and_says_so(db: Database) -> None:
    exemption = {"roles": ["owner"], "rules": ["category:ads"], "reason": "群主发布官方合作信息"}
    save_book(db, {"exemptions": [exemption]})
    ingest(db, [message(1, "大家好", user="20002")])
    set_role(db, "20002", "owner")
    ingest(db, [message(2, AD, user="20002")])
    follower(db).drain()
    (case,) = cases(db)
    assert (case.status, case.step_action, case.delete_message) == ("exempt", None, False)
    assert case.exemption == {
        "index": 0,
        "reason": {"zh-CN": "群主发布官方合作信息", "en": "群主发布官方合作信息"},
    }
    assert actions(db) == [] and warnings(db) == []


def test_a_grave_category_bans_and_the_ban_list_keeps_them_out(db: Database) -> None:
    ingest(db, [message(1, "有人玩网赌吗，带你赢钱", user="30003")])
    follower_ = follower(db)
    follower_.drain()
    (case,) = cases(db)
    assert (case.rule_id, case.step_action, case.grave) == ("category:gambling", "ban", True)
    assert ("ban", {"user": "30003"}) in [(a.kind, a.params) for a in actions(db)]
    assert "ban.added" in audit_actions(db)
    # Back in another of the community's groups: removed again.
    ingest(db, [joined(50, "30003", group="888000111")])
    follower_.drain()
    last = actions(db)[-1]
    assert (last.kind, last.params) == ("kick", {"user": "30003", "reject_rejoin": True})
    assert last.group_id == group_of(db, "888000111").id
    assert audit_actions(db)[-1] == "ban.enforced"


def test_a_listed_person_joining_is_removed(db: Database) -> None:
    with db.transaction() as session:
        add_ban(session, 1, "onebot", "40004", reason="外群骗子")
    ingest(db, [joined(1, "40004"), joined(2, "40005")])
    follower(db).drain()
    (kick,) = actions(db)
    assert kick.params == {"user": "40004", "reject_rejoin": True}


def test_private_notices_and_the_members_language(db: Database) -> None:
    save_book(db, {"notice": {"where": "private"}})
    raw = {"message": {"from": {"id": 555, "language_code": "en-US"}}}
    ingest(db, [message(1, AD, user="555", raw=raw)])
    follower(db).drain()
    (case,) = cases(db)
    assert case.language == "en"
    notice = actions(db)[-1]
    assert notice.kind == "send_private" and notice.params["user"] == "555"
    assert "Advertising and contact solicitation" in notice.params["text"]
    assert f"{BASE_URL}/appeal/{case.appeal_token}" in notice.params["text"]
    # In private the member sees exactly what was matched.
    assert "qunyun2024" in notice.params["text"] or "薇❤信" in notice.params["text"]


def test_a_notice_replies_when_the_message_stays(db: Database) -> None:
    save_book(db, {"notice": {"delete_message": False}})
    ingest(db, [message(7, AD)])
    follower(db).drain()
    (notice,) = actions(db)
    assert notice.kind == "send_message" and notice.params["reply_to"] == "7"


def test_warnings_expire_off_the_ladder(db: Database) -> None:
    ingest(db, [message(1, AD)])
    engine = follower(db)
    engine.drain()
    with db.transaction() as session:
        from qunyun.moderation.models import MemberWarning

        for warning in session.scalars(select(MemberWarning)):
            warning.expires_at = at(-1)
    ingest(db, [message(2, AD_AGAIN)])
    engine.drain()
    assert [c.step_action for c in cases(db)] == ["warn", "warn"]


def test_the_bots_own_messages_are_not_judged(db: Database) -> None:
    ingest(db, [message(1, "大家好", user="2854196310")])
    with db.transaction() as session:
        from qunyun.community.models import Group
        from qunyun.platforms.models import PlatformConnection

        conn = PlatformConnection(
            community_id=1, platform="onebot", name="bot", key="k-bot", self_id="2854196310"
        )
        session.add(conn)
        session.flush()
        for group in session.scalars(select(Group)):
            group.connection_id = conn.id
    ingest(db, [message(2, AD, user="2854196310")])
    follower(db).drain()
    assert cases(db) == []


def test_a_batch_costs_a_fixed_number_of_queries(db: Database) -> None:
    """Loading a batch is a handful of queries, whatever its size (clean messages)."""

    def statements(n: int, offset: int) -> int:
        ingest(
            db,
            [message(offset + i, f"第{i}条普通消息", user=str(60000 + i)) for i in range(n)],
        )
        counted = 0

        def count(*_: object) -> None:
            nonlocal counted
            counted += 1

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            follower(db, Enforcer(env())).drain()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return counted

    statements(1, 500)  # the follower's cursor is created on its first run
    small = statements(2, 0)
    large = statements(60, 100)
    assert large == small


def test_member_context_is_read_from_storage(db: Database) -> None:
    """A newcomer's link in the first 24 hours breaks the newcomer rule; the same link
    from a member who joined long ago does not."""
    save_book(db, {"links": {"mode": "any"}})
    ingest(db, [joined(1, "70007"), message(2, "看看 https://example.com/a", user="70007")])
    follower(db).drain()
    assert [c.rule_id for c in cases(db)] == ["newcomer"]
    assert member_of(db, "70007").display_name == "成员70007"


def test_a_qr_code_in_an_image_opens_a_case(db: Database, tmp_path: Path) -> None:
    with serve_images(tmp_path) as served:
        ingest(
            db,
            [
                message(1, "", images=(f"{served}/broken.png",), message_kind=MessageKind.image),
                message(2, "看图", images=(f"{served}/qr.png",), message_kind=MessageKind.image),
            ],
        )
        local = replace(env(), media_allow_private=True)
        follower(db, Enforcer(local)).drain()
    # The broken image is skipped; the QR code is read and matched as an ad.
    (case,) = cases(db)
    assert (case.rule_id, case.message_id) == ("category:ads", "2")
    assert any(e["detail"]["kind"] == "detector" for e in case.evidence)
    assert [a.kind for a in actions(db)][:1] == ["delete_message"]


def test_images_on_private_addresses_are_not_fetched_by_default(
    db: Database, tmp_path: Path
) -> None:
    with serve_images(tmp_path) as served:
        ingest(
            db, [message(2, "看图", images=(f"{served}/qr.png",), message_kind=MessageKind.image)]
        )
        follower(db).drain()
    assert cases(db) == []


def test_images_are_read_ahead_outside_the_batch_transaction(db: Database, tmp_path: Path) -> None:
    enforcer = Enforcer(replace(env(), media_allow_private=True))
    engine = follower(db, enforcer)
    with serve_images(tmp_path) as served:
        ingest(
            db, [message(2, "看图", images=(f"{served}/qr.png",), message_kind=MessageKind.image)]
        )
        with db.session(write=False) as session:
            assert enforcer.prefetch_images(session, engine.peek(session)) == 1
    # The image host is gone by the time the batch runs: what was read ahead is used.
    engine.drain()
    (case,) = cases(db)
    assert (case.rule_id, case.message_id) == ("category:ads", "2")
