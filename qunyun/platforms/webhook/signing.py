"""The generic webhook's signature, both directions. Pure.

``X-Qunyun-Timestamp: <unix seconds>`` and ``X-Qunyun-Signature: sha256=<hex>``, where
the hex is the HMAC-SHA256, keyed by the connection's secret, of the timestamp, a dot
and the raw body bytes: ``f"{timestamp}.".encode() + body``. Signing the timestamp
makes an old delivery useless to replay once it is more than five minutes away from
the receiver's clock.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Qunyun-Signature"
TIMESTAMP_HEADER = "X-Qunyun-Timestamp"
MAX_SKEW_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(
        secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256
    )
    return f"sha256={digest.hexdigest()}"


def headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    stamp = str(timestamp)
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature(secret, stamp, body)}


def problem(
    secret: str | None, timestamp: str | None, supplied: str | None, body: bytes, now: float
) -> str | None:
    """Why a delivery fails its check, or None when it passes."""
    if not secret:
        return "no secret configured"
    if not supplied:
        return "missing signature"
    if not timestamp:
        return "missing timestamp"
    stamp = timestamp.strip()
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return "malformed timestamp"
    if abs(now - int(stamp)) > MAX_SKEW_SECONDS:
        return "timestamp too far from now"
    expected = signature(secret, stamp, body)
    if not hmac.compare_digest(
        expected.encode("ascii"), supplied.strip().lower().encode("ascii", "replace")
    ):
        return "bad signature"
    return None
