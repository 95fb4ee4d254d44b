"""Fixtures for the link service tests: an environment, people with each role."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qunyun.accounts import service as accounts
from qunyun.accounts.passwords import Passwords
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.links.models import BlockedHost, Link, Tag
from qunyun.links.service import LinkEnv
from qunyun.links.title_fetch import PageMeta
from tests.conftest import PASSWORD, make_settings


@dataclass
class Invalidations:
    keys: list[str] = field(default_factory=list)

    def __call__(self, keys: Sequence[str]) -> None:
        self.keys.extend(keys)


@pytest.fixture
def invalidations() -> Invalidations:
    return Invalidations()


@pytest.fixture
def fetched() -> list[str]:
    """URLs the fake title fetcher was asked for."""
    return []


@pytest.fixture
def env(
    db: Database,
    tmp_path: Path,
    passwords: Passwords,
    invalidations: Invalidations,
    fetched: list[str],
) -> LinkEnv:
    def fake_fetch(url: str) -> PageMeta:
        fetched.append(url)
        return PageMeta(url=url, title="Plain title", og_title="活动报名 · Sign-up")

    settings = make_settings(tmp_path, db, base_url="https://s.example.cn")
    return LinkEnv(settings, passwords, invalidations, fake_fetch)


@pytest.fixture
def people(db: Database) -> dict[Role, Principal]:
    """A signed-in principal of each role in the default community (real users)."""
    found: dict[Role, Principal] = {}
    with db.transaction() as session:
        for role in Role:
            user = accounts.create_user(
                session, Passwords("test"), f"{role.value}-user", PASSWORD, role, 1
            )
            found[role] = accounts.principal_for(session, user)
    return found


def counts(db: Database) -> tuple[int, int, int]:
    """Links, tags and blocked hosts stored: a refusal must leave all three alone."""
    with db.session(write=False) as session:
        return (
            session.scalar(select(func.count()).select_from(Link)) or 0,
            session.scalar(select(func.count()).select_from(Tag)) or 0,
            session.scalar(select(func.count()).select_from(BlockedHost)) or 0,
        )
