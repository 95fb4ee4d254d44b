"""Fixtures for the outbox tests: a scripted platform client standing in for the
adapters, groups on a connection, and a running application context."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from qunyun.app import build_context
from qunyun.community.models import Group
from qunyun.db.engine import Database
from qunyun.platforms import connections
from qunyun.platforms.actions import Action, ActionResult
from qunyun.platforms.models import PlatformConnection
from qunyun.platforms.registry import FACTORY_KEY
from qunyun.web.context import AppContext
from tests.conftest import make_settings


@dataclass
class FakeClient:
    """Answers from ``script`` in order (then ``then``), remembering every action."""

    script: list[ActionResult] = field(default_factory=list)
    then: ActionResult = field(default_factory=ActionResult.success)
    delay: float = 0.0
    performed: list[Action] = field(default_factory=list)
    closed: int = 0

    async def perform(self, action: Action) -> ActionResult:
        self.performed.append(action)
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.script.pop(0) if self.script else self.then

    async def aclose(self) -> None:
        self.closed += 1


@dataclass
class Platform:
    """The fake platform behind every non-manual connection of a context."""

    client: FakeClient = field(default_factory=FakeClient)
    built: int = 0

    def factory(self, connection: PlatformConnection, ctx: AppContext) -> FakeClient | None:
        if connection.platform == "manual":
            return None
        self.built += 1
        return self.client

    def install(self, ctx: AppContext) -> None:
        ctx.extras[FACTORY_KEY] = self.factory


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
def ctx(db: Database, tmp_path: Path, platform: Platform) -> AppContext:
    context = build_context(make_settings(tmp_path, db), db)
    platform.install(context)
    return context


MakeGroup = Callable[..., Group]


def make_group(
    db: Database,
    name: str = "测试群",
    *,
    platform: str | None = "onebot",
    enabled: bool = True,
    group_key: str = "100",
) -> Group:
    """A QQ group on a new connection of ``platform`` (None: no connection at all)."""
    with db.transaction() as session:
        connection_id = None
        if platform is not None:
            connection = connections.create_connection(session, 1, platform, f"{name} bot")
            connection.enabled = enabled
            connection_id = connection.id
        group = Group(
            community_id=1,
            platform="qq",
            platform_group_id=group_key,
            name=name,
            connection_id=connection_id,
        )
        session.add(group)
        session.flush()
        session.expunge(group)
        return group


@pytest.fixture
def group_factory(db: Database) -> MakeGroup:
    counter = iter(range(100, 10_000))

    def make(name: str = "测试群", **kwargs: Any) -> Group:
        kwargs.setdefault("group_key", str(next(counter)))
        return make_group(db, name, **kwargs)

    return make
