"""Every page the application serves at the top level must be a reserved slug,
or a short link could shadow it (or be shadowed by it)."""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from qunyun.links.slugs import RESERVED_SLUGS
from tests.conftest import App


def test_every_top_level_route_is_reserved(app: App) -> None:
    front = app.client.app
    fastapi_app = front.app  # type: ignore[attr-defined]
    first_segments = set()
    for route in fastapi_app.routes:
        if isinstance(route, APIRoute | Route | Mount):
            segment = route.path.strip("/").split("/", 1)[0]
            if segment and not segment.startswith("{"):
                first_segments.add(segment.lower())
    assert first_segments, "no routes found"
    unreserved = sorted(s for s in first_segments if s not in RESERVED_SLUGS)
    assert unreserved == []
