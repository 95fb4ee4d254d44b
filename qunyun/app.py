"""Builds the web application from Settings."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import redis
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from sqlalchemy import text
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from qunyun import __version__, consumers
from qunyun.accounts import api as accounts_api
from qunyun.accounts import pages as accounts_pages
from qunyun.accounts.passwords import Passwords
from qunyun.appeals import api as appeals_api
from qunyun.appeals import pages as appeals_pages
from qunyun.appeals import public as appeals_public
from qunyun.community import api as community_api
from qunyun.community import pages as community_pages
from qunyun.db.engine import Database
from qunyun.db.migrate import upgrade
from qunyun.enforcement import api as enforcement_api
from qunyun.enforcement import pages as enforcement_pages
from qunyun.entry import api as entry_api
from qunyun.entry import pages as entry_pages
from qunyun.entry import public as entry_public
from qunyun.imports import api as imports_api
from qunyun.imports import pages as imports_pages
from qunyun.imports import worker as imports_worker
from qunyun.links import api as links_api
from qunyun.links import pages as links_pages
from qunyun.links.cache import LinkCache
from qunyun.links.redirect import RedirectFront
from qunyun.livecodes import api as livecodes_api
from qunyun.livecodes import pages as livecodes_pages
from qunyun.livecodes import public as livecodes_public
from qunyun.livecodes import runtime as livecodes_runtime
from qunyun.moderation import api as moderation_api
from qunyun.moderation import pages as moderation_pages
from qunyun.moderation import public_rules as moderation_public
from qunyun.platforms import api as platforms_api
from qunyun.platforms import pages as platforms_pages
from qunyun.platforms import registry as platforms_registry
from qunyun.platforms.front import HooksFront
from qunyun.platforms.ingress import StreamWriter
from qunyun.platforms.onebot import routes as onebot_routes
from qunyun.platforms.telegram import routes as telegram_routes
from qunyun.platforms.webhook import routes as webhook_routes
from qunyun.qr import api as qr_api
from qunyun.qr import pages as qr_pages
from qunyun.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from qunyun.settings import Settings, load_settings
from qunyun.stream.dispatcher import Dispatcher
from qunyun.visits import api as visits_api
from qunyun.visits import pages as visits_pages
from qunyun.visits.recorder import VisitRecorder
from qunyun.web import errors
from qunyun.web.context import AppContext

STATIC = Path(__file__).resolve().parent / "web" / "static"
log = logging.getLogger("qunyun")


def build_context(settings: Settings, db: Database | None = None) -> AppContext:
    db = db or Database(settings.database_url)
    limiter: RateLimiter
    dispatcher = Dispatcher()
    if settings.redis_url:
        limiter = RedisRateLimiter(redis.Redis.from_url(settings.redis_url))
    else:
        limiter = MemoryRateLimiter()
    ctx = AppContext(
        settings=settings,
        db=db,
        passwords=Passwords(settings.argon2_profile),
        limiter=limiter,
        link_cache=LinkCache(settings.link_cache_seconds),
        recorder=VisitRecorder(
            db,
            secret=settings.secret_key,
            timezone=settings.timezone,
            flush_seconds=settings.visit_flush_seconds,
            batch_size=settings.visit_batch_size,
            ip_retention_days=settings.visit_ip_retention_days,
        ),
        dispatcher=dispatcher,
        stream_writer=StreamWriter(db, dispatcher),
    )
    # Sets extras["live_code_landing"] (served by the redirect front) and the alert task.
    livecodes_runtime.install(ctx)
    return ctx


def create_app(settings: Settings, db: Database | None = None) -> ASGIApp:
    """The ASGI application: the redirect front, then the FastAPI application."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = build_context(settings, db)
        if settings.apply_migrations_on_start:
            upgrade(ctx.db)
        if settings.redis_url:
            ctx.link_cache.connect_redis(settings.redis_url)
        await ctx.recorder.start()
        await ctx.stream_writer.start()
        await livecodes_runtime.start(ctx)
        await platforms_registry.start(ctx)
        await imports_worker.start(ctx)
        await consumers.start(ctx)
        app.state.ctx = ctx
        # Everything built at start-up (routes, metadata, parsers) lives as long as the
        # process: take it out of the cyclic collector's sight, or each full collection
        # walks it all and stalls the redirects queued behind it.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await consumers.stop(ctx)
            await imports_worker.stop(ctx)
            await platforms_registry.stop(ctx)
            await livecodes_runtime.stop(ctx)
            await ctx.stream_writer.stop()
            await ctx.recorder.stop()
            ctx.link_cache.close()
            if db is None:
                ctx.db.dispose()
            app.state.ctx = None

    app = FastAPI(
        title="Qunyun API",
        version=__version__,
        description="群运 Qunyun: short links, live codes and community operations.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = None
    errors.install(app)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="qy_session",
        max_age=int(timedelta(days=settings.session_max_age_days).total_seconds()),
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/v1/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/v1/openapi.json",
            title="Qunyun API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz(request: Request) -> JSONResponse:
        ctx: AppContext = request.app.state.ctx
        with ctx.db.session(write=False) as session:
            session.execute(text("SELECT 1"))
        return JSONResponse(
            {"status": "ok", "version": __version__, "pending_visits": ctx.recorder.pending}
        )

    for router in (
        accounts_pages.router,
        accounts_api.router,
        links_api.router,
        links_pages.router,
        visits_api.router,
        visits_pages.router,
        qr_api.router,
        qr_pages.router,
        livecodes_public.router,
        livecodes_api.router,
        livecodes_pages.router,
        imports_api.router,
        imports_pages.router,
        platforms_api.router,
        platforms_pages.router,
        onebot_routes.router,
        telegram_routes.router,
        webhook_routes.router,
        community_api.router,
        community_pages.router,
        enforcement_api.router,
        enforcement_pages.router,
        moderation_public.router,
        moderation_api.router,
        moderation_pages.router,
        entry_public.router,
        entry_api.router,
        entry_pages.router,
        appeals_public.router,
        appeals_api.router,
        appeals_pages.router,
    ):
        app.include_router(router)

    return RedirectFront(HooksFront(app), lambda: app.state.ctx)


def app_from_environment() -> ASGIApp:
    """Factory for ``uvicorn --factory`` and the workers of ``qunyun serve``."""
    return create_app(load_settings())
