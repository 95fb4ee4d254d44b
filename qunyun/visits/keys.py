"""Daily visitor keys: count unique visitors without keeping who they are. Pure."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo


def visitor_key(secret: bytes, day: date, ip: str | None, user_agent: str | None) -> str:
    """A keyed hash (BLAKE2b as a MAC) of (day, address, user agent). The day in the
    message makes keys of different days unlinkable, so the key reveals nothing once the
    raw IP is erased. BLAKE2's own keying is several times cheaper than HMAC-SHA256,
    and this runs for every visit."""
    key = secret if len(secret) <= 64 else hashlib.sha256(secret).digest()
    message = f"{day.isoformat()}|{ip or ''}|{user_agent or ''}".encode("utf-8", "replace")
    return hashlib.blake2b(message, key=key, digest_size=16).hexdigest()


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
