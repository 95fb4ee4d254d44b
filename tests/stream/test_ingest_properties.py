"""Whatever the arrival order, batching and duplication, the stored state is the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from qunyun.community.models import Group, GroupMembership, Member, MemberIdentity
from qunyun.db.engine import Database
from qunyun.stream.ingest import Ingestor
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import LeaveHow, Record
from tests.stream.helpers import joined, left, message, renamed

USERS = ("u1", "u2", "u3")
GROUPS = ("g1", "g2")


@st.composite
def histories(draw: st.DrawFn) -> list[Record]:
    """Up to 25 records at distinct times: joins, leaves, messages, nickname changes."""
    times = draw(st.lists(st.integers(0, 10_000), min_size=1, max_size=25, unique=True))
    records: list[Record] = []
    for t in times:
        user, group = draw(st.sampled_from(USERS)), draw(st.sampled_from(GROUPS))
        kind = draw(st.sampled_from(("join", "leave", "kick", "message", "rename")))
        if kind == "join":
            records.append(joined(t, user, group))
        elif kind == "leave":
            records.append(left(t, user, group))
        elif kind == "kick":
            records.append(left(t, user, group, how=LeaveHow.removed))
        elif kind == "message":
            records.append(message(t, user, group))
        else:
            records.append(renamed(t, user, f"nick-{t}", group))
    return records


def _state(db: Database) -> dict[str, Any]:
    with db.session(write=False) as s:
        memberships = {
            (uid, gid): (m.status, m.message_count, m.last_active_at, m.status_at)
            for m, uid, gid in s.execute(
                select(GroupMembership, MemberIdentity.platform_user_id, Group.platform_group_id)
                .join(MemberIdentity, MemberIdentity.member_id == GroupMembership.member_id)
                .join(Group, Group.id == GroupMembership.group_id)
            )
        }
        members = {
            uid: (m.message_count, m.first_joined_at, m.last_active_at)
            for m, uid in s.execute(
                select(Member, MemberIdentity.platform_user_id).join(MemberIdentity)
            )
        }
        counts = dict(s.execute(select(Group.platform_group_id, Group.member_count)).all())
        records = (
            s.execute(
                select(StreamRecord.platform_record_id).order_by(
                    StreamRecord.occurred_at, StreamRecord.platform_record_id
                )
            )
            .scalars()
            .all()
        )
    return {"m": memberships, "p": members, "c": counts, "r": records}


def _fresh(template: Path, tmp: Path, name: str) -> Database:
    target = tmp / name
    target.write_bytes(template.read_bytes())
    return Database(f"sqlite:///{target}")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories(), data=st.data())
def test_order_batching_and_duplicates_do_not_change_the_outcome(
    history: list[Record], data: st.DataObject, sqlite_template: Path, tmp_path: Path
) -> None:
    reference = _fresh(sqlite_template, tmp_path, "reference.db")
    arrival = _fresh(sqlite_template, tmp_path, "arrival.db")
    try:
        in_order = sorted(history, key=lambda r: r.occurred_at)
        with reference.transaction() as s:
            Ingestor(1, source="live:1").ingest(s, in_order)

        shuffled = data.draw(st.permutations(history))
        repeats = data.draw(st.lists(st.sampled_from(history), max_size=8))
        deliveries = shuffled + repeats
        cuts = sorted(data.draw(st.sets(st.integers(1, len(deliveries)), max_size=5)))
        ingestor = Ingestor(1, source="live:1")
        start = 0
        for cut in [*cuts, len(deliveries)]:
            if cut > start:
                with arrival.transaction() as s:
                    ingestor.ingest(s, deliveries[start:cut])
                start = cut
        # Join numbers follow arrival, so they are not compared; all else must agree.
        assert _state(arrival) == _state(reference)
    finally:
        reference.dispose()
        arrival.dispose()
