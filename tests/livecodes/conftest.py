"""Fixtures for the live-code tests: an environment that records cache drops, people
with each role, and a way to make a code with members in one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from qunyun.accounts import service as accounts
from qunyun.accounts.passwords import Passwords
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.livecodes import members as pool
from qunyun.livecodes import service
from qunyun.livecodes.models import LiveCode
from qunyun.livecodes.service import LiveCodeEnv
from tests.conftest import PASSWORD, make_settings
from tests.livecodes.helpers import qr_png


@dataclass
class Drops:
    links: list[str] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    cleared: int = 0
    woken: int = 0


@pytest.fixture
def drops() -> Drops:
    return Drops()


@pytest.fixture
def env(db: Database, tmp_path: Path, drops: Drops) -> LiveCodeEnv:
    settings = make_settings(tmp_path, db, base_url="https://s.example.cn")

    def clear() -> None:
        drops.cleared += 1

    def wake() -> None:
        drops.woken += 1

    return LiveCodeEnv(
        settings,
        invalidate_links=lambda keys: drops.links.extend(keys),
        invalidate_codes=lambda ids: drops.codes.extend(ids),
        forget_codes=clear,
        alerts_ready=wake,
    )


@pytest.fixture
def people(db: Database) -> dict[Role, Principal]:
    found: dict[Role, Principal] = {}
    with db.transaction() as session:
        for role in Role:
            user = accounts.create_user(
                session, Passwords("test"), f"{role.value}-lc", PASSWORD, role, 1
            )
            found[role] = accounts.principal_for(session, user)
    return found


MakeCode = Callable[..., LiveCode]


@pytest.fixture
def make_code(db: Database, env: LiveCodeEnv) -> MakeCode:
    """make_code(name, members=[qr texts], member_fields=[{...}], **code fields)."""

    def make(
        name: str = "训练营群",
        members: Sequence[str] = (),
        member_fields: Sequence[dict[str, Any]] = (),
        slug: str | None = None,
        **fields: Any,
    ) -> LiveCode:
        owner = service.installation_principal()
        with db.transaction() as session:
            code = service.create_code(session, env, owner, 1, {"name": name, **fields}, slug=slug)
            for index, text in enumerate(members):
                extra = member_fields[index] if index < len(member_fields) else {}
                pool.add_member(session, env, owner, 1, code.id, qr_png(text), extra)
            return code

    return make
