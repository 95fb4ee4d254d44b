"""Domain errors with stable machine-readable codes.

Pure: imports nothing from the web or the database. The web layer turns a
:class:`DomainError` into ``{"code": ..., "message": ...}`` with the message in the
request's language, looked up in the ``messages.toml`` catalogues under the key
``error.<code>``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the user can act on: bad input, a missing thing, a forbidden act."""

    def __init__(self, code: str, status: int = 400, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = params

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, status={self.status}, params={self.params!r})"


class NotFound(DomainError):
    def __init__(self, code: str = "not_found", **params: Any) -> None:
        super().__init__(code, status=404, **params)


class Forbidden(DomainError):
    def __init__(self, code: str = "forbidden", **params: Any) -> None:
        super().__init__(code, status=403, **params)


class Conflict(DomainError):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code, status=409, **params)
