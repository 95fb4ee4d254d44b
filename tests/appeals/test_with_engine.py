"""Appeals on the cases the enforcement engine really makes (no hand-made rows): a
member warned then muted appeals the mute with the code the engine's outbox carried,
and the overturn lifts it."""

from __future__ import annotations

from sqlalchemy import update

from qunyun.accounts.roles import Role
from qunyun.appeals import review, service
from qunyun.appeals.rules import UndoKind
from qunyun.db.engine import Database
from qunyun.platforms.models import PlatformAction
from tests.appeals.helpers import CODE_RE, add_user
from tests.enforcement.support import (
    AD,
    AD_AGAIN,
    actions,
    cases,
    follower,
    ingest,
    message,
    warnings,
)


def test_an_engine_mute_is_appealed_and_lifted(db: Database) -> None:
    reviewer = add_user(db, "boss", Role.admin)
    ingest(db, [message(1, AD), message(2, AD_AGAIN)])
    follower(db).drain()
    warned, muted = cases(db)
    assert (warned.step_action, muted.step_action) == ("warn", "mute")
    # The group has no bot (manual mode): a steward did the to-dos and said so.
    with db.transaction() as s:
        s.execute(update(PlatformAction).values(status="done"))
    assert muted.appeal_token is not None
    with db.transaction() as s:
        service.request_code(s, muted.appeal_token)
    private = actions(db)[-1]
    assert (private.kind, private.params["user"]) == ("send_private", "10001")
    found = CODE_RE.search(private.params["text"])
    assert found is not None
    with db.transaction() as s:
        opened = service.open_by_member(s, muted.appeal_token, found.group(1), "转发的通知")
        assert opened.appeal is not None
        appeal_id = opened.appeal.id
    with db.transaction() as s:
        decided = review.decide(s, reviewer, 1, appeal_id, "overturn", "误判")
    assert [u.kind for u in decided.plan] == [UndoKind.not_restorable, UndoKind.unmute]
    unmute, notice = actions(db)[-2:]
    assert (unmute.kind, unmute.params, unmute.status) == (
        "mute",
        {"user": "10001", "seconds": 0},
        "todo",
    )
    assert notice.params["mentions"] == ["10001"] and "禁言已解除" in notice.params["text"]
    by_case = {w.case_id: w for w in warnings(db)}
    assert by_case[muted.id].revoked_at is not None
    assert by_case[warned.id].revoked_at is None  # the first warning still stands
    assert cases(db)[1].status == "overturned"
