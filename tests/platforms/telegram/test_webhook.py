"""Telegram delivering Updates to Qunyun over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aiogram.types import Chat, Message, Update, User

from qunyun.community.models import GroupMembership
from qunyun.db.engine import Database
from tests.platforms.served import Served, add_connection, counters, stored, wait_until
from tests.platforms.telegram.support import (
    SECRET_HEADER,
    TelegramPeer,
    fixture,
    fixture_names,
    update_body,
)

SECRET = "s3cret_token-ABCxyz0123456789"


def fixture_body(name: str) -> bytes:
    return update_body(Update.model_validate(fixture(name)))


GROUP = Chat(id=-1001234567890, type="supergroup", title="春季训练营 1 群")
ZHANG = User(id=111111111, is_bot=False, first_name="三", last_name="张")


@pytest.fixture
def peer(server: Served, db: Database) -> Iterator[tuple[TelegramPeer, int]]:
    conn = add_connection(db, "telegram", secret=SECRET, token="123:ABC")
    client = TelegramPeer(server.url, conn.key, SECRET)
    yield client, conn.id
    client.close()


@pytest.fixture
def sqlite_peer(sqlite_server: Served, sqlite_db: Database) -> Iterator[tuple[TelegramPeer, int]]:
    conn = add_connection(sqlite_db, "telegram", secret=SECRET, token="123:ABC")
    client = TelegramPeer(sqlite_server.url, conn.key, SECRET)
    yield client, conn.id
    client.close()


def test_every_fixture_is_accepted_and_stored(peer: tuple[TelegramPeer, int], db: Database) -> None:
    client, conn_id = peer
    for name in fixture_names():
        response = client.post(fixture(name))
        assert response.status_code == 204, (name, response.text)
    rows = stored(db)
    assert {r.platform for r in rows} == {"telegram"}
    kinds = [r.kind for r in rows]
    assert kinds.count("reaction_added") == 1
    assert kinds.count("join_requested") == 1
    # The joins and leaves of the service messages and chat_member updates.
    assert kinds.count("member_joined") == 6
    assert kinds.count("member_left") == 4
    text = next(r for r in rows if r.platform_record_id == "msg:-1001234567890:101")
    assert text.text == "早上好 😀 @lisi 请看 王五 的作业"
    assert text.data == {"mentions": ["@lisi", "333333333"]}
    assert text.raw == fixture("message_text")
    edit = next(r for r in rows if r.platform_record_id.startswith("edit:"))
    assert edit.message_id == "101"
    assert edit.data == {"edited": True}
    wait_until(lambda: counters(db, conn_id)["received"] == len(rows), "the counters")
    unknown = [r for r in rows if r.kind == "unknown"]
    assert counters(db, conn_id)["unknown"] == len(unknown) == 6
    assert counters(db, conn_id)["last_seen_at"] is not None


def test_updates_built_by_aiogram_are_stored(peer: tuple[TelegramPeer, int], db: Database) -> None:
    client, _ = peer
    update = Update(
        update_id=1,
        message=Message(
            message_id=7,
            date=datetime.fromtimestamp(1718000000, UTC),
            chat=GROUP,
            from_user=ZHANG,
            text="大家好",
        ),
    )
    assert client.post(update).status_code == 204
    (row,) = stored(db)
    assert (row.kind, row.text, row.platform_user_id) == ("message_posted", "大家好", "111111111")
    with db.session() as session:
        membership = session.query(GroupMembership).one()
        assert (membership.status, membership.message_count) == ("active", 1)


def test_a_redelivered_update_is_stored_once(peer: tuple[TelegramPeer, int], db: Database) -> None:
    client, _ = peer
    for _ in range(3):
        assert client.post(fixture("message_text")).status_code == 204
    assert client.post(fixture("channel_post")).status_code == 204
    assert client.post(fixture("channel_post")).status_code == 204
    assert [r.kind for r in stored(db)] == ["message_posted", "unknown"]


def test_a_forged_secret_is_refused_and_counted(
    peer: tuple[TelegramPeer, int], db: Database
) -> None:
    client, conn_id = peer
    body = client.post_raw(fixture_body("message_text"), {SECRET_HEADER: "wrong"})
    assert body.status_code == 401
    assert body.json()["code"] == "telegram.bad_secret"
    assert stored(db) == []
    wait_until(lambda: counters(db, conn_id)["rejected"] == 1, "the rejection count")
    assert counters(db, conn_id)["received"] == 0


def test_near_misses_of_the_secret_are_refused(
    sqlite_peer: tuple[TelegramPeer, int], sqlite_db: Database
) -> None:
    client, _ = sqlite_peer
    for secret in ("", SECRET + "x", SECRET[:-1], SECRET.upper()):
        response = client.post_raw(fixture_body("message_text"), {SECRET_HEADER: secret})
        assert response.status_code == 401, secret
    assert stored(sqlite_db) == []


def test_a_missing_secret_is_refused(sqlite_server: Served, sqlite_db: Database) -> None:
    db = sqlite_db
    conn = add_connection(db, "telegram", secret=SECRET)
    bare = TelegramPeer(sqlite_server.url, conn.key, None)
    try:
        response = bare.post(fixture("message_text"))
    finally:
        bare.close()
    assert response.status_code == 401
    assert stored(db) == []
    wait_until(lambda: counters(db, conn.id)["rejected"] == 1, "the rejection count")


def test_a_connection_without_a_secret_refuses_everything(
    sqlite_server: Served, sqlite_db: Database
) -> None:
    db = sqlite_db
    conn = add_connection(db, "telegram", secret=None)
    client = TelegramPeer(sqlite_server.url, conn.key, "anything")
    try:
        assert client.post(fixture("message_text")).status_code == 401
    finally:
        client.close()
    assert stored(db) == []


def test_refusals_are_logged_without_the_secret(
    sqlite_server: Served, sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    conn = add_connection(sqlite_db, "telegram", secret=SECRET)
    client = TelegramPeer(sqlite_server.url, conn.key, "forged-token")
    with caplog.at_level(logging.WARNING, logger="qunyun.platforms.hooks"):
        try:
            assert client.post(fixture("message_text")).status_code == 401
        finally:
            client.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "qunyun.platforms.hooks"]
    assert any("wrong secret token" in line and f"connection={conn.id}" in line for line in lines)
    assert not any(SECRET in line or "forged-token" in line for line in lines)


def test_bad_bodies_are_refused_with_400(
    sqlite_peer: tuple[TelegramPeer, int], sqlite_db: Database
) -> None:
    client, _ = sqlite_peer
    for body in (b"{not json", b"\xff\xfe{}", b'{"text": "\xff"}', b"[1, 2]", b'"update"', b""):
        response = client.post_raw(body)
        assert response.status_code == 400, body
        assert response.json()["code"] == "telegram.bad_json"
    huge = b'{"update_id": 1, "poll": {"id": "' + b"x" * (1 << 20) + b'"}}'
    assert client.post_raw(huge).status_code == 413
    assert stored(sqlite_db) == []


def test_unknown_and_disabled_connections_answer_404(
    sqlite_server: Served, sqlite_db: Database
) -> None:
    server, db = sqlite_server.url, sqlite_db
    disabled = add_connection(db, "telegram", secret=SECRET, enabled=False)
    onebot = add_connection(db, "onebot", secret=SECRET)
    for key in (disabled.key, onebot.key, "no-such-key"):
        client = TelegramPeer(server, key, SECRET)
        try:
            response = client.post(fixture("message_text"))
        finally:
            client.close()
        assert response.status_code == 404
        assert response.json()["code"] == "telegram.unknown_connection"
    assert stored(db) == []


def test_refusals_speak_the_callers_language(sqlite_peer: tuple[TelegramPeer, int]) -> None:
    client, _ = sqlite_peer
    zh = client.post_raw(b"{", {"Accept-Language": "zh-CN"}).json()["message"]
    en = client.post_raw(b"{", {"Accept-Language": "en"}).json()["message"]
    assert "JSON" in zh and zh != en
    assert en.startswith("The request body")
