"""Signed values the visitor's browser carries: image addresses, the sticky cookie, the
long-press token, and the key that signs alert webhooks.

Each kind has its own salt, so a value made for one purpose is worthless for another.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

IMAGE_PREFIX = "/livecodes/img/"


def _ints(value: Any, size: int) -> list[int] | None:
    if (
        not isinstance(value, list)
        or len(value) != size
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return None
    return value


class Signer:
    def __init__(self, secret: str) -> None:
        self._images = URLSafeSerializer(secret, salt="qunyun.livecodes.image")
        self._sticky = URLSafeSerializer(secret, salt="qunyun.livecodes.sticky")
        # Not time-stamped: the page carrying it is rendered once and reused, and the
        # press endpoint is rate-limited per visitor anyway.
        self._press = URLSafeSerializer(secret, salt="qunyun.livecodes.press")

    # --- images: immutable addresses, so they can be cached for a year ---------------

    def member_image_url(self, member_id: int, version: int) -> str:
        """``version``: the member's creation time (see :func:`image_version`). A member's
        image never changes, but SQLite may give a new member a deleted one's id."""
        return IMAGE_PREFIX + str(self._images.dumps([0, member_id, version]))

    def fallback_image_url(self, code_id: int, version: int) -> str:
        """``version``: when the code last changed, so a new picture gets a new address."""
        return IMAGE_PREFIX + str(self._images.dumps([1, code_id, version]))

    def read_image(self, token: str) -> tuple[str, int, int] | None:
        """("member", id, version) or ("fallback", code id, version); None when forged."""
        try:
            found = _ints(self._images.loads(token), 3)
        except BadSignature:
            return None
        if found is None or found[0] not in (0, 1):
            return None
        return ("member" if found[0] == 0 else "fallback"), found[1], found[2]

    # --- the sticky cookie: which member a visitor saw, until when --------------------

    def sticky_value(self, code_id: int, member_id: int, until: int) -> str:
        return str(self._sticky.dumps([code_id, member_id, until]))

    def read_sticky(self, value: str, code_id: int, now: float) -> int | None:
        try:
            found = _ints(self._sticky.loads(value), 3)
        except BadSignature:
            return None
        if found is None or found[0] != code_id or found[2] <= now:
            return None
        return found[1]

    # --- the long-press report ---------------------------------------------------------

    def press_token(self, code_id: int, member_id: int, link_id: int) -> str:
        return str(self._press.dumps([code_id, member_id, link_id]))

    def read_press(self, token: str) -> tuple[int, int, int] | None:
        try:
            found = _ints(self._press.loads(token), 3)
        except BadSignature:
            return None
        if found is None:
            return None
        return found[0], found[1], found[2]


def image_version(moment: datetime) -> int:
    """A timestamp in microseconds: distinct for every change the database records."""
    return int(moment.timestamp() * 1_000_000)


def webhook_key(secret: str, code_id: int) -> str:
    """The key a code's alert webhooks are signed with (give it to the receiver)."""
    message = f"qunyun.livecodes.webhook:{code_id}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_body(key: str, body: bytes) -> str:
    """The ``X-Qunyun-Signature`` header value: HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(key.encode("ascii"), body, hashlib.sha256).hexdigest()
