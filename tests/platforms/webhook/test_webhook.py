"""A bridge delivering records over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest

from qunyun.community.models import Group, MemberIdentity
from qunyun.db.engine import Database
from tests.platforms.served import Served, add_connection, counters, stored, wait_until
from tests.platforms.webhook.peer import BridgePeer, message

SECRET = "whsec_0123456789abcdefghijklmnopqrstuv"


@pytest.fixture
def bridge(server: Served, db: Database) -> Iterator[tuple[BridgePeer, int]]:
    conn = add_connection(db, "webhook", secret=SECRET, api_url="http://127.0.0.1:9/actions")
    peer = BridgePeer(server.url, conn.key, SECRET)
    yield peer, conn.id
    peer.close()


@pytest.fixture
def sqlite_bridge(sqlite_server: Served, sqlite_db: Database) -> Iterator[tuple[BridgePeer, int]]:
    conn = add_connection(sqlite_db, "webhook", secret=SECRET)
    peer = BridgePeer(sqlite_server.url, conn.key, SECRET)
    yield peer, conn.id
    peer.close()


def test_a_signed_record_is_stored(bridge: tuple[BridgePeer, int], db: Database) -> None:
    peer, conn_id = bridge
    response = peer.post(message(1, mentions=["user2"], reply_to="0"))
    assert response.status_code == 200, response.text
    assert response.json() == {"added": 1, "duplicates": 0}
    (row,) = stored(db)
    assert (row.platform, row.platform_record_id, row.kind) == (
        "wecom",
        "wecom:msg:1",
        "message_posted",
    )
    assert (row.text, row.reply_to, row.data) == ("第 1 条消息", "0", {"mentions": ["user2"]})
    assert row.occurred_at.replace(tzinfo=None).isoformat() == "2024-06-10T01:01:00"
    with db.session() as session:
        group = session.query(Group).one()
        assert (group.platform, group.platform_group_id, group.name) == (
            "wecom",
            "g1",
            "春季训练营 1 群",
        )
        identity = session.query(MemberIdentity).filter_by(platform_user_id="user1").one()
        assert identity.platform == "wecom"
    wait_until(lambda: counters(db, conn_id)["received"] == 1, "the counters")


def test_a_batch_with_duplicates_is_stored_once(
    bridge: tuple[BridgePeer, int], db: Database
) -> None:
    peer, _ = bridge
    batch = {"records": [message(n) for n in range(1, 41)] + [message(3)]}
    first = peer.post(batch)
    assert first.json() == {"added": 40, "duplicates": 1}
    again = peer.post(batch)
    assert again.json() == {"added": 0, "duplicates": 41}
    assert len(stored(db)) == 40


def test_the_platform_defaults_to_webhook_and_unknown_is_counted(
    bridge: tuple[BridgePeer, int], db: Database
) -> None:
    peer, conn_id = bridge
    unknown = {
        "type": "unknown",
        "id": "evt-1",
        "occurred_at": "2024-06-10T09:00:00Z",
        "reason": "dismissed",
    }
    joined = {
        "type": "member_joined",
        "id": "join-1",
        "group": "g",
        "user": "u",
        "occurred_at": "2024-06-10T09:00:00Z",
        "how": "scanned",
    }
    assert peer.post({"records": [unknown, joined]}).json() == {"added": 2, "duplicates": 0}
    rows = stored(db)
    assert {r.platform for r in rows} == {"webhook"}
    kept = next(r for r in rows if r.kind == "unknown")
    assert kept.raw == unknown
    assert kept.data == {"reason": "dismissed"}
    wait_until(lambda: counters(db, conn_id)["unknown"] == 1, "the unknown count")


def test_one_invalid_record_refuses_the_whole_delivery(
    bridge: tuple[BridgePeer, int], db: Database
) -> None:
    peer, _ = bridge
    bad_time = message(2, occurred_at="2024-06-10T09:00:00")
    bad_kind = {**message(3), "type": "message_deleted"}
    typo = {**message(4), "usr": "x"}
    response = peer.post({"records": [message(1), bad_time, bad_kind, typo]})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "webhook.invalid_records"
    where = {(e["record"], e["field"]) for e in body["errors"]}
    assert where == {(1, "occurred_at"), (2, ""), (3, "usr")}
    assert stored(db) == []


def test_a_forged_signature_is_refused_and_counted(
    bridge: tuple[BridgePeer, int], db: Database
) -> None:
    peer, conn_id = bridge
    response = peer.post(message(1), secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["code"] == "webhook.bad_signature"
    assert stored(db) == []
    wait_until(lambda: counters(db, conn_id)["rejected"] == 1, "the rejection count")
    assert counters(db, conn_id)["received"] == 0


BAD_HEADERS = [
    ({"X-Qunyun-Signature": ""}, "missing signature"),
    ({"X-Qunyun-Signature": "sha1=00"}, "bad signature"),
    ({"X-Qunyun-Timestamp": ""}, "missing timestamp"),
    ({"X-Qunyun-Timestamp": "yesterday"}, "malformed timestamp"),
]


def test_missing_or_malformed_headers_are_refused_and_logged(
    sqlite_bridge: tuple[BridgePeer, int],
    sqlite_db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    peer, conn_id = sqlite_bridge
    for headers, reason in BAD_HEADERS:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="qunyun.platforms.hooks"):
            response = peer.post(message(1), headers=headers)
        assert response.status_code == 401, reason
        lines = [r.getMessage() for r in caplog.records]
        assert any(f"reason={reason}" in ln and f"connection={conn_id}" in ln for ln in lines)
        assert not any(SECRET in line for line in lines)
    assert stored(sqlite_db) == []


def test_only_timestamps_within_five_minutes_are_accepted(
    sqlite_bridge: tuple[BridgePeer, int], sqlite_db: Database
) -> None:
    peer, _ = sqlite_bridge
    for skew in (-400, 400, -3600):
        response = peer.post(message(1), timestamp=int(time.time()) + skew)
        assert response.status_code == 401, skew
        assert response.json()["code"] == "webhook.stale_timestamp"
    assert stored(sqlite_db) == []
    assert peer.post(message(1), timestamp=int(time.time()) - 240).status_code == 200


def test_the_body_is_signed_byte_for_byte(sqlite_bridge: tuple[BridgePeer, int]) -> None:
    """Re-serialising the same JSON differently breaks the signature."""
    peer, _ = sqlite_bridge
    body = json.dumps(message(1), ensure_ascii=False).encode()
    stamp = int(time.time())
    from tests.platforms.webhook.peer import sign

    signature = sign(SECRET, str(stamp), body)
    reformatted = json.dumps(message(1), ensure_ascii=True, indent=1).encode()
    response = peer.http.post(
        peer.url,
        content=reformatted,
        headers={"X-Qunyun-Timestamp": str(stamp), "X-Qunyun-Signature": signature},
    )
    assert response.status_code == 401


def test_signed_garbage_is_a_400(
    sqlite_bridge: tuple[BridgePeer, int], sqlite_db: Database
) -> None:
    peer, _ = sqlite_bridge
    for body in (b"{oops", b"\xff\xfe", b""):
        response = peer.post_raw(body)
        assert response.status_code == 400, body
        assert response.json()["code"] == "webhook.bad_json"
    assert stored(sqlite_db) == []


def test_batches_are_limited_to_a_thousand(sqlite_bridge: tuple[BridgePeer, int]) -> None:
    peer, _ = sqlite_bridge
    response = peer.post({"records": [message(n) for n in range(1001)]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "records"
    assert peer.post({"records": []}).status_code == 422
    assert peer.post([message(1)]).status_code == 422


def test_unknown_keys_and_other_platforms_answer_404(
    sqlite_server: Served, sqlite_db: Database
) -> None:
    telegram = add_connection(sqlite_db, "webhook", secret=SECRET, enabled=False)
    onebot = add_connection(sqlite_db, "onebot", secret=SECRET)
    for key in (telegram.key, onebot.key, "nope"):
        peer = BridgePeer(sqlite_server.url, key, SECRET)
        try:
            response = peer.post(message(1))
        finally:
            peer.close()
        assert response.status_code == 404
        assert response.json()["code"] == "webhook.unknown_connection"
