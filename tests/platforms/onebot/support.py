"""Test peers for OneBot: a signing HTTP poster, fixtures (serving: tests/platforms/served.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select

from qunyun.db.engine import Database
from qunyun.platforms.models import PlatformConnection
from qunyun.stream.models import StreamRecord

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "onebot"
T = TypeVar("T")


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def add_connection(
    db: Database,
    *,
    secret: str | None = None,
    token: str | None = None,
    api_url: str | None = None,
    enabled: bool = True,
) -> PlatformConnection:
    with db.transaction() as session:
        conn = PlatformConnection(
            community_id=1,
            platform="onebot",
            name="QQ 机器人",
            key=secrets.token_urlsafe(16),
            inbound_secret=secret,
            access_token=token,
            api_url=api_url,
            enabled=enabled,
        )
        session.add(conn)
        session.flush()
        session.expunge(conn)
    return conn


def reload(db: Database, connection_id: int) -> PlatformConnection:
    with db.session() as session:
        conn = session.get(PlatformConnection, connection_id)
        assert conn is not None
        session.expunge(conn)
        return conn


def count_records(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(StreamRecord)) or 0)


def sign(secret: str, body: bytes) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


class HttpPeer:
    """A OneBot implementation in HTTP POST mode: posts events, signed when it has a secret."""

    def __init__(self, base_url: str, key: str, secret: str | None = None) -> None:
        self.url = f"{base_url}/hooks/onebot/{key}"
        self.secret = secret
        self.http = httpx.Client(timeout=20, trust_env=False)

    def post_raw(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        sent = {"Content-Type": "application/json", "X-Self-ID": "2854196310"}
        if self.secret is not None:
            sent["X-Signature"] = sign(self.secret, body)
        sent.update(headers or {})
        return self.http.post(self.url, content=body, headers=sent)

    def post(self, event: dict[str, Any]) -> httpx.Response:
        return self.post_raw(json.dumps(event, ensure_ascii=False).encode("utf-8"))

    def close(self) -> None:
        self.http.close()
