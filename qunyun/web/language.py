"""The language of a request: the user's choice, then the session's, then the browser's."""

from __future__ import annotations

from starlette.requests import Request

from qunyun.i18n import LANGUAGES, negotiate, normalise_language


def request_language(request: Request, default: str) -> str:
    chosen = request.query_params.get("lang")
    if chosen:
        return normalise_language(chosen, default)
    principal = request.scope.get("qunyun.principal")
    if principal is not None and getattr(principal, "language", None) in LANGUAGES:
        return str(principal.language)
    if "session" in request.scope:
        stored = request.session.get("lang")
        if stored in LANGUAGES:
            return str(stored)
    return negotiate(request.headers.get("accept-language"), default)
