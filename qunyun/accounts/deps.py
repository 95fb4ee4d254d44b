"""Request dependencies: the database session, who is asking, CSRF."""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from qunyun.accounts import service
from qunyun.accounts.models import User
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Community
from qunyun.errors import DomainError, NotFound
from qunyun.web.context import AppContext, get_ctx

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
COMMUNITY_HEADER = "x-qunyun-community"


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    ctx = get_ctx(request)
    with ctx.db.session(write=request.method not in SAFE_METHODS) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": the commit happens before the response leaves, so a client that
# reads right after a write sees it.
DbSession = Annotated[Session, Depends(db_session, scope="function")]
Ctx = Annotated[AppContext, Depends(get_ctx)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def resolve_principal(request: Request, session: Session) -> Principal | None:
    token = _bearer(request)
    user: User | None
    via = "session"
    if token is not None:
        user = service.user_for_token(session, token)
        if user is None:
            raise DomainError("auth.invalid_token", status=401)
        via = "token"
    else:
        if "session" not in request.scope:
            return None
        uid = request.session.get("uid")
        if not isinstance(uid, int):
            return None
        user = session.get(User, uid)
        if user is None or not user.is_active or request.session.get("sv") != user.session_version:
            request.session.clear()
            return None
    principal = service.principal_for(session, user, via=via)
    active = _chosen_community(request, session, principal)
    if active is not None:
        principal = dataclasses.replace(principal, active_community=active)
    request.scope["qunyun.principal"] = principal
    return principal


def _chosen_community(request: Request, session: Session, principal: Principal) -> int | None:
    """The community named by the X-Qunyun-Community header (id or slug), else the one
    chosen on the pages. A header naming a community the user cannot see is refused
    rather than ignored: the call would otherwise act on another community."""
    named = request.headers.get(COMMUNITY_HEADER, "").strip()
    if named:
        found: int | None
        if named.isdigit() and len(named) <= 18:
            found = int(named)
        else:
            found = session.scalar(select(Community.id).where(Community.slug == named.lower()))
        if found is None or found not in principal.roles:
            raise NotFound("community.not_found")
        return found
    if "session" in request.scope:
        chosen = request.session.get("community")
        if isinstance(chosen, int) and chosen in principal.roles:
            return chosen
    return None


def _principal_of(request: Request) -> Principal | None:
    # A read transaction of its own: on SQLite the request's write transaction (and
    # its lock) then starts only when the request actually writes.
    cached = request.scope.get("qunyun.principal")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    with get_ctx(request).db.session(write=False) as session:
        return resolve_principal(request, session)


def optional_principal(request: Request) -> Principal | None:
    return _principal_of(request)


def current_principal(request: Request) -> Principal:
    principal = _principal_of(request)
    if principal is None:
        raise DomainError("auth.required", status=401)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def csrf_protect(request: Request) -> None:
    """Unsafe requests carried by a session cookie must prove they came from our pages.

    Forms send the token as the ``csrf_token`` field, scripts (htmx) as the
    ``X-CSRF-Token`` header. Bearer-token calls carry no cookie and are exempt.
    """
    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return
    signed_in = "session" in request.scope and isinstance(request.session.get("uid"), int)
    if not signed_in and request.url.path.startswith("/api/"):
        # Nobody to impersonate: say what is missing (sign in) rather than "forged".
        raise DomainError("auth.required", status=401)
    expected = request.session.get("csrf") if "session" in request.scope else None
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise DomainError("csrf.invalid", status=403)


def require(role: Role) -> object:
    """Dependency: the principal must hold at least ``role`` in its active community."""

    def check(principal: CurrentPrincipal) -> Principal:
        principal.require(principal.default_community(), role)
        return principal

    return Depends(check)
