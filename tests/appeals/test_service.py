"""Opening appeals on SQLite and PostgreSQL: codes sent privately and stored hashed,
the limits on codes and attempts, one open appeal per case, operators opening them."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from unittest.mock import patch

import pytest
from sqlalchemy import select

from qunyun.accounts.roles import Role
from qunyun.appeals import codes, service
from qunyun.appeals.service import CodeVerdict
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.moderation.models import Appeal, AppealCode, AuditEntry, ModerationCase
from qunyun.platforms.outbox import ActionRow, todo_for
from tests.appeals.helpers import T0, actions_after, add_user, seed_case, sent_code

NOW = T0 + timedelta(hours=2)


def _code_rows(db: Database, case_id: int) -> list[AppealCode]:
    with db.session() as s:
        rows = list(s.scalars(select(AppealCode).where(AppealCode.case_id == case_id)))
        s.expunge_all()
        return rows


def _audit(db: Database, action: str) -> list[AuditEntry]:
    with db.session() as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        s.expunge_all()
        return rows


def _request(db: Database, token: str, now: datetime = NOW) -> None:
    with db.transaction() as s:
        service.request_code(s, token, now=now)


def _open(
    db: Database, token: str, code: str, statement: str = "这是正常交流", now: datetime = NOW
) -> service.MemberOpening:
    with db.transaction() as s:
        return service.open_by_member(s, token, code, statement, now=now)


def test_code_goes_privately_to_the_member_and_only_its_hash_is_kept(db: Database) -> None:
    seeded = seed_case(db)
    before = max(seeded.action_ids)
    _request(db, seeded.token)
    [action] = actions_after(db, before)
    assert action.kind == "send_private"
    assert action.params["user"] == seeded.user
    assert action.group_id == seeded.group_id
    code = sent_code(db)
    assert "申诉验证码" in action.params["text"] and "30 分钟" in action.params["text"]
    [row] = _code_rows(db, seeded.case_id)
    assert row.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert code not in row.code_hash
    assert row.expires_at == NOW + codes.CODE_TTL
    assert row.attempts == 0 and row.used_at is None
    [entry] = _audit(db, "appeal.code_sent")
    assert code not in entry.summary and code not in str(entry.detail)


def test_the_code_is_in_the_members_language(db: Database) -> None:
    seeded = seed_case(db, language="en")
    _request(db, seeded.token)
    [action] = [a for a in actions_after(db) if a.kind == "send_private"]
    assert action.params["text"].startswith("[Appeal code]")


def test_the_right_code_and_a_statement_open_the_appeal(db: Database) -> None:
    seeded = seed_case(db)
    _request(db, seeded.token)
    opening = _open(db, seeded.token, sent_code(db), "  我只是转发房东的信息  ")
    assert opening.verdict is CodeVerdict.ok
    with db.session() as s:
        [appeal] = s.scalars(select(Appeal)).all()
        assert (appeal.case_id, appeal.via, appeal.status) == (seeded.case_id, "member", "open")
        assert appeal.statement == "我只是转发房东的信息" and appeal.opened_by_id is None
    [row] = _code_rows(db, seeded.case_id)
    assert row.used_at is not None and row.attempts == 1
    [entry] = _audit(db, "appeal.opened")
    assert (entry.actor_kind, entry.actor_member_id) == ("member", seeded.member_id)
    assert entry.case_id == seeded.case_id and entry.actor_user_id is None


def test_a_wrong_code_changes_nothing_but_its_attempts(db: Database) -> None:
    seeded = seed_case(db)
    _request(db, seeded.token)
    code = sent_code(db)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for n in range(1, codes.MAX_ATTEMPTS + 1):
        assert _open(db, seeded.token, wrong).verdict is CodeVerdict.wrong
        assert _code_rows(db, seeded.case_id)[0].attempts == n
    # Attempts exhausted: even the right code no longer works.
    assert _open(db, seeded.token, code).verdict is CodeVerdict.exhausted
    with db.session() as s:
        assert s.scalars(select(Appeal)).all() == []
    assert _audit(db, "appeal.opened") == []


def test_expired_missing_malformed_and_used_codes(db: Database) -> None:
    seeded = seed_case(db)
    assert _open(db, seeded.token, "123456").verdict is CodeVerdict.missing
    _request(db, seeded.token)
    code = sent_code(db)
    assert _open(db, seeded.token, "12a456").verdict is CodeVerdict.malformed
    assert _code_rows(db, seeded.case_id)[0].attempts == 0  # not counted
    late = NOW + codes.CODE_TTL + timedelta(seconds=1)
    assert _open(db, seeded.token, code, now=late).verdict is CodeVerdict.expired
    with db.transaction() as s:
        case = s.get(ModerationCase, seeded.case_id)
        assert case is not None
        s.scalars(select(AppealCode)).one().used_at = NOW
        assert service.check_code(s, case, code, NOW) is CodeVerdict.used


def test_a_new_code_replaces_the_earlier_one(db: Database) -> None:
    seeded = seed_case(db)
    _request(db, seeded.token)
    first = sent_code(db)
    _request(db, seeded.token, now=NOW + timedelta(minutes=1))
    second = sent_code(db)
    if first != second:
        assert _open(db, seeded.token, first).verdict is CodeVerdict.wrong
    assert _open(db, seeded.token, second).verdict is CodeVerdict.ok


def test_at_most_three_codes_per_case_per_hour(db: Database) -> None:
    seeded = seed_case(db)
    for minute in range(codes.MAX_CODES_PER_HOUR):
        _request(db, seeded.token, now=NOW + timedelta(minutes=minute))
    with pytest.raises(DomainError) as refused:
        _request(db, seeded.token, now=NOW + timedelta(minutes=10))
    assert (refused.value.code, refused.value.status) == ("appeal.too_many_codes", 429)
    assert len(_code_rows(db, seeded.case_id)) == codes.MAX_CODES_PER_HOUR
    _request(db, seeded.token, now=NOW + timedelta(minutes=61))
    assert len(_code_rows(db, seeded.case_id)) == codes.MAX_CODES_PER_HOUR + 1


def test_one_open_appeal_per_case_and_one_member_appeal_ever(db: Database) -> None:
    seeded = seed_case(db)
    _request(db, seeded.token)
    assert _open(db, seeded.token, sent_code(db)).verdict is CodeVerdict.ok
    with pytest.raises(DomainError) as refused:
        _request(db, seeded.token)
    assert refused.value.code == "appeal.already_open"
    operator = add_user(db, "op", Role.operator)
    with pytest.raises(DomainError) as refused, db.transaction() as s:
        service.open_by_operator(s, operator, 1, seeded.case_id, "再看看")
    assert refused.value.code == "appeal.already_open"
    with db.transaction() as s:
        s.scalars(select(Appeal)).one().status = "upheld"
    with pytest.raises(DomainError) as refused:
        _request(db, seeded.token)
    assert refused.value.code == "appeal.already_appealed"
    # After a decision an operator may still ask for another look.
    with db.transaction() as s:
        again = service.open_by_operator(s, operator, 1, seeded.case_id, "成员补充了截图")
        assert again.via == "operator" and again.opened_by_id == operator.user_id


def test_forged_tokens_and_cases_that_cannot_be_appealed(db: Database) -> None:
    seeded = seed_case(db)
    for token in (
        "",
        "x" * 32,
        seeded.token[:-1] + ("A" if seeded.token[-1] != "A" else "B"),
        seeded.token + "'--",
        "y" * 200,
    ):
        with pytest.raises(DomainError) as refused, db.transaction() as s:
            service.request_code(s, token)
        assert (refused.value.code, refused.value.status) == ("appeal.link_invalid", 404)
    dry = seed_case(db, status="dry_run", user="20002")
    with pytest.raises(DomainError) as refused:
        _request(db, dry.token)
    assert refused.value.code == "appeal.case_not_appealable"
    assert _code_rows(db, dry.case_id) == []


def test_a_member_the_platform_cannot_reach_is_told_so(db: Database) -> None:
    seeded = seed_case(db)
    with db.transaction() as s:
        case = s.get(ModerationCase, seeded.case_id)
        assert case is not None
        case.member_id = None
    with pytest.raises(DomainError) as refused:
        _request(db, seeded.token)
    assert refused.value.code == "appeal.unreachable"
    assert _code_rows(db, seeded.case_id) == []


def test_in_manual_mode_the_to_do_shows_the_code_to_a_steward(db: Database) -> None:
    seeded = seed_case(db, connected=False, platform="wechat")
    _request(db, seeded.token)
    [action] = [a for a in actions_after(db) if a.kind == "send_private"]
    assert action.status == "todo"
    code = sent_code(db)
    with db.session() as s:
        row = ActionRow(action, "业主交流群", "wechat", None, None, None)
        todo = todo_for(s, row, "zh-CN")
    assert code in todo.copy and "吕凯" in todo.instruction


def test_operators_open_appeals_viewers_do_not(db: Database) -> None:
    seeded = seed_case(db)
    viewer = add_user(db, "viewer", Role.viewer)
    operator = add_user(db, "op", Role.operator)
    with pytest.raises(DomainError) as refused, db.transaction() as s:
        service.open_by_operator(s, viewer, 1, seeded.case_id, "请复核")
    assert refused.value.status == 403
    with pytest.raises(DomainError) as refused, db.transaction() as s:
        service.open_by_operator(s, operator, 1, seeded.case_id, "   ")
    assert refused.value.code == "appeal.bad_statement"
    with pytest.raises(DomainError) as refused, db.transaction() as s:
        service.open_by_operator(s, operator, 1, 999_999, "请复核")
    assert refused.value.status == 404
    with db.transaction() as s:
        appeal = service.open_by_operator(s, operator, 1, seeded.case_id, "成员私信说是误判")
        assert (appeal.via, appeal.status) == ("operator", "open")
    [entry] = _audit(db, "appeal.opened")
    assert (entry.actor_kind, entry.actor_user_id) == ("user", operator.user_id)


def test_the_database_refuses_a_second_open_appeal_that_slipped_past_the_checks(
    db: Database,
) -> None:
    seeded = seed_case(db)
    operator = add_user(db, "op", Role.operator)
    with db.transaction() as s:
        service.open_by_operator(s, operator, 1, seeded.case_id, "第一次")
    # As if a concurrent request had passed ensure_appealable before the first committed.
    with (
        pytest.raises(DomainError) as refused,
        db.transaction() as s,
        patch.object(service, "ensure_appealable"),
    ):
        service.open_by_operator(s, operator, 1, seeded.case_id, "第二次")
    assert refused.value.code == "appeal.already_open"
    with db.transaction() as s:
        assert [a.statement for a in service.appeals_of_case(s, seeded.case_id)] == ["第一次"]
