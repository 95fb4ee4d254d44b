"""Daily visitor keys: count unique visitors without keeping who they are. Pure."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo


def visitor_key(secret: bytes, day: date, ip: str | None, user_agent: str | None) -> str:
    """HMAC of (day, address, user agent). The day in the message makes keys of
    different days unlinkable, so the key reveals nothing once the raw IP is erased."""
    message = f"{day.isoformat()}|{ip or ''}|{user_agent or ''}".encode("utf-8", "replace")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def local_day(ts: float, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(ts, UTC).astimezone(zone).date()


def epoch_hour(ts: float) -> int:
    return int(ts // 3600)


def referrer_host(referrer: str | None) -> str | None:
    if not referrer:
        return None
    try:
        host = urlsplit(referrer).hostname
    except ValueError:
        return None
    return host[:255] if host else None
