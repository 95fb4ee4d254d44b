"""The live code's landing page: the current pool member's QR, large, for WeChat.

Called by the redirect front (``ctx.extras["live_code_landing"]``) once the link's
gate and preview handling have let the visitor through. Raw ASGI like the redirect:
a cached snapshot, a choice in memory, one response; no database write. The view is
queued with the visit recorder, which also adds it to the member's scans.

A returning visitor carries a signed cookie naming the member shown before; within the
code's ``sticky_days`` they see that member again without counting again, as long as
the member is still switched on, unexpired and within its hours (its threshold no
longer matters: they already took their place in it).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.requests import cookie_parser
from starlette.responses import HTMLResponse
from starlette.types import Receive, Scope, Send

from qunyun.clients import Client
from qunyun.links.snapshot import LinkSnapshot
from qunyun.livecodes.cache import LiveCodeCache
from qunyun.livecodes.lookup import load_live_snapshot
from qunyun.livecodes.rotation import (
    PoolMember,
    choose,
    code_open,
    is_available,
    next_available_at,
)
from qunyun.livecodes.snapshot import CodeKind, CodeStatus, LiveCodeSnapshot
from qunyun.livecodes.tokens import Signer
from qunyun.settings import Settings
from qunyun.singleflight import SingleFlight
from qunyun.visits.recorder import PendingVisit
from qunyun.web.client_ip import scope_client_ip
from qunyun.web.context import AppContext
from qunyun.web.visitor import render_visitor_page, visitor_language

STICKY_COOKIE = "qy_lc{}"


def landing_of(ctx: AppContext) -> LiveCodeLanding | None:
    landing = ctx.extras.get("live_code_landing")
    return landing if isinstance(landing, LiveCodeLanding) else None


def render_public(ctx: AppContext, scope: Scope, template: str, **context: Any) -> str:
    """A visitor page (``public.html`` layout) in the visitor's language."""
    lang = visitor_language(scope, ctx.settings.language)
    return render_visitor_page(template, lang, **context)


def _headers(scope: Scope) -> tuple[str | None, str | None, str | None]:
    ua = ref = cookie = None
    for name, value in scope["headers"]:
        if name == b"user-agent":
            ua = value.decode("latin-1")
        elif name == b"referer":
            ref = value.decode("latin-1")
        elif name == b"cookie":
            cookie = value.decode("latin-1")
    return ua, ref, cookie


