"""The redirect at ``/{slug}``: the hot path, in plain ASGI.

A cache hit costs a dict lookup, a list append and one response: no routing, no
dependency injection, no database. Everything else (classifying the visitor, writing
the visit) happens later in the visit recorder.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import Any

import anyio
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from qunyun.clients import Client, classify
from qunyun.errors import DomainError
from qunyun.links.access import Action, decide
from qunyun.links.lookup import consume_capped_visit, load_snapshot
from qunyun.links.slugs import RESERVED_SLUGS
from qunyun.links.snapshot import STATE_STATUS, LinkSnapshot, LinkState
from qunyun.links.urls import display_url
from qunyun.qr import QrStyle, render_svg
from qunyun.singleflight import SingleFlight
from qunyun.visits.recorder import PendingVisit
from qunyun.web.client_ip import scope_client_ip
from qunyun.web.context import AppContext
from qunyun.web.ratelimits import enforce
from qunyun.web.visitor import render_visitor_page, visitor_language

SLUG_PATH = re.compile(r"/([A-Za-z0-9_-]{1,64})/?")
PASSWORD_COOKIE = "qy_pw_csrf"  # noqa: S105 - a cookie name, not a secret

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


def _client_headers(scope: Scope) -> tuple[str | None, dict[str, str] | None]:
    """The User-Agent, and the Client Hints when the browser sent any."""
    ua: str | None = None
    hints: dict[str, str] | None = None
    for name, value in scope["headers"]:
        if name == b"user-agent":
            ua = value.decode("latin-1")
        elif name.startswith(b"sec-ch-ua"):
            if hints is None:
                hints = {}
            hints[name.decode("latin-1")] = value.decode("latin-1")
    return ua, hints


@lru_cache(maxsize=16)
def _status_html(state: LinkState, lang: str) -> str:
    return render_visitor_page("links/status.html", lang, state=state.value)


@lru_cache(maxsize=4096)
def qr_svg(text: str) -> str:
    """An inline QR image: the visitor pages make no extra request."""
    return render_svg(text, QrStyle(scale=6, border=2))


def _headers(scope: Scope) -> tuple[str | None, str | None]:
    ua = ref = None
    for name, value in scope["headers"]:
        if name == b"user-agent":
            ua = value.decode("latin-1")
        elif name == b"referer":
            ref = value.decode("latin-1")
    return ua, ref


class RedirectFront:
    """Answers ``/{slug}`` itself and hands every other request to the application."""

    def __init__(self, app: ASGIApp, get_ctx: Callable[[], AppContext | None]) -> None:
        self.app = app
        self._get_ctx = get_ctx
        self._loading: SingleFlight[str, LinkSnapshot | None] = SingleFlight()
        self._pages: dict[tuple[int, Action, str, str], tuple[LinkSnapshot, bytes]] = {}

    @property
    def ctx(self) -> AppContext | None:
        return self._get_ctx()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD", "POST"):
            match = SLUG_PATH.fullmatch(scope["path"])
            if match is not None:
                key = match.group(1).lower()
                ctx = self._get_ctx()
                if key not in RESERVED_SLUGS and ctx is not None:
                    await self._serve(ctx, key, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _serve(
        self, ctx: AppContext, key: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        snapshot = ctx.link_cache.get(key)
        if snapshot is None:
            snapshot = await self._load(ctx, key)
        now = time.time()
        if snapshot is None:
            await self._status_page(ctx, LinkState.unknown, scope, receive, send)
            return
        state = snapshot.state(now)
        if state is not LinkState.ok:
            await self._status_page(ctx, state, scope, receive, send)
            return
        client = classify(*_client_headers(scope))
        if b"preview" in scope.get("query_string", b""):
            action = Action.preview
        else:
            action = decide(
                client, mode=snapshot.mode, gate=snapshot.gate, guide_apps=snapshot.guide_apps
            )
        if action is Action.go and snapshot.password_hash is not None:
            await self._password(ctx, snapshot, scope, receive, send)
            return
        if scope["method"] == "POST":
            await Response(status_code=405)(scope, receive, send)
            return
        if action is Action.go:
            if snapshot.kind == "live_code":
                await self._live_code(ctx, snapshot, client, scope, receive, send, now)
            else:
                await self._redirect(ctx, snapshot, scope, send, now, snapshot.redirect_status)
            return
        if scope["method"] != "HEAD":
            self._record(ctx, snapshot, scope, now, counted=False)
        await self._interstitial(ctx, snapshot, action, client, scope, receive, send)

    async def _load(self, ctx: AppContext, key: str) -> LinkSnapshot | None:
        async def load() -> LinkSnapshot | None:
            generation = ctx.link_cache.generation
            snapshot = await anyio.to_thread.run_sync(load_snapshot, ctx.db, key)
            if snapshot is not None:
                ctx.link_cache.put(key, snapshot, generation)
            return snapshot

        return await self._loading.do(key, load)

    async def _live_code(
        self,
        ctx: AppContext,
        snapshot: LinkSnapshot,
        client: Client,
        scope: Scope,
        receive: Receive,
        send: Send,
        now: float,
    ) -> None:
        serve = ctx.extras.get("live_code_landing")
        if serve is None:
            await self._status_page(ctx, LinkState.unknown, scope, receive, send)
            return
        await serve(ctx, snapshot, client, scope, receive, send, now)

    def _record(
        self, ctx: AppContext, snapshot: LinkSnapshot, scope: Scope, now: float, counted: bool
    ) -> None:
        ua, ref = _headers(scope)
        ip = scope_client_ip(scope, tuple(ctx.settings.trusted_proxies))
        ctx.recorder.record(PendingVisit(snapshot.id, now, ref, ua, ip, counted))

    async def _interstitial(
        self,
        ctx: AppContext,
        snapshot: LinkSnapshot,
        action: Action,
        client: Client,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        lang = self._visitor_language(ctx, scope)
        platform = "ios" if client.os == "iOS" else "other"
        # The page depends only on the link, the action, the language and the OS
        # family: render it once per snapshot, not once per visitor.
        key = (snapshot.id, action, lang, platform)
        cached = self._pages.get(key)
        if cached is not None and cached[0] is snapshot:
            body = cached[1]
        else:
            body = self._render_interstitial(ctx, snapshot, action, lang, platform).encode()
            if len(self._pages) >= 4096:
                self._pages.clear()
            self._pages[key] = (snapshot, body)
        status = 403 if action is Action.blocked else 200
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"cache-control", b"no-store"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    def _render_interstitial(
        self, ctx: AppContext, snapshot: LinkSnapshot, action: Action, lang: str, platform: str
    ) -> str:
        short_url = f"{ctx.settings.base_url}/{snapshot.slug}"
        template = {
            Action.preview: "links/landing.html",
            Action.landing: "links/landing.html",
            Action.guide: "links/guide.html",
            Action.blocked: "links/blocked.html",
        }[action]
        return render_visitor_page(
            template,
            lang,
            link=snapshot,
            short_url=short_url,
            target=display_url(snapshot.location) if snapshot.kind == "url" else short_url,
            # segno's SVG of our own URL: markup we generate, not input.
            qr_svg=Markup(qr_svg(short_url)),  # noqa: S704
            platform=platform,
            gate=snapshot.gate,
        )

    async def _redirect(
        self,
        ctx: AppContext,
        snapshot: LinkSnapshot,
        scope: Scope,
        send: Send,
        now: float,
        status: int,
    ) -> None:
        if scope["method"] != "HEAD":
            ua = _headers(scope)[0]
            counted = False
            if snapshot.max_visits is not None and not classify(ua).is_bot:
                if not await anyio.to_thread.run_sync(consume_capped_visit, ctx.db, snapshot.id):
                    ctx.link_cache.drop([snapshot.slug.lower()])
                    await self._status_page(ctx, LinkState.used_up, scope, None, send)
                    return
                counted = True
            self._record(ctx, snapshot, scope, now, counted)
        cache = b"no-store" if status != 301 else b"private, max-age=3600"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"location", snapshot.location.encode("latin-1")),
                    (b"cache-control", cache),
                    (b"referrer-policy", b"no-referrer-when-downgrade"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    def _visitor_language(self, ctx: AppContext, scope: Scope) -> str:
        return visitor_language(scope, ctx.settings.language)

    def _page(self, ctx: AppContext, scope: Scope, template: str, **context: Any) -> str:
        return render_visitor_page(template, self._visitor_language(ctx, scope), **context)

    async def _status_page(
        self, ctx: AppContext, state: LinkState, scope: Scope, receive: Receive | None, send: Send
    ) -> None:
        html = _status_html(state, self._visitor_language(ctx, scope))
        response = HTMLResponse(
            html, status_code=STATE_STATUS[state], headers={"Cache-Control": "no-store"}
        )
        await response(scope, receive or _no_body, send)

    async def _password(
        self, ctx: AppContext, snapshot: LinkSnapshot, scope: Scope, receive: Receive, send: Send
    ) -> None:
        request = Request(scope, receive)
        error: str | None = None
        status = 200
        if scope["method"] == "POST":
            form = await request.form(max_fields=4, max_part_size=4096)
            sent_token = str(form.get("csrf_token") or "")
            cookie_token = request.cookies.get(PASSWORD_COOKIE, "")
            ip = scope_client_ip(scope, tuple(ctx.settings.trusted_proxies)) or "-"
            if not cookie_token or not hmac.compare_digest(sent_token, cookie_token):
                error, status = "error.csrf.invalid", 403
            else:
                try:
                    enforce(ctx, f"pw:{snapshot.id}:{ip}", ctx.settings.link_password_rate)
                except DomainError:
                    error, status = "error.rate_limited", 429
                else:
                    password = str(form.get("password") or "")
                    assert snapshot.password_hash is not None
                    ok = await anyio.to_thread.run_sync(
                        ctx.passwords.verify, snapshot.password_hash, password
                    )
                    if ok:
                        await self._redirect(ctx, snapshot, scope, send, time.time(), 303)
                        return
                    error, status = "error.link.wrong_password", 403
        token = request.cookies.get(PASSWORD_COOKIE) or secrets.token_urlsafe(24)
        html = self._page(
            ctx,
            scope,
            "links/password.html",
            error=error,
            retry_after=60,
            csrf_token=token,
            action="/" + snapshot.slug,
        )
        response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
        response.set_cookie(
            PASSWORD_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=ctx.settings.cookie_secure,
            path="/",
        )
        await response(scope, receive, send)


async def _no_body() -> MutableMapping[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}
