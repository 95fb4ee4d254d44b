"""Invite codes on both databases: creation, states, listing, revoking, and the last
use of a code raced for by two applicants at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from qunyun.accounts.roles import Role
from qunyun.db.base import utcnow
from qunyun.db.engine import Database
from qunyun.entry import invites
from qunyun.entry.models import InviteCode
from qunyun.errors import Conflict, DomainError, Forbidden, NotFound
from tests.entry.conftest import make_group, operator


def test_codes_are_random_and_readable_or_custom_and_case_insensitive(db: Database) -> None:
    with db.transaction() as session:
        made = invites.create_invite(session, operator(), 1)
        assert len(made.code) == invites.GENERATED_LENGTH
        assert set(made.code) <= set(invites.CODE_ALPHABET)
        custom = invites.create_invite(session, operator(), 1, code=" camp-2026 ")
        assert custom.code == "CAMP-2026"
        with pytest.raises(Conflict):
            invites.create_invite(session, operator(), 1, code="Camp-2026")
        for bad in ("ab", "has space", "中文码", "-lead", "x" * 33):
            with pytest.raises(DomainError) as refused:
                invites.create_invite(session, operator(), 1, code=bad)
            assert refused.value.code == "invite.bad_code"
        # The savepoint of the refused duplicate left the transaction usable.
        assert invites.find_invite(session, operator(), 1, "camp-2026").id == custom.id


def test_creation_checks_its_fields_and_roles(db: Database) -> None:
    gid = make_group(db)
    with db.transaction() as session:
        with pytest.raises(Forbidden):
            invites.create_invite(session, operator(Role.viewer), 1)
        with pytest.raises(NotFound):
            invites.create_invite(session, operator(), 1, group_id=gid + 99)
        with pytest.raises(NotFound):
            invites.create_invite(session, operator(), 1, inviter_member_id=12345)
        with pytest.raises(DomainError, match="bad_quota"):
            invites.create_invite(session, operator(), 1, quota=0)
        with pytest.raises(DomainError, match="expiry_in_past"):
            invites.create_invite(session, operator(), 1, expires_at=utcnow() - timedelta(1))
        with pytest.raises(DomainError, match="label_too_long"):
            invites.create_invite(session, operator(), 1, label="x" * 201)


def test_states_listing_and_revoking(db: Database) -> None:
    gid = make_group(db)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    with db.transaction() as session:
        live = invites.create_invite(session, operator(), 1, code="LIVE1", group_id=gid, now=now)
        soon = invites.create_invite(
            session, operator(), 1, code="SOON1", expires_at=now + timedelta(days=1), now=now
        )
        full = invites.create_invite(session, operator(), 1, code="FULL1", quota=1, now=now)
        assert invites.take_use(session, full.id, now)
        gone = invites.create_invite(session, operator(), 1, code="GONE1", now=now)
        invites.revoke_invite(session, operator(), 1, gone.id)
        later = now + timedelta(days=2)
        states = {
            r.invite.code: r.state
            for r in invites.list_invites(session, operator(Role.viewer), 1, now=later).items
        }
        assert states == {
            "LIVE1": "live",
            "SOON1": "expired",
            "FULL1": "used_up",
            "GONE1": "revoked",
        }
        for state, code in (("live", "LIVE1"), ("expired", "SOON1"), ("used_up", "FULL1")):
            page = invites.list_invites(session, operator(), 1, state=state, now=later)
            assert [r.invite.code for r in page.items] == [code]
            assert page.total == 1
        row = invites.list_invites(session, operator(), 1, group_id=gid, now=later).items[0]
        assert (row.invite.id, row.group_name) == (live.id, "测试群100")
        assert invites.list_invites(session, operator(), 1, per_page=2, page=2).total == 4
        with pytest.raises(DomainError):
            invites.list_invites(session, operator(), 1, state="nonsense")
        assert not invites.take_use(session, gone.id, now)
        assert not invites.take_use(session, soon.id, later)


def test_codes_found_in_text_prefer_a_live_one_for_the_group(db: Database) -> None:
    gid = make_group(db)
    other = make_group(db, "200")
    with db.transaction() as session:
        invites.create_invite(session, operator(), 1, code="THEIRS", group_id=other)
        invites.create_invite(session, operator(), 1, code="OURS1", group_id=gid)
        found = invites.code_in_text(session, 1, gid, "theirs? no: ours1")
        assert found is not None
        assert (found.invite.code, found.problem) == ("OURS1", None)
        wrong = invites.code_in_text(session, 1, gid, "THEIRS")
        assert wrong is not None
        assert wrong.problem == "other_group"
        assert invites.code_in_text(session, 1, gid, "没有码") is None


def test_two_applicants_racing_for_the_last_use_one_wins(db: Database) -> None:
    with db.transaction() as session:
        code_id = invites.create_invite(session, operator(), 1, code="LAST1", quota=2).id
        assert invites.take_use(session, code_id)  # one use left

    barrier = threading.Barrier(2)
    results: list[bool] = []
    lock = threading.Lock()
    # PostgreSQL: both transactions have read the code as having a use left before
    # either takes it. SQLite lets one writer in at a time (BEGIN IMMEDIATE), so there
    # the two start together and queue for the lock.
    interleave = db.dialect != "sqlite"

    def applicant() -> None:
        if not interleave:
            barrier.wait(timeout=30)
        with db.transaction() as session:
            assert session.get(InviteCode, code_id) is not None
            if interleave:
                assert session.get(InviteCode, code_id).used == 1  # type: ignore[union-attr]
                barrier.wait(timeout=30)
            won = invites.take_use(session, code_id)
        with lock:
            results.append(won)

    threads = [threading.Thread(target=applicant) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False, True]
    with db.session(write=False) as session:
        assert session.get(InviteCode, code_id).used == 2  # type: ignore[union-attr]


def test_the_public_view_names_the_groups_a_code_opens(db: Database) -> None:
    gid = make_group(db, name="一群")
    make_group(db, "200", name="二群")
    with db.transaction() as session:
        invites.create_invite(session, operator(), 1, code="ANY01")
        invites.create_invite(session, operator(), 1, code="ONE01", group_id=gid)
        anyone = invites.public_invite(session, "DEFAULT", "any01")
        assert [g.name for g in anyone.groups] == ["一群", "二群"]
        assert anyone.state == "live"
        assert [g.name for g in invites.public_invite(session, "default", "ONE01").groups] == [
            "一群"
        ]
        with pytest.raises(NotFound):
            invites.public_invite(session, "default", "NOPE1")
        with pytest.raises(NotFound):
            invites.public_invite(session, "elsewhere", "ANY01")


def test_expiry_text_is_local_time(db: Database) -> None:
    assert invites.parse_expiry("", "Asia/Shanghai") is None
    day = invites.parse_expiry("2026-12-31", "Asia/Shanghai")
    assert day == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # the end of that day there
    assert invites.parse_expiry("2026-12-31 18:00", "Asia/Shanghai") == datetime(
        2026, 12, 31, 10, 0, tzinfo=UTC
    )
    with pytest.raises(DomainError):
        invites.parse_expiry("tomorrow", "Asia/Shanghai")
