"""Member reports into the review queue and what operators do with them; operators
acting on a member by hand; the nickname rule with its grace period."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.base import utcnow
from qunyun.db.engine import Database
from qunyun.enforcement import manual, reports
from qunyun.enforcement.engine import Enforcer
from qunyun.errors import Conflict, DomainError, Forbidden
from qunyun.moderation.rulebook import ReportRules
from tests.conftest import make_settings
from tests.enforcement.support import (
    AD,
    actions,
    audit_actions,
    cases,
    env,
    follower,
    group_of,
    ingest,
    joined,
    member_of,
    message,
    renamed,
    save_book,
    stored_reports,
    warnings,
)

OPERATOR = Principal(user_id=0, name="op", roles={1: Role.operator})
VIEWER = Principal(user_id=0, name="viewer", roles={1: Role.viewer})
RULES = ReportRules()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("举报", ""),
        ("举报 发广告的", "发广告的"),
        ("@张三 举报：骂人", "骂人"),
        ("/report", ""),
        ("/REPORT spam", "spam"),
        ("/report@qunyun_helper_bot scam link", "scam link"),
    ],
)
def test_report_replies_are_recognised(text: str, reason: str) -> None:
    assert reports.parse_report(RULES, text) == reason


@pytest.mark.parametrize("text", ["我想举报", "/reporting", "报告", "", "举"])
def test_other_replies_are_not_reports(text: str) -> None:
    assert reports.parse_report(RULES, text) is None


def test_reports_can_be_switched_off() -> None:
    assert reports.parse_report(ReportRules(enabled=False), "举报") is None


@given(st.text(max_size=60))
def test_any_reply_parses_without_error(text: str) -> None:
    reason = reports.parse_report(RULES, text)
    assert reason is None or len(reason) <= reports.MAX_REASON


def _reported(db: Database) -> None:
    ingest(
        db,
        [
            message(1, "周末有人一起去爬山吗", user="10001"),
            message(2, "举报 这人在拉人去别的群", user="20002", reply_to="1"),
            message(3, "举报", user="20002", reply_to="1"),  # the same reporter again
            message(4, "/report", user="30003", reply_to="1"),
        ],
    )
    follower(db).drain()


def test_a_reply_keyword_queues_the_message_once_per_reporter(db: Database) -> None:
    _reported(db)
    first, second = stored_reports(db)
    assert (first.message_id, first.message_text) == ("1", "周末有人一起去爬山吗")
    assert first.reported_member_id == member_of(db, "10001").id
    assert first.reporter_member_id == member_of(db, "20002").id
    assert first.reason == "这人在拉人去别的群" and second.reason is None
    assert audit_actions(db).count("report.created") == 2
    with db.session() as session:
        page = reports.list_reports(session, VIEWER, 1)
        assert page.total == 2
        row = page.items[0]
        assert row.reported_name == "成员10001" and row.group_name
        assert row.record.cases == 0


def test_applying_a_rule_from_the_queue_makes_a_case_that_steps_the_ladder(
    db: Database,
) -> None:
    _reported(db)
    report_id = stored_reports(db)[0].id
    with db.transaction() as session:
        case = reports.apply_rule(session, OPERATOR, env(), 1, report_id, "category:ads")
        case_id = case.id
    (case,) = cases(db)
    assert (case.id, case.source, case.status, case.step_action) == (
        case_id,
        "report",
        "applied",
        "warn",
    )
    assert case.message_id == "1" and case.member_id == member_of(db, "10001").id
    kinds = [(a.kind, a.params.get("message_id") or a.params.get("user")) for a in actions(db)]
    assert kinds[0] == ("delete_message", "1")
    assert actions(db)[-1].kind == "send_message"
    assert "经成员举报" in actions(db)[-1].params["text"]
    assert len(warnings(db)) == 1
    assert {r.status for r in stored_reports(db)} == {"actioned"}
    assert {r.case_id for r in stored_reports(db)} == {case_id}
    with db.transaction() as session, pytest.raises(Conflict):
        reports.dismiss(session, OPERATOR, 1, report_id)


def test_dismiss_delete_only_and_roles(db: Database) -> None:
    _reported(db)
    report_id = stored_reports(db)[0].id
    with db.transaction() as session, pytest.raises(Forbidden):
        reports.dismiss(session, VIEWER, 1, report_id)
    with db.transaction() as session, pytest.raises(DomainError):
        reports.apply_rule(session, OPERATOR, env(), 1, report_id, "category:nonsense")
    with db.transaction() as session:
        reports.delete_only(session, OPERATOR, env(), 1, report_id)
    assert [(a.kind, a.params) for a in actions(db)] == [("delete_message", {"message_id": "1"})]
    assert cases(db) == [] and warnings(db) == []
    assert "report.deleted" in audit_actions(db)


def test_a_rule_already_decided_cannot_be_applied_twice(db: Database) -> None:
    ingest(db, [message(1, AD, user="10001"), message(2, "举报", user="20002", reply_to="1")])
    follower(db).drain()
    (report,) = stored_reports(db)
    with db.transaction() as session, pytest.raises(Conflict):
        reports.apply_rule(session, OPERATOR, env(), 1, report.id, "category:ads")


def test_an_operator_mutes_a_member_with_a_reason(db: Database) -> None:
    ingest(db, [message(1, "大家好", user="10001")])
    member = member_of(db, "10001")
    group = group_of(db)
    with db.transaction() as session:
        case = manual.act_on_member(
            session,
            OPERATOR,
            env(),
            1,
            member_id=member.id,
            group_id=group.id,
            action="mute",
            seconds=600,
            reason="在群里吵架",
        )
        assert case.status == "applied"
    (case,) = cases(db)
    assert (case.source, case.rule_id, case.step_action, case.step_seconds) == (
        "operator",
        "manual",
        "mute",
        600,
    )
    mute, notice = actions(db)
    assert mute.params == {"user": "10001", "seconds": 600}
    assert "在群里吵架" in notice.params["text"] and case.appeal_token in notice.params["text"]
    assert warnings(db)[0].weight == 1
    with db.transaction() as session, pytest.raises(DomainError) as refused:
        manual.act_on_member(
            session,
            OPERATOR,
            env(),
            1,
            member_id=member.id,
            group_id=group.id,
            action="mute",
            reason="",
        )
    assert refused.value.code == "enforcement.reason_required"
    with db.transaction() as session, pytest.raises(Forbidden):
        manual.act_on_member(
            session,
            VIEWER,
            env(),
            1,
            member_id=member.id,
            group_id=group.id,
            action="warn",
            reason="x",
        )


def test_an_operator_ban_puts_the_person_on_the_list(db: Database) -> None:
    ingest(db, [message(1, "大家好", user="10001")])
    with db.transaction() as session:
        manual.act_on_member(
            session,
            OPERATOR,
            env(),
            1,
            member_id=member_of(db, "10001").id,
            group_id=group_of(db).id,
            action="ban",
            reason="骗钱",
        )
    assert [a.kind for a in actions(db)] == ["ban", "send_message"]
    assert "ban.added" in audit_actions(db)


NICKNAME = {
    "nickname": {
        "enabled": True,
        "pattern": r"\d{1,3}-\d{1,2}-\d{3,5} ?[\u4e00-\u9fa5A-Za-z·]{1,12}",
        "description": "楼号-单元-房号 姓名",
        "example": "5-1-3305 吕凯",
        "grace_hours": 2,
        "action": "mute",
        "mute_seconds": 3600,
    }
}


def test_a_wrong_nickname_is_reminded_then_acted_on_after_the_grace_period(
    db: Database,
) -> None:
    save_book(db, NICKNAME)
    ingest(db, [joined(1, "10001", nickname="小王"), joined(2, "20002", nickname="5-1-3305 吕凯")])
    enforcer = Enforcer(env())
    follower(db, enforcer).drain()
    (reminder,) = actions(db)
    assert reminder.kind == "send_message" and reminder.params["mentions"] == ["10001"]
    assert "楼号-单元-房号" in reminder.params["text"]
    assert audit_actions(db) == ["nickname.reminded"]
    with db.transaction() as session:
        assert enforcer.sweep(session, utcnow()) == 0  # within the grace period
    with db.transaction() as session:
        assert enforcer.sweep(session, utcnow() + timedelta(hours=2)) == 1
    (case,) = cases(db)
    assert (case.rule_id, case.step_action, case.step_seconds) == ("nickname", "mute", 3600)
    assert case.message_id is not None and case.message_id.startswith("nickname:")
    assert [a.kind for a in actions(db)][1:] == ["mute", "send_message"]
    assert "小王" in actions(db)[-1].params["text"]
    assert warnings(db) == []  # the nickname rule is not a step on the ladder
    with db.transaction() as session:
        assert enforcer.sweep(session, utcnow() + timedelta(hours=3)) == 0


def test_a_fixed_nickname_ends_the_matter(db: Database) -> None:
    save_book(db, NICKNAME)
    ingest(db, [joined(1, "10001", nickname="小王")])
    enforcer = Enforcer(env())
    follower(db, enforcer).drain()
    ingest(db, [renamed(5, "10001", "5-1-3305 王明")])
    follower(db, enforcer).drain()
    with db.transaction() as session:
        assert enforcer.sweep(session, utcnow() + timedelta(hours=2)) == 0
    assert cases(db) == [] and len(actions(db)) == 1


def test_the_moderation_follower_sweeps_when_due(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's follower runs the engine and, every SWEEP_SECONDS, its periodic work."""
    from qunyun.app import build_context
    from qunyun.moderation import runtime

    ctx = build_context(make_settings(tmp_path, db), db)
    built = runtime.follower(ctx)
    assert runtime.enforcer_of(ctx) is built.enforcer  # one per process
    swept: list[int] = []

    def sweep(session: object) -> int:
        swept.append(1)
        return 0

    monkeypatch.setattr(built.enforcer, "sweep", sweep)
    ingest(db, [message(1, AD)])
    built.drain()
    assert len(cases(db)) == 1 and swept == []
    built._next_sweep = 0.0
    built.run_once()
    assert swept == [1]


