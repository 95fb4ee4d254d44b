"""Sign in and out, language, API tokens: the pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from qunyun.accounts import service
from qunyun.accounts.deps import Ctx, CurrentPrincipal, DbSession, OptionalPrincipal, csrf_protect
from qunyun.errors import DomainError
from qunyun.i18n import LANGUAGES, error_text, gettext
from qunyun.web.client_ip import scope_client_ip
from qunyun.web.ratelimits import enforce
from qunyun.web.render import language_of, render
from qunyun.web.schemas import RowId

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after login would be a phishing tool."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/links"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/links"
    return target


@router.get("/")
def home(principal: OptionalPrincipal) -> Response:
    return RedirectResponse("/links" if principal else "/login", status_code=303)


@router.get("/login")
def login_page(request: Request, principal: OptionalPrincipal, next: str = "/links") -> Response:
    if principal is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "accounts/login.html", next=_safe_next(next), name="", error=None)


@router.post("/login")
def login(
    request: Request,
    ctx: Ctx,
    session: DbSession,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/links",
) -> Response:
    ip = scope_client_ip(request.scope, tuple(ctx.settings.trusted_proxies)) or "-"
    try:
        enforce(ctx, f"login:{ip}:{name.strip().casefold()}", ctx.settings.login_rate)
    except DomainError as exc:
        message = gettext("error.rate_limited", language_of(request), **exc.params)
        return render(
            request,
            "accounts/login.html",
            status_code=429,
            next=_safe_next(next),
            name=name,
            error=message,
        )
    user = service.authenticate(session, ctx.passwords, name, password)
    if user is None:
        return render(
            request,
            "accounts/login.html",
            status_code=401,
            next=_safe_next(next),
            name=name,
            error=gettext("error.auth.bad_credentials", language_of(request)),
        )
    lang = request.session.get("lang")
    request.session.clear()  # a fresh session: no fixation across the login boundary
    request.session.update({"uid": user.id, "sv": user.session_version})
    if lang:
        request.session["lang"] = lang
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
def set_language(
    request: Request,
    session: DbSession,
    principal: OptionalPrincipal,
    lang: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/links",
) -> Response:
    if lang not in LANGUAGES:
        raise DomainError("user.unknown_language", language=lang)
    request.session["lang"] = lang
    if principal is not None:
        service.set_language(session, principal.user_id, lang)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.get("/tokens")
def tokens_page(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    tokens = service.list_tokens(session, principal.user_id)
    return render(request, "accounts/tokens.html", tokens=tokens, new_token=None, error=None)


@router.post("/tokens")
def create_token(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    name: Annotated[str, Form(max_length=200)],
) -> Response:
    try:
        issued = service.create_token(session, principal.user_id, name)
    except DomainError as exc:
        tokens = service.list_tokens(session, principal.user_id)
        message = error_text(exc, language_of(request))
        return render(
            request,
            "accounts/tokens.html",
            status_code=exc.status,
            tokens=tokens,
            new_token=None,
            error=message,
        )
    session.flush()
    tokens = service.list_tokens(session, principal.user_id)
    return render(
        request, "accounts/tokens.html", tokens=tokens, new_token=issued.plaintext, error=None
    )


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: RowId, session: DbSession, principal: CurrentPrincipal) -> Response:
    service.revoke_token(session, principal.user_id, token_id)
    return RedirectResponse("/tokens", status_code=303)
