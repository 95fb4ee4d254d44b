"""A bridge posting records to Qunyun, signing as docs/platforms.md says — written from
the documentation with hashlib, not with Qunyun's own signing module."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class BridgePeer:
    def __init__(self, base_url: str, key: str, secret: str) -> None:
        self.url = f"{base_url}/hooks/webhook/{key}"
        self.secret = secret
        self.http = httpx.Client(timeout=20, trust_env=False)

    def post_raw(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        sent = {
            "Content-Type": "application/json",
            "X-Qunyun-Timestamp": stamp,
            "X-Qunyun-Signature": sign(secret or self.secret, stamp, body),
        }
        sent.update(headers or {})
        return self.http.post(self.url, content=body, headers=sent)

    def post(self, payload: Any, **options: Any) -> httpx.Response:
        return self.post_raw(json.dumps(payload, ensure_ascii=False).encode("utf-8"), **options)

    def close(self) -> None:
        self.http.close()


def message(n: int, **fields: Any) -> dict[str, Any]:
    record = {
        "type": "message_posted",
        "id": f"wecom:msg:{n}",
        "platform": "wecom",
        "group": "g1",
        "group_name": "春季训练营 1 群",
        "user": f"user{n % 3}",
        "user_name": f"成员{n % 3}",
        "occurred_at": f"2024-06-10T09:{n % 60:02d}:00+08:00",
        "message_id": str(n),
        "text": f"第 {n} 条消息",
    }
    record.update(fields)
    return record
