"""Storing records: idempotent, order-tolerant, and keeping members and groups current."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from qunyun.community.models import (
    Group,
    GroupMembership,
    Member,
    MemberIdentity,
    MembershipChange,
)
from qunyun.db.engine import Database
from qunyun.stream.dispatcher import Dispatcher
from qunyun.stream.ingest import Ingestor
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import (
    JoinHow,
    LeaveHow,
    MessageKind,
    RecordKind,
    StoredRecord,
    UnknownPayload,
)
from tests.stream.helpers import at, joined, left, message, renamed


def _count(db: Database, model: type) -> int:
    with db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _membership(db: Database, user: str, group: str = "g1") -> GroupMembership:
    with db.session(write=False) as s:
        row = s.scalars(
            select(GroupMembership)
            .join(MemberIdentity, MemberIdentity.member_id == GroupMembership.member_id)
            .join(Group, Group.id == GroupMembership.group_id)
            .where(MemberIdentity.platform_user_id == user, Group.platform_group_id == group)
        ).one()
        return row


def test_records_are_stored_with_their_fields(db: Database) -> None:
    record = message(
        1,
        text="@all 今晚八点开课",
        mentions=("u2",),
        mention_all=True,
        reply_to="0",
        message_kind=MessageKind.text,
        raw={"post_type": "message", "message_id": 1},
        group_name="读书会一群",
    )
    with db.transaction() as s:
        result = Ingestor(1, source="live:1").ingest(s, [record])
    assert len(result.added) == 1 and result.duplicates == 0
    with db.session(write=False) as s:
        row = s.scalars(select(StreamRecord)).one()
        group = s.scalars(select(Group)).one()
    assert row.kind == "message_posted" and row.text == "@all 今晚八点开课"
    assert row.data == {"mentions": ["u2"], "mention_all": True}
    assert row.raw == {"post_type": "message", "message_id": 1}
    assert row.reply_to == "0" and row.message_id == "1" and row.occurred_at == at(1)
    assert row.group_id == group.id and group.name == "读书会一群"
    assert row.source == "live:1"


def test_a_duplicate_delivery_changes_nothing(db: Database) -> None:
    batch = [message(1), message(2), joined(3, "u2")]
    ingestor = Ingestor(1, source="live:1")
    with db.transaction() as s:
        first = ingestor.ingest(s, [*batch, batch[0]])
    assert len(first.added) == 3 and first.duplicates == 1
    # Again from the same ingestor, and from a fresh one (another worker, a restart).
    for again in (ingestor, Ingestor(1, source="live:1")):
        with db.transaction() as s:
            result = again.ingest(s, batch)
        assert result.added == [] and result.duplicates == 3
    assert _count(db, StreamRecord) == 3
    assert _count(db, MembershipChange) == 1
    assert _membership(db, "u1").message_count == 2
    with db.session(write=False) as s:
        assert (
            s.scalar(
                select(Member.message_count)
                .join(MemberIdentity)
                .where(MemberIdentity.platform_user_id == "u1")
            )
            == 2
        )


def test_a_late_join_does_not_overturn_a_later_leave(db: Database) -> None:
    ingestor = Ingestor(1, source="live:1")
    with db.transaction() as s:
        ingestor.ingest(s, [left(20, "u2", how=LeaveHow.removed)])
    with db.transaction() as s:
        ingestor.ingest(s, [joined(10, "u2")])
    membership = _membership(db, "u2")
    assert membership.status == "removed" and membership.status_at == at(20)
    with db.session(write=False) as s:
        history = (
            s.execute(select(MembershipChange.change).order_by(MembershipChange.occurred_at))
            .scalars()
            .all()
        )
        group = s.scalars(select(Group)).one()
    assert history == ["joined", "removed"]
    assert group.member_count == 0


def test_join_order_source_and_inviter(db: Database) -> None:
    with db.transaction() as s:
        Ingestor(1, source="live:1").ingest(
            s,
            [
                joined(5, "founder"),
                joined(6, "second", how=JoinHow.invited, operator_user_id="founder"),
                message(7, user="talker"),
                joined(8, "founder", group="g2"),
            ],
        )
    with db.session(write=False) as s:
        people = {
            identity.platform_user_id: member
            for identity, member in s.execute(select(MemberIdentity, Member).join(Member)).all()
        }
    assert people["founder"].join_order == 1 and people["second"].join_order == 2
    assert people["second"].source == "invite"
    assert people["second"].inviter_id == people["founder"].id
    assert people["founder"].first_joined_at == at(5)
    # Someone only seen speaking has no join order yet.
    assert people["talker"].join_order is None
    assert _membership(db, "talker").status == "active"


def test_nicknames_follow_the_latest_change(db: Database) -> None:
    ingestor = Ingestor(1, source="live:1")
    with db.transaction() as s:
        ingestor.ingest(s, [joined(1, "u1", nickname="小王"), renamed(9, "u1", "5-1-3305 王")])
    with db.transaction() as s:
        ingestor.ingest(s, [message(12, nickname="5-1-3305 王")])
    assert _membership(db, "u1").nickname == "5-1-3305 王"


def test_unknown_payloads_are_kept_and_counted(db: Database) -> None:
    odd = UnknownPayload(
        platform="qq",
        platform_record_id="raw:abc",
        platform_group_id="g1",
        occurred_at=at(1),
        raw={"post_type": "notice", "notice_type": "essence"},
        reason="notice.essence",
    )
    with db.transaction() as s:
        result = Ingestor(1, source="live:1").ingest(s, [odd, message(2)])
    assert result.unknown == 1
    with db.session(write=False) as s:
        row = s.scalars(select(StreamRecord).where(StreamRecord.kind == "unknown")).one()
    assert row.raw == {"post_type": "notice", "notice_type": "essence"}
    assert row.data == {"reason": "notice.essence"}


def test_a_group_reads_in_platform_order_whatever_the_arrival(db: Database) -> None:
    ingestor = Ingestor(1, source="live:1")
    for n in (5, 1, 4, 2, 3):
        with db.transaction() as s:
            ingestor.ingest(s, [message(n)])
    with db.session(write=False) as s:
        texts = s.scalars(
            select(StreamRecord.text).order_by(StreamRecord.occurred_at, StreamRecord.id)
        ).all()
    assert texts == [f"hello {n}" for n in (1, 2, 3, 4, 5)]


def test_ids_learnt_in_a_rolled_back_transaction_are_forgotten(sqlite_db: Database) -> None:
    db = sqlite_db
    ingestor = Ingestor(1, source="import:1")
    with pytest.raises(RuntimeError), db.transaction() as s:
        ingestor.ingest(s, [message(1, user="ghost", group="gx")])
        raise RuntimeError("crash before commit")
    assert _count(db, Member) == 0
    with db.transaction() as s:
        result = ingestor.ingest(s, [message(1, user="ghost", group="gx")])
    assert len(result.added) == 1
    assert _count(db, Member) == 1 and _count(db, Group) == 1


def test_consumers_hear_of_records_after_commit_only(sqlite_db: Database) -> None:
    db = sqlite_db
    dispatcher = Dispatcher()
    heard: list[StoredRecord] = []
    joins: list[StoredRecord] = []
    dispatcher.subscribe("all", heard.extend)
    dispatcher.subscribe("joins", joins.extend, kinds=[RecordKind.member_joined])

    def broken(_: object) -> None:
        raise ValueError("a consumer bug")

    dispatcher.subscribe("broken", broken)
    ingestor = Ingestor(1, source="live:1", dispatcher=dispatcher)
    with pytest.raises(RuntimeError), db.transaction() as s:
        ingestor.ingest(s, [message(1)])
        raise RuntimeError("rolled back")
    assert heard == []
    with db.transaction() as s:
        ingestor.ingest(s, [message(3), joined(2, "u9")])
        assert heard == []
    assert [h.record.occurred_at for h in heard] == [at(2), at(3)]
    assert [j.record.platform_user_id for j in joins] == ["u9"]
    assert dispatcher.failures == 1


def test_imports_are_not_news_for_live_consumers(sqlite_db: Database) -> None:
    dispatcher = Dispatcher()
    live: list[StoredRecord] = []
    everything: list[StoredRecord] = []
    dispatcher.subscribe("moderation", live.extend)
    dispatcher.subscribe("analytics", everything.extend, live_only=False)
    with sqlite_db.transaction() as s:
        Ingestor(1, source="import:7", dispatcher=dispatcher).ingest(s, [message(1)])
    assert live == [] and len(everything) == 1
