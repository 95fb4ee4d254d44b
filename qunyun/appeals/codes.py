"""One-time codes that prove the person appealing is the member the case is about. Pure.

A code is six random digits (``secrets``), sent privately to the member; only its
SHA-256 is stored. Six digits are few, so guessing is bounded by the limits, not by
the hash: at most :data:`MAX_ATTEMPTS` tries per code, :data:`MAX_CODES_PER_HOUR`
codes per case per hour, each valid for :data:`CODE_TTL`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from datetime import timedelta

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=30)
MAX_ATTEMPTS = 5
MAX_CODES_PER_HOUR = 3
CODES_WINDOW = timedelta(hours=1)


def new_code() -> str:
    """Six digits, leading zeros included."""
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def clean_input(text: str) -> str | None:
    """What the member typed as a code: full-width digits and spaces forgiven
    (phones), anything but exactly six ASCII digits is ``None``."""
    folded = unicodedata.normalize("NFKC", text)
    digits = "".join(ch for ch in folded if not ch.isspace() and ch != "-")
    if len(digits) != CODE_LENGTH or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def matches(code: str, stored_hash: str) -> bool:
    """Constant-time comparison of a typed code with a stored hash."""
    return hmac.compare_digest(hash_code(code), stored_hash)
