"""Every refusal as JSON ``{code, message}`` for the API, or as a page for people."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from qunyun.errors import DomainError
from qunyun.i18n import gettext
from qunyun.web.render import language_of, render

log = logging.getLogger("qunyun.web")

_HTTP_CODES = {
    400: "bad_request",
    401: "auth.required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
}


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def error_payload(request: Request, code: str, params: dict[str, Any]) -> dict[str, Any]:
    lang = language_of(request)
    return {"code": code, "message": gettext(f"error.{code}", lang, **params)}


def error_response(
    request: Request, code: str, status: int, params: dict[str, Any] | None = None
) -> Response:
    params = params or {}
    headers: dict[str, str] = {}
    if "retry_after" in params:
        headers["Retry-After"] = str(params["retry_after"])
    if status == 401 and not wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    payload = error_payload(request, code, params)
    if wants_json(request):
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(payload, status_code=status, headers=headers)
    response = render(request, "error.html", status_code=status, error=payload, status=status)
    response.headers.update(headers)
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return error_response(request, exc.code, exc.status, exc.params)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
            problems.append({"field": where, "problem": str(err.get("msg", ""))})
        detail = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        payload = error_payload(request, "validation", {"detail": detail})
        payload["errors"] = problems
        return JSONResponse(payload, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(request, code, exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, "internal", 500)