class LiveCodeLanding:
    def __init__(self, settings: Settings, clock: Callable[[], float] | None = None) -> None:
        self.settings = settings
        self.cache = LiveCodeCache(settings.link_cache_seconds)
        self.signer = Signer(settings.secret_key)
        # Tests set a clock; in service the redirect's own "now" is used.
        self.clock = clock
        # Wakes the alert task when the fallback had to be served.
        self.on_fallback: Callable[[], None] | None = None
        self._loading: SingleFlight[int, LiveCodeSnapshot | None] = SingleFlight()

    @property
    def rng(self) -> random.Random:
        return self.cache.rng

    async def snapshot(self, ctx: AppContext, code_id: int) -> LiveCodeSnapshot | None:
        snapshot = self.cache.get(code_id)
        if snapshot is not None:
            return snapshot

        async def load() -> LiveCodeSnapshot | None:
            loaded = await anyio.to_thread.run_sync(
                load_live_snapshot, ctx.db, code_id, self.signer
            )
            if loaded is not None:
                self.cache.put(code_id, loaded)
            return loaded

        return await self._loading.do(code_id, load)

    async def __call__(
        self,
        ctx: AppContext,
        link: LinkSnapshot,
        client: Client,
        scope: Scope,
        receive: Receive,
        send: Send,
        now: float,
    ) -> None:
        if self.clock is not None:
            now = self.clock()
        code = await self.snapshot(ctx, link.live_code_id) if link.live_code_id else None
        if code is None:
            html = render_public(ctx, scope, "links/status.html", state="unknown")
            await HTMLResponse(html, 404, headers={"Cache-Control": "no-store"})(
                scope, receive, send
            )
            return
        moment = datetime.fromtimestamp(now, UTC)
        counts = scope["method"] != "HEAD"
        ua, ref, cookie_header = _headers(scope)
        cookie_name = STICKY_COOKIE.format(code.id)
        member, sticky = self._pick(code, moment, now, cookie_header, cookie_name)
        if member is not None and not sticky and counts and not client.is_bot:
            self.cache.note_scan(code.id, member.id)
        if counts:
            ip = scope_client_ip(scope, tuple(ctx.settings.trusted_proxies))
            visit = PendingVisit(
                link.id,
                now,
                ref,
                ua,
                ip,
                False,
                member_id=member.id if member else None,
                count_scan=not sticky,
            )
            ctx.recorder.record(visit)
        if member is None:
            body = self._fallback(ctx, scope, code, moment, client, counts).encode("utf-8")
        else:
            body = self._member_page(ctx, scope, code, member, link.id)
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"cache-control", b"no-store"),
            (b"referrer-policy", b"same-origin"),
        ]
        if member is not None and not sticky and code.sticky_days > 0 and not client.is_bot:
            headers.append((b"set-cookie", self._sticky_cookie(ctx, code, member.id, now)))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _member_page(
        self, ctx: AppContext, scope: Scope, code: LiveCodeSnapshot, member: PoolMember, link: int
    ) -> bytes:
        """The member's page; the same for every visitor, so rendered once per snapshot."""
        lang = visitor_language(scope, ctx.settings.language)
        key = (code.id, member.id, link, lang)
        page = self.cache.page(code, key)
        if page is None:
            page = render_public(
                ctx,
                scope,
                "livecodes/landing.html",
                code=code,
                card=code.cards[member.id],
                staff=code.kind is CodeKind.staff,
                press_token=self.signer.press_token(code.id, member.id, link),
            ).encode("utf-8")
            self.cache.keep_page(code, key, page)
        return page

    def _sticky_cookie(
        self, ctx: AppContext, code: LiveCodeSnapshot, member_id: int, now: float
    ) -> bytes:
        # The expiry is rounded up to the hour so one signed value serves an hour of
        # visitors (signing costs more than the rest of the page).
        until = -(-(int(now) + code.sticky_days * 86400) // 3600) * 3600
        value = self.cache.sticky_value(
            (code.id, member_id, until),
            lambda: self.signer.sticky_value(code.id, member_id, until),
        )
        parts = [
            f"{STICKY_COOKIE.format(code.id)}={value}",
            f"Max-Age={until - int(now)}",
            "Path=/",
            "HttpOnly",
            "SameSite=Lax",
        ]
        if ctx.settings.cookie_secure:
            parts.append("Secure")
        return "; ".join(parts).encode("latin-1")

    def _pick(
        self,
        code: LiveCodeSnapshot,
        moment: datetime,
        now: float,
        cookie_header: str | None,
        cookie_name: str,
    ) -> tuple[PoolMember | None, bool]:
        """The member to show, and whether it is a returning visitor's."""
        if code.status is not CodeStatus.active or not code_open(
            code.active_hours, moment, code.zone
        ):
            return None, False
        if cookie_header and code.sticky_days > 0:
            value = cookie_parser(cookie_header).get(cookie_name)
            member_id = self.signer.read_sticky(value, code.id, now) if value else None
            member = code.member(member_id) if member_id is not None else None
            if member is not None and is_available(
                member, moment, code.zone, ignore_threshold=True
            ):
                return member, True
        extra = self.cache.scans_since_load(code.id)
        counter = self.cache.next_round(code.id)
        chosen = choose(
            code.members,
            code.strategy,
            moment,
            code.zone,
            counter=counter,
            rng=self.rng,
            extra_scans=extra,
        )
        return chosen, False

    def _fallback(
        self,
        ctx: AppContext,
        scope: Scope,
        code: LiveCodeSnapshot,
        moment: datetime,
        client: Client,
        counts: bool,
    ) -> str:
        next_at = None
        if code.status is CodeStatus.active:
            next_at = next_available_at(
                code.members,
                moment,
                code.zone,
                active_hours=code.active_hours,
                extra_scans=self.cache.scans_since_load(code.id),
            )
            # Closed hours are the operator's plan; an exhausted pool needs them.
            if next_at is None and counts and not client.is_bot:
                self.cache.note_fallback(code.id)
                if self.on_fallback is not None:
                    self.on_fallback()
        return render_public(
            ctx,
            scope,
            "livecodes/fallback.html",
            code=code,
            staff=code.kind is CodeKind.staff,
            paused=code.status is CodeStatus.paused,
            next_at=next_at.astimezone(code.zone).strftime("%Y-%m-%d %H:%M") if next_at else None,
            next_weekday=next_at.astimezone(code.zone).isoweekday() if next_at else None,
            zone=code.zone.key,
        )
