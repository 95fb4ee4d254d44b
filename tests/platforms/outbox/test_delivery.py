"""Delivery: retries with backoff, giving up, final failures, leases, manual to-dos."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.platforms import connections, outbox
from qunyun.platforms.actions import ActionKind, ActionResult
from qunyun.platforms.backoff import MAX_ATTEMPTS, retry_delay
from qunyun.platforms.models import PlatformAction
from qunyun.platforms.outbox import LEASE, OutboxWorker, claim_due
from qunyun.web.context import AppContext
from tests.conftest import run_async
from tests.platforms.outbox.conftest import MakeGroup, Platform

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def queue(db: Database, group_id: int, kind: str = "send_message", **params: object) -> int:
    with db.transaction() as session:
        group = outbox.group_of(session, 1, group_id)
        action = outbox.enqueue(
            session,
            community_id=1,
            group=group,
            kind=kind,
            params=params or {"text": "大家好"},
            reason="test",
        )
        return action.id


def state(db: Database, action_id: int) -> PlatformAction:
    with db.session(write=False) as session:
        found = session.get(PlatformAction, action_id)
        assert found is not None
        return found


def tick(worker: OutboxWorker, at: datetime) -> int:
    return int(run_async(worker.run_once(lambda: at)))


def backdate(db: Database, action_id: int, at: datetime) -> None:
    with db.transaction() as session:
        action = session.get(PlatformAction, action_id)
        assert action is not None
        action.next_attempt_at = at


def test_a_flaky_platform_gets_the_action_after_backing_off(
    db: Database, ctx: AppContext, platform: Platform, group_factory: MakeGroup
) -> None:
    platform.client.script = [
        ActionResult.failure("connection refused"),
        ActionResult.failure("HTTP 502"),
    ]
    group = group_factory()
    action_id = queue(db, group.id)
    backdate(db, action_id, T0)
    worker = OutboxWorker(ctx)

    assert tick(worker, T0) == 1
    first = state(db, action_id)
    assert (first.status, first.attempts, first.last_error) == ("pending", 1, "connection refused")
    assert first.next_attempt_at == T0 + timedelta(seconds=10)

    assert tick(worker, T0 + timedelta(seconds=9)) == 0  # not due yet
    assert tick(worker, T0 + timedelta(seconds=10)) == 1
    second = state(db, action_id)
    assert (second.status, second.attempts) == ("pending", 2)
    assert second.next_attempt_at == T0 + timedelta(seconds=30)

    assert tick(worker, T0 + timedelta(seconds=30)) == 1
    done = state(db, action_id)
    assert (done.status, done.attempts, done.last_error) == ("sent", 3, None)
    assert done.done_at is not None
    assert [a.kind for a in platform.client.performed] == [ActionKind.send_message] * 3
    assert platform.client.performed[0].group == group.platform_group_id
    assert platform.client.performed[0].params == {"text": "大家好"}


def test_a_platform_down_for_good_fails_the_action_which_can_be_retried(
    db: Database, ctx: AppContext, platform: Platform, group_factory: MakeGroup
) -> None:
    platform.client.then = ActionResult.failure("timed out")
    group = group_factory()
    action_id = queue(db, group.id)
    backdate(db, action_id, T0)
    worker = OutboxWorker(ctx)
    now = T0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert tick(worker, now) == 1, attempt
        now += retry_delay(attempt)
    gone = state(db, action_id)
    assert (gone.status, gone.attempts, gone.last_error) == ("failed", MAX_ATTEMPTS, "timed out")
    assert gone.next_attempt_at is None
    assert tick(worker, now + timedelta(days=1)) == 0  # failed stays failed, never deleted

    with db.transaction() as session:
        outbox.retry(session, 1, action_id)
    again = state(db, action_id)
    assert (again.status, again.attempts) == ("pending", 0)
    platform.client.then = ActionResult.success({"message_id": 7})
    assert again.next_attempt_at is not None
    assert tick(worker, again.next_attempt_at + timedelta(seconds=1)) == 1
    sent = state(db, action_id)
    assert sent.status == "sent"
    assert sent.result == {"message_id": 7}


def test_a_final_refusal_fails_at_once(
    db: Database, ctx: AppContext, platform: Platform, group_factory: MakeGroup
) -> None:
    platform.client.then = ActionResult.failure("retcode 1400: no permission", retryable=False)
    action_id = queue(db, group_factory().id, "mute", user="42", seconds=600)
    backdate(db, action_id, T0)
    tick(OutboxWorker(ctx), T0)
    failed = state(db, action_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == "retcode 1400: no permission"


def test_a_raising_client_counts_as_a_transient_failure(
    db: Database, ctx: AppContext, platform: Platform, group_factory: MakeGroup
) -> None:
    async def boom(action: object) -> ActionResult:
        raise RuntimeError("adapter bug")

    platform.client.perform = boom  # type: ignore[method-assign]
    action_id = queue(db, group_factory().id)
    backdate(db, action_id, T0)
    tick(OutboxWorker(ctx), T0)
    found = state(db, action_id)
    assert (found.status, found.attempts) == ("pending", 1)
    assert "adapter bug" in (found.last_error or "")


def test_a_claimed_action_is_not_claimed_again_until_its_lease_ends(
    db: Database, group_factory: MakeGroup
) -> None:
    action_id = queue(db, group_factory().id)
    backdate(db, action_id, T0)
    first = claim_due(db, T0)
    assert [c.action_id for c in first] == [action_id]
    assert claim_due(db, T0) == []
    assert claim_due(db, T0 + LEASE - timedelta(seconds=1)) == []
    # The worker died mid-send: another takes it over once the lease has run out.
    again = claim_due(db, T0 + LEASE)
    assert [(c.action_id, c.attempts) for c in again] == [(action_id, 2)]


def test_two_workers_never_send_the_same_action(
    db: Database, ctx: AppContext, platform: Platform, group_factory: MakeGroup
) -> None:
    platform.client.delay = 0.005
    group = group_factory()
    ids = [queue(db, group.id, text=f"第 {i} 条") for i in range(30)]
    for action_id in ids:
        backdate(db, action_id, T0)
    one, two = OutboxWorker(ctx), OutboxWorker(ctx)

    async def both() -> list[int]:
        return list(await asyncio.gather(one.run_once(lambda: T0), two.run_once(lambda: T0)))

    tried = run_async(both())
    assert sum(tried) == 30
    texts = [a.params["text"] for a in platform.client.performed]
    assert sorted(texts) == sorted(f"第 {i} 条" for i in range(30))
    assert all(state(db, i).status == "sent" for i in ids)


def test_a_group_without_an_api_gets_a_todo_marked_done_by_a_person(
    db: Database, ctx: AppContext, platform: Platform, group_factory: MakeGroup
) -> None:
    lonely = group_factory("读书会", platform=None)
    manual = group_factory("微信一群", platform="manual")
    a = queue(db, lonely.id, "mute", user="wxid_1", seconds=600)
    b = queue(db, manual.id, "send_message", text="今晚八点开课")
    assert state(db, a).status == state(db, b).status == "todo"
    assert state(db, b).next_attempt_at is None
    assert tick(OutboxWorker(ctx), T0 + timedelta(days=1)) == 0
    assert platform.client.performed == []
    with db.session(write=False) as session:
        row = outbox.get_action(session, 1, a)
        text = outbox.todo_for(session, row, "zh-CN")
        assert text.instruction == "在群「读书会」中禁言 wxid_1 10 分钟"
        copy = outbox.todo_for(session, outbox.get_action(session, 1, b), "en")
        assert copy.copy == "今晚八点开课"
        assert copy.instruction == "Post this message in the group “微信一群”"
    with db.transaction() as session:
        outbox.mark_done(session, 1, b, None)
    assert state(db, b).status == "done"
    with db.transaction() as session, pytest.raises(DomainError) as refused:
        outbox.mark_done(session, 1, b, None)
    assert refused.value.code == "action.cannot_mark_done"
    assert refused.value.status == 409


def test_a_disabled_connection_keeps_its_actions_waiting(
    db: Database, ctx: AppContext, platform: Platform, group_factory: MakeGroup
) -> None:
    group = group_factory(enabled=False)
    action_id = queue(db, group.id)
    backdate(db, action_id, T0)
    worker = OutboxWorker(ctx)
    assert tick(worker, T0) == 0
    with db.session(write=False) as session:
        assert outbox.get_action(session, 1, action_id).waiting_for_connection
    with db.transaction() as session:
        connections.enable(session, 1, group.connection_id)  # type: ignore[arg-type]
    assert tick(worker, T0) == 1
    assert state(db, action_id).status == "sent"


def test_deleting_a_connection_turns_its_unsent_actions_into_todos(
    db: Database, group_factory: MakeGroup
) -> None:
    group = group_factory()
    action_id = queue(db, group.id, "kick", user="9", reject_rejoin=True)
    with db.transaction() as session:
        assert connections.delete(session, 1, group.connection_id) == 1  # type: ignore[arg-type]
    moved = state(db, action_id)
    assert (moved.status, moved.connection_id) == ("todo", None)
    with db.session(write=False) as session:
        text = outbox.todo_for(session, outbox.get_action(session, 1, action_id), "zh-CN")
    assert text.instruction == "将 9 移出群「测试群」，并拒绝其再次申请入群"


def test_cancel_and_refusals(db: Database, group_factory: MakeGroup) -> None:
    group = group_factory()
    action_id = queue(db, group.id)
    with db.transaction() as session:
        outbox.cancel(session, 1, action_id)
    assert state(db, action_id).status == "cancelled"
    assert claim_due(db, T0 + timedelta(days=1)) == []
    with db.transaction() as session, pytest.raises(DomainError) as refused:
        outbox.cancel(session, 1, action_id)
    assert refused.value.code == "action.cannot_cancel"
    for kind, params, code in [
        ("teleport", {}, "action.unknown_kind"),
        ("mute", {"user": "1"}, "action.invalid_params"),
        ("send_message", {"text": "x", "colour": "red"}, "action.invalid_params"),
        ("get_member_list", {}, "action.query_not_queued"),
    ]:
        with db.transaction() as session, pytest.raises(DomainError) as bad:
            outbox.enqueue(
                session,
                community_id=1,
                group=outbox.group_of(session, 1, group.id),
                kind=kind,
                params=params,
            )
        assert bad.value.code == code
    with db.session(write=False) as session:
        assert (
            session.scalar(select(PlatformAction.id).where(PlatformAction.id > action_id)) is None
        )


def test_enqueue_wakes_the_worker_only_after_commit(db: Database, group_factory: MakeGroup) -> None:
    group = group_factory()
    woken: list[int] = []
    with db.transaction() as session:
        outbox.enqueue(
            session,
            community_id=1,
            group=outbox.group_of(session, 1, group.id),
            kind="send_message",
            params={"text": "hi"},
            wake=lambda: woken.append(1),
        )
        assert woken == []
    assert woken == [1]


def test_a_one_time_code_is_blanked_from_the_stored_row_once_delivered(
    db: Database, ctx: AppContext, platform: Platform, group_factory: MakeGroup
) -> None:
    sent_by_bot = group_factory()
    by_hand = group_factory("微信一群", platform="manual")
    text = "申诉验证码 482913，10 分钟内有效"
    a = queue(db, sent_by_bot.id, "send_private", user="10001", text=text, secret="482913")
    b = queue(db, by_hand.id, "send_private", user="wxid_1", text=text, secret="482913")
    backdate(db, a, T0)
    # Until it is delivered the row holds the code: the worker (or the steward) needs it.
    assert state(db, b).params["text"] == text
    assert tick(OutboxWorker(ctx), T0) == 1
    assert platform.client.performed[0].params["text"] == text
    with db.transaction() as session:
        outbox.mark_done(session, 1, b, None)
    for action_id in (a, b):
        kept = state(db, action_id)
        assert kept.status in ("sent", "done")
        assert kept.params == {
            "user": kept.params["user"],
            "text": "申诉验证码 ••••••，10 分钟内有效",
        }
