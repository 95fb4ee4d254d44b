"""The entry follower fed real records through the ingest path: join requests judged
and answered, newcomers asked to accept the rules, their messages read."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from qunyun.community.models import Member, MemberIdentity
from qunyun.db.base import utcnow
from qunyun.db.engine import Database
from qunyun.entry import invites
from qunyun.entry.acceptance import by_token
from qunyun.entry.models import InviteCode, JoinRequest, RuleAcceptance
from qunyun.moderation.bans import add_ban
from qunyun.moderation.models import AuditEntry
from tests.entry.conftest import (
    ENV,
    actions,
    drain,
    ingest,
    joined,
    make_group,
    operator,
    request,
    said,
    set_entry,
)

QUESTION = {"question": "你为什么想加入？", "keywords": ["学习", "Python"]}


def requests_of(db: Database) -> list[JoinRequest]:
    with db.session(write=False) as session:
        rows = list(session.scalars(select(JoinRequest).order_by(JoinRequest.id)))
        session.expunge_all()
        return rows


def audit_actions(db: Database) -> list[str]:
    with db.session(write=False) as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def acceptances(db: Database) -> list[RuleAcceptance]:
    with db.session(write=False) as session:
        rows = list(session.scalars(select(RuleAcceptance).order_by(RuleAcceptance.id)))
        session.expunge_all()
        return rows


# --- join requests ------------------------------------------------------------------------


def test_a_good_answer_is_approved_through_the_platform(db: Database) -> None:
    make_group(db)
    set_entry(db, questions=[QUESTION], unanswered="reject")
    record = request("20001", "想来 学习 ＰＹＴＨＯＮ")
    ingest(db, [record])
    assert drain(db) == 1

    [stored] = requests_of(db)
    assert (stored.status, stored.verdict) == ("approved", {"code": "answers_ok"})
    assert stored.request_ref == record.request_id
    assert stored.answers == "想来 学习 ＰＹＴＨＯＮ"
    [answer] = actions(db, "answer_join_request")
    assert answer.params == {"request_id": record.request_id, "approve": True, "user": "20001"}
    assert stored.action_id == answer.id
    assert answer.status == "pending"  # the onebot connection will deliver it
    assert audit_actions(db)[-1] == "join.approved"


def test_a_wrong_answer_is_rejected_politely_or_queued(db: Database) -> None:
    make_group(db)
    set_entry(db, questions=[QUESTION], unanswered="reject")
    ingest(db, [request("20002", "路过看看")])
    drain(db)
    [rejected] = requests_of(db)
    assert rejected.status == "rejected"
    assert rejected.verdict == {"code": "answers_wrong", "failed_questions": [0]}
    [answer] = actions(db, "answer_join_request")
    assert answer.params["approve"] is False
    assert answer.params["reason"].startswith("抱歉，你的回答没有通过入群问题")

    set_entry(db, questions=[QUESTION], unanswered="queue")
    ingest(db, [request("20003", "路过看看")])
    drain(db)
    queued = requests_of(db)[-1]
    assert (queued.status, queued.action_id) == ("pending", None)
    assert len(actions(db, "answer_join_request")) == 1
    assert audit_actions(db)[-1] == "join.queued"
    assert "join.rejected" in audit_actions(db)


def test_question_text_quoted_by_qq_does_not_answer_itself(db: Database) -> None:
    make_group(db)
    set_entry(
        db, questions=[{"question": "你是学生吗？", "keywords": ["学生"]}], unanswered="reject"
    )
    ingest(db, [request("20004", "问题：你是学生吗？\n答案：不是")])
    ingest(db, [request("20005", "问题：你是学生吗？\n答案：是学生")])
    drain(db)
    assert [r.status for r in requests_of(db)] == ["rejected", "approved"]


def test_manual_review_queues_even_good_answers(db: Database) -> None:
    make_group(db)
    set_entry(db, questions=[QUESTION], auto_approve=False)
    ingest(db, [request("20006", "学习")])
    drain(db)
    [queued] = requests_of(db)
    assert (queued.status, queued.verdict["code"]) == ("pending", "manual_review")
    assert actions(db) == []


def test_banned_people_are_rejected(db: Database) -> None:
    make_group(db)
    with db.transaction() as session:
        add_ban(session, 1, "qq", "20007", reason="spam")
    ingest(db, [request("20007", "学习")])
    drain(db)
    [rejected] = requests_of(db)
    assert (rejected.status, rejected.verdict["code"]) == ("rejected", "banned")
    [answer] = actions(db, "answer_join_request")
    assert answer.params["approve"] is False


def test_a_full_group_stops_accepting(db: Database) -> None:
    make_group(db, capacity=3, member_count=3)
    set_entry(db, unanswered="reject")
    ingest(db, [request("20008", "hi")])
    drain(db)
    [rejected] = requests_of(db)
    assert rejected.verdict["code"] == "group_full"
    [answer] = actions(db, "answer_join_request")
    assert answer.params["reason"] == "抱歉，本群已满员，请通过活码加入其他群。"

    set_entry(db, unanswered="queue")
    ingest(db, [request("20009", "hi")])
    drain(db)
    assert requests_of(db)[-1].status == "pending"


def test_an_invite_code_records_the_source_and_counts_a_use(db: Database) -> None:
    gid = make_group(db)
    set_entry(db, invite_required=True, unanswered="reject")
    ingest(db, [said("30001", "我是老成员")])  # the inviter, known to the community
    with db.transaction() as session:
        inviter = session.scalar(
            select(MemberIdentity.member_id).where(MemberIdentity.platform_user_id == "30001")
        )
        code = invites.create_invite(
            session,
            operator(),
            1,
            code="spring-24",
            group_id=gid,
            quota=1,
            inviter_member_id=inviter,
        )
        code_id = code.id

    ingest(db, [request("20010", "邀请码：ｓｐｒｉｎｇ－２４")])
    ingest(db, [request("20011", "邀请码 SPRING-24")])  # the quota is spent
    ingest(db, [request("20012", "我没有邀请码")])
    drain(db)

    first, second, third = requests_of(db)
    assert (first.status, first.invite_code_id) == ("approved", code_id)
    assert (second.status, second.verdict["code"]) == ("rejected", "invite_used_up")
    assert (third.status, third.verdict["code"]) == ("rejected", "invite_missing")
    with db.session(write=False) as session:
        assert session.get(InviteCode, code_id).used == 1  # type: ignore[union-attr]
        newcomer = session.scalar(
            select(Member)
            .join(MemberIdentity, MemberIdentity.member_id == Member.id)
            .where(MemberIdentity.platform_user_id == "20010")
        )
        assert newcomer is not None
        assert (newcomer.source, newcomer.inviter_id) == ("invite", inviter)


def test_a_valid_code_counts_even_when_not_required(db: Database) -> None:
    make_group(db)
    with db.transaction() as session:
        invites.create_invite(session, operator(), 1, code="OPEN1")
    ingest(db, [request("20013", "open1 谢谢")])
    drain(db)
    [approved] = requests_of(db)
    assert approved.status == "approved"
    with db.session(write=False) as session:
        assert session.scalar(select(InviteCode.used)) == 1


def test_requests_heard_of_long_after_wait_for_a_person(db: Database) -> None:
    make_group(db)
    ingest(db, [request("20016", "hi", minutes=-25 * 60)])
    drain(db)
    [queued] = requests_of(db)
    assert (queued.status, queued.verdict["code"]) == ("pending", "stale")
    assert actions(db) == []


def test_a_request_is_stored_once(db: Database) -> None:
    make_group(db)
    record = request("20014", "hi")
    ingest(db, [record])
    ingest(db, [record])  # delivered again
    drain(db)
    drain(db)
    assert len(requests_of(db)) == 1
    assert len(actions(db, "answer_join_request")) == 1


def test_an_invitation_of_the_bot_waits_for_a_person(db: Database) -> None:
    make_group(db)
    ingest(db, [request("2854196310", "", request_type="invite", inviter_user_id="30002")])
    drain(db)
    [queued] = requests_of(db)
    assert (queued.status, queued.verdict["code"]) == ("pending", "invitation")


def test_a_pending_request_leaves_the_queue_when_they_join(db: Database) -> None:
    make_group(db)
    set_entry(db, auto_approve=False)
    ingest(db, [request("20015", "hi")])
    drain(db)
    ingest(db, [joined("20015")])
    drain(db)
    [done] = requests_of(db)
    assert (done.status, done.verdict) == ("approved", {"code": "joined"})


# --- rule acceptance ------------------------------------------------------------------------


def test_a_newcomer_is_muted_until_they_reply_with_the_keyword(db: Database) -> None:
    gid = make_group(db)
    set_entry(db, accept_rules=True, accept_mute_seconds=3600)
    ingest(db, [joined("40001")])
    drain(db)

    [pending] = acceptances(db)
    assert (pending.status, pending.mode, pending.group_id) == ("pending", "mute", gid)
    mute, welcome = actions(db)
    assert (mute.kind, mute.params) == ("mute", {"user": "40001", "seconds": 3600})
    assert welcome.kind == "send_message"
    assert welcome.params["mentions"] == ["40001"]
    text = welcome.params["text"]
    assert f"http://testserver/rules/default/{gid}" in text
    assert "「同意」" in text
    token = text.split("http://testserver/accept/", 1)[1].split()[0]
    with db.session(write=False) as session:
        assert by_token(session, ENV.secret_key, token).id == pending.id

    ingest(db, [said("40001", "我不同意")])  # not the keyword: a reminder
    ingest(db, [said("40001", "同意！")])
    drain(db)
    [accepted] = acceptances(db)
    assert (accepted.status, accepted.accepted_via) == ("accepted", "keyword")
    unmute = actions(db, "mute")[-1]
    assert unmute.params == {"user": "40001", "seconds": 0}
    assert "rules.accepted" in audit_actions(db)


def test_where_muting_is_impossible_newcomers_are_watched_and_reminded(db: Database) -> None:
    make_group(db, connection="manual")
    set_entry(db, accept_rules=True)
    ingest(db, [joined("40002")])
    drain(db)
    [pending] = acceptances(db)
    assert pending.mode == "watch"
    assert actions(db, "mute") == []
    [welcome] = actions(db, "send_message")
    assert welcome.status == "todo"  # a steward posts it

    ingest(db, [said("40002", "大家好"), said("40002", "有人吗")])
    drain(db)
    reminders = [a for a in actions(db, "send_message") if a.reason == f"entry:remind:{pending.id}"]
    assert len(reminders) == 1  # at most one per ten minutes
    assert reminders[0].params["reply_to"] is not None
    assert "请先同意群规再发言" in reminders[0].params["text"]

    with db.transaction() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "rules.reminded"))
        assert entry is not None
        entry.at = utcnow() - timedelta(minutes=11)
    ingest(db, [said("40002", "还在吗")])
    drain(db)
    reminders = [a for a in actions(db, "send_message") if a.reason == f"entry:remind:{pending.id}"]
    assert len(reminders) == 2


def test_someone_who_accepted_is_not_asked_again_on_rejoining(db: Database) -> None:
    make_group(db)
    set_entry(db, accept_rules=True)
    ingest(db, [joined("40003"), said("40003", "agree")])
    drain(db)
    [accepted] = acceptances(db)
    assert accepted.status == "accepted"
    before = len(actions(db))
    ingest(db, [joined("40003")])
    drain(db)
    assert len(actions(db)) == before
    assert acceptances(db)[0].status == "accepted"


def test_a_join_reached_long_after_is_not_acted_on(db: Database) -> None:
    make_group(db)
    set_entry(db, accept_rules=True)
    ingest(db, [joined("40006", occurred_at=utcnow() - timedelta(hours=25))])
    drain(db)
    assert acceptances(db) == []
    assert actions(db) == []


def test_other_people_and_groups_without_the_rule_are_left_alone(db: Database) -> None:
    make_group(db)
    ingest(db, [joined("40004"), said("40004", "hello"), said("40005", "同意")])
    drain(db)
    assert acceptances(db) == []
    assert actions(db) == []
