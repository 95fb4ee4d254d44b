"""Argon2id password hashing with a profile chosen by settings."""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

_PROFILES = {
    "rfc_9106_low_memory": profiles.RFC_9106_LOW_MEMORY,
    "rfc_9106_high_memory": profiles.RFC_9106_HIGH_MEMORY,
    # Cheapest legal parameters: only for the test suite, where hashing cost is noise.
    "test": profiles.CHEAPEST,
}

MIN_PASSWORD_LENGTH = 8


class Passwords:
    def __init__(self, profile: str = "rfc_9106_low_memory") -> None:
        self._hasher = PasswordHasher.from_parameters(_PROFILES[profile])

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