def _quiet_around(now: datetime, **extra: object) -> dict[str, object]:
    local = now.astimezone(ZoneInfo("Asia/Shanghai"))
    start = (local - timedelta(hours=1)).strftime("%H:%M")
    end = (local + timedelta(hours=1)).strftime("%H:%M")
    rules = {"enabled": True, "start": start, "end": end, "enforce_whole_mute": True}
    return {"quiet_hours": rules, **extra}


def test_quiet_hours_mute_and_unmute_the_whole_group(db: Database) -> None:
    now = utcnow()
    save_book(db, _quiet_around(now))
    ingest(db, [joined(1, "10001")])
    enforcer = Enforcer(env())
    with db.transaction() as session:
        assert enforcer.sweep(session, now) == 1
    with db.transaction() as session:
        assert enforcer.sweep(session, now + timedelta(minutes=5)) == 0  # asked once
    with db.transaction() as session:
        assert enforcer.sweep(session, now + timedelta(hours=3)) == 1
    assert [(a.kind, a.params) for a in actions(db)] == [
        ("whole_mute", {"enable": True}),
        ("whole_mute", {"enable": False}),
    ]
    assert audit_actions(db).count("quiet.whole_mute") == 2


def test_quiet_hours_in_dry_run_are_only_recorded(db: Database) -> None:
    now = utcnow()
    save_book(db, _quiet_around(now, dry_run=True))
    ingest(db, [joined(1, "10001")])
    enforcer = Enforcer(env())
    with db.transaction() as session:
        assert enforcer.sweep(session, now) == 1
    with db.transaction() as session:
        assert enforcer.sweep(session, now + timedelta(minutes=5)) == 0
    assert actions(db) == []
