"""HTTP POST mode over a real socket: a peer signs events as OneBot implementations do."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from qunyun.community.models import GroupMembership, MemberIdentity
from qunyun.db.engine import Database
from tests.platforms.onebot.support import (
    HttpPeer,
    add_connection,
    count_records,
    fixture,
    fixture_names,
    reload,
    sign,
)
from tests.platforms.served import Served, stored

SECRET = "onebot-secret-测试"


def _peer(server: Served, db: Database) -> HttpPeer:
    conn = add_connection(db, secret=SECRET)
    p = HttpPeer(server.url, conn.key, SECRET)
    p.connection_id = conn.id  # type: ignore[attr-defined]
    return p


@pytest.fixture
def peer(server: Served, db: Database) -> HttpPeer:
    """On each database: for what storing does."""
    return _peer(server, db)


@pytest.fixture
def sqlite_peer(sqlite_server: Served, sqlite_db: Database) -> HttpPeer:
    """On SQLite only: for refusals, which store nothing."""
    return _peer(sqlite_server, sqlite_db)


def test_every_fixture_lands_in_the_stream(peer: HttpPeer, db: Database) -> None:
    names = fixture_names()
    for name in names:
        response = peer.post(fixture(name))
        assert response.status_code == 204, (name, response.text)
    rows = stored(db)
    stored_ids = {row.raw["message_id"] for row in rows if row.kind == "message_posted"}
    assert len(stored_ids) == sum(1 for n in names if n.startswith("message_group"))
    kinds = sorted(row.kind for row in rows)
    # Two meta events store nothing; every other fixture is one record.
    assert len(rows) == len(names) - 2
    assert kinds.count("unknown") == 4  # private message, group_ban, poke, friend request
    assert {row.platform for row in rows} == {"qq"}
    assert all(row.source == f"live:{peer.connection_id}" for row in rows)  # type: ignore[attr-defined]
    conn = reload(db, peer.connection_id)  # type: ignore[attr-defined]
    assert conn.received_count == len(rows)
    assert conn.unknown_count == 4
    assert conn.rejected_count == 0
    assert conn.self_id == "2854196310"
    assert conn.last_seen_at is not None


def test_a_duplicate_delivery_is_stored_once(peer: HttpPeer, db: Database) -> None:
    event = fixture("message_group_array")
    assert peer.post(event).status_code == 204
    assert peer.post(event).status_code == 204
    rows = stored(db)
    assert [r.platform_record_id for r in rows] == ["msg:736584321:-2147480113"]
    with db.session() as session:
        membership = session.scalars(select(GroupMembership)).one()
        assert membership.message_count == 1


def test_leave_delivered_before_join_leaves_the_member_out(peer: HttpPeer, db: Database) -> None:
    joined = fixture("notice_group_increase_approve")
    left = fixture("notice_group_decrease_leave")
    assert left["time"] > joined["time"]
    assert peer.post(left).status_code == 204
    assert peer.post(joined).status_code == 204
    with db.session() as session:
        identity = session.scalars(
            select(MemberIdentity).where(MemberIdentity.platform_user_id == "1122334455")
        ).one()
        membership = session.scalars(
            select(GroupMembership).where(GroupMembership.member_id == identity.member_id)
        ).one()
        assert membership.status == "left"
    assert sorted(r.kind for r in stored(db)) == ["member_joined", "member_left"]


FORGED = [
    {"X-Signature": "sha1=" + "0" * 40},
    {"X-Signature": sign("another secret", b"{}")},
    {"X-Signature": "sha256=abc"},
    {"X-Signature": "sha1=zz"},
    {"X-Signature": ""},
]


def test_forged_signatures_are_refused_logged_and_counted(
    sqlite_peer: HttpPeer, sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(fixture("message_group_string")).encode()
    with caplog.at_level(logging.WARNING, logger="qunyun.platforms.hooks"):
        for headers in FORGED:
            response = sqlite_peer.post_raw(body, headers)
            assert response.status_code == 401, headers
            assert response.json()["code"] == "onebot.bad_signature"
    assert count_records(sqlite_db) == 0
    # Rejections are counted by the stream writer's next batch: a good delivery is one.
    assert sqlite_peer.post(fixture("notice_group_card")).status_code == 204
    conn = reload(sqlite_db, sqlite_peer.connection_id)  # type: ignore[attr-defined]
    assert conn.rejected_count == len(FORGED)
    assert conn.received_count == 1
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == len(FORGED)
    assert not any(SECRET in message for message in refusals)


def test_a_missing_signature_is_refused(sqlite_server: Served, sqlite_db: Database) -> None:
    conn = add_connection(sqlite_db, secret=SECRET)
    unsigned = HttpPeer(sqlite_server.url, conn.key, secret=None)
    response = unsigned.post(fixture("message_group_string"))
    assert response.status_code == 401
    assert count_records(sqlite_db) == 0


def test_without_a_secret_nothing_is_checked(sqlite_server: Served, sqlite_db: Database) -> None:
    conn = add_connection(sqlite_db)
    response = HttpPeer(sqlite_server.url, conn.key).post(fixture("notice_group_recall"))
    assert response.status_code == 204
    assert [r.kind for r in stored(sqlite_db)] == ["message_recalled"]


def test_an_unknown_event_is_answered_stored_and_counted(peer: HttpPeer, db: Database) -> None:
    event = {
        "time": 1717300000,
        "self_id": 2854196310,
        "post_type": "notice",
        "notice_type": "group_todo_list",
        "group_id": 736584321,
        "user_id": 1,
    }
    assert peer.post(event).status_code == 204
    (row,) = stored(db)
    assert row.kind == "unknown"
    assert row.data == {"reason": "unrecognised:notice.group_todo_list"}
    assert row.raw == event
    conn = reload(db, peer.connection_id)  # type: ignore[attr-defined]
    assert conn.unknown_count == 1


BROKEN = [
    (b"{not json", "onebot.bad_json"),
    (b"[1, 2]", "onebot.bad_json"),
    (b"", "onebot.bad_json"),
    (b'{"post_type": "\xff\xfe"}', "onebot.bad_encoding"),
]


def test_a_broken_body_is_a_400(sqlite_peer: HttpPeer, sqlite_db: Database) -> None:
    for body, code in BROKEN:
        response = sqlite_peer.post_raw(body)
        assert response.status_code == 400, body
        assert response.json()["code"] == code
    assert count_records(sqlite_db) == 0


def test_an_unknown_or_disabled_key_is_a_404(sqlite_server: Served, sqlite_db: Database) -> None:
    disabled = add_connection(sqlite_db, enabled=False)
    for key in ("no-such-key", disabled.key):
        response = HttpPeer(sqlite_server.url, key).post(fixture("notice_group_card"))
        assert response.status_code == 404
        assert response.json()["code"] == "onebot.unknown_connection"


def test_a_heartbeat_notes_the_bot_and_stores_nothing(
    sqlite_peer: HttpPeer, sqlite_db: Database
) -> None:
    beat = {**fixture("meta_heartbeat"), "self_id": 10086}
    assert sqlite_peer.post(beat).status_code == 204
    assert count_records(sqlite_db) == 0
    assert reload(sqlite_db, sqlite_peer.connection_id).self_id == "10086"  # type: ignore[attr-defined]
