"""When to try a failed action again, and when to give up. Pure."""

from __future__ import annotations

from datetime import timedelta

RETRY_BASE = timedelta(seconds=10)
RETRY_CAP = timedelta(minutes=30)
# About two and a half hours of trying (10 s, 20 s, 40 s … then every 30 min).
MAX_ATTEMPTS = 12


def retry_delay(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed tries: 10, 20, 40 … seconds, at most 30 minutes."""
    if attempts <= 1:
        return RETRY_BASE
    # Past 2**8 the cap has long been reached; keep the shift small.
    return min(RETRY_BASE * (1 << min(attempts - 1, 16)), RETRY_CAP)


def gives_up(attempts: int, *, retryable: bool) -> bool:
    """Whether a failure after ``attempts`` tries is final."""
    return not retryable or attempts >= MAX_ATTEMPTS
