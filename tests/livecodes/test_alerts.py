"""Alerts: raised once a day, acknowledged, and delivered to a signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select, update

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.livecodes import members as pool
from qunyun.livecodes import service
from qunyun.livecodes.alerts import (
    AlertWorker,
    HttpSender,
    acknowledge_alert,
    check_all,
    deliver_due,
    list_alerts,
    record_fallbacks,
    retry_delay,
)
from qunyun.livecodes.lookup import code_members
from qunyun.livecodes.models import LiveCodeAlert, LiveCodeMember
from qunyun.livecodes.service import LiveCodeEnv
from qunyun.livecodes.tokens import webhook_key
from tests.conftest import make_settings, run_async
from tests.livecodes.conftest import Drops, MakeCode
from tests.livecodes.helpers import WECHAT_GROUPS

OWNER = service.installation_principal()


def alerts(db: Database) -> list[LiveCodeAlert]:
    with db.session(write=False) as s:
        return list(s.scalars(select(LiveCodeAlert).order_by(LiveCodeAlert.id)))


def test_a_member_a_day_from_expiry_raises_one_alert_a_day(
    db: Database, make_code: MakeCode
) -> None:
    code = make_code("A", members=WECHAT_GROUPS[:2], default_expiry_days=0)
    soon = datetime.now(UTC) + timedelta(hours=20)
    with db.transaction() as s:
        first = code_members(s, code.id)[0]
        s.execute(
            update(LiveCodeMember).where(LiveCodeMember.id == first.id).values(expires_at=soon)
        )
    now = datetime.now(UTC)
    with db.transaction() as s:
        assert check_all(s, now) == 1
        assert check_all(s, now + timedelta(minutes=5)) == 0
    found = alerts(db)
    assert [(a.kind, a.member_id) for a in found] == [("member_expiring", first.id)]
    detail = json.loads(found[0].detail or "{}")
    assert detail["member"] == "#1"
    assert found[0].next_delivery_at is None  # no webhook configured


def test_the_last_member_and_the_fallback(
    db: Database, env: LiveCodeEnv, drops: Drops, make_code: MakeCode
) -> None:
    code = make_code("A", members=WECHAT_GROUPS[:2])
    with db.transaction() as s:
        first, second = code_members(s, code.id)
        pool.update_member(s, env, OWNER, 1, code.id, first.id, {"is_enabled": False})
    assert drops.woken == 1  # the change raised an alert: the task is woken to send it
    assert [(a.kind, a.member_id) for a in alerts(db)] == [("last_member", second.id)]
    with db.transaction() as s:
        assert record_fallbacks(s, {code.id}, datetime.now(UTC)) == 1
        assert record_fallbacks(s, {code.id}, datetime.now(UTC)) == 0
        assert record_fallbacks(s, {987654}, datetime.now(UTC)) == 0
    assert [a.kind for a in alerts(db)] == ["last_member", "fallback_served"]


def test_a_new_day_may_raise_the_same_alert_again(db: Database, make_code: MakeCode) -> None:
    code = make_code("A")
    now = datetime(2025, 6, 2, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    with db.transaction() as s:
        assert record_fallbacks(s, [code.id], now) == 1
        assert record_fallbacks(s, [code.id], now + timedelta(minutes=59)) == 0
        assert record_fallbacks(s, [code.id], now + timedelta(hours=1, minutes=1)) == 1


def test_alerts_are_listed_and_acknowledged(
    db: Database, people: dict[Role, Principal], make_code: MakeCode
) -> None:
    code = make_code("A")
    with db.transaction() as s:
        record_fallbacks(s, [code.id], datetime.now(UTC))
    with db.transaction() as s:
        rows = list_alerts(s, people[Role.viewer], 1)
        assert [r.code_name for r in rows] == ["A"]
        with pytest.raises(DomainError) as caught:
            acknowledge_alert(s, people[Role.viewer], 1, rows[0].alert.id)
        assert caught.value.code == "role.insufficient"
        acknowledge_alert(s, people[Role.operator], 1, rows[0].alert.id)
        with pytest.raises(DomainError) as missing:
            acknowledge_alert(s, people[Role.operator], 1, 10**9)
        assert missing.value.status == 404
    with db.session(write=False) as s:
        assert list_alerts(s, people[Role.viewer], 1) == []
        assert len(list_alerts(s, people[Role.viewer], 1, include_acknowledged=True)) == 1


def test_retries_back_off() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert retry_delay(30) == timedelta(hours=6)


# --- the webhook, over real HTTP on the loopback -------------------------------------------


@dataclass
class Receiver:
    url: str
    statuses: list[int]
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="", statuses=[500])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/qunyun-alerts"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_webhook_delivery_is_signed_and_retried(
    sqlite_db: Database, tmp_path: Path, receiver: Receiver
) -> None:
    db = sqlite_db
    settings = make_settings(tmp_path, db, allow_private_targets=True)
    env = LiveCodeEnv(settings)
    with db.transaction() as s:
        code = service.create_code(
            s, env, OWNER, 1, {"name": "训练营", "alert_webhook_url": receiver.url}
        )
        record_fallbacks(s, [code.id], datetime.now(UTC))
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert deliver_due(db, settings, now) == 0  # the receiver answered 500
    [failed] = alerts(db)
    assert (failed.delivered_at, failed.delivery_attempts) == (None, 1)
    assert failed.next_delivery_at is not None
    assert failed.next_delivery_at - now == timedelta(minutes=1)
    assert deliver_due(db, settings, now + timedelta(seconds=30)) == 0  # not due yet
    assert len(receiver.received) == 1
    assert deliver_due(db, settings, now + timedelta(minutes=2)) == 1
    [sent] = alerts(db)
    assert sent.delivered_at is not None
    assert sent.delivery_attempts == 2
    assert deliver_due(db, settings, now + timedelta(hours=1)) == 0  # never twice
    assert len(receiver.received) == 2
    headers, body = receiver.received[-1]
    key = webhook_key(settings.secret_key, code.id).encode()
    expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-qunyun-signature"], expected)
    assert headers["content-type"] == "application/json"
    assert headers["x-qunyun-event"] == "live_code.alert"
    payload = json.loads(body)
    assert payload["kind"] == "fallback_served"
    assert payload["live_code"] == {"id": code.id, "name": "训练营"}
    assert payload["url"] == f"http://testserver/livecodes/{code.id}"
    # Another code's key does not verify it.
    other = webhook_key(settings.secret_key, code.id + 1).encode()
    assert headers["x-qunyun-signature"] != (
        "sha256=" + hmac.new(other, body, hashlib.sha256).hexdigest()
    )


def test_the_background_task_delivers(
    sqlite_db: Database, tmp_path: Path, receiver: Receiver
) -> None:

    receiver.statuses = []
    db = sqlite_db
    settings = make_settings(tmp_path, db, allow_private_targets=True)
    with db.transaction() as s:
        code = service.create_code(
            s, LiveCodeEnv(settings), OWNER, 1, {"name": "A", "alert_webhook_url": receiver.url}
        )
    worker = AlertWorker(db, settings, lambda: {code.id}, interval=3600)
    run_async(worker.run_once())
    assert [a.kind for a in alerts(db)] == ["fallback_served"]
    assert len(receiver.received) == 1


def test_private_targets_are_refused_at_delivery_unless_allowed(receiver: Receiver) -> None:
    with pytest.raises(PermissionError):
        HttpSender(allow_private=False)(receiver.url, b"{}", {})
    assert receiver.received == []
    assert HttpSender(allow_private=True)(receiver.url, b"{}", {}) == 500
