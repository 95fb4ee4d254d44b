"""Shared fixtures: settings, databases (SQLite and PostgreSQL), the app, users.

Storage tests take the ``db`` fixture, which runs each test on SQLite and on
PostgreSQL. PostgreSQL is the server at ``QUNYUN_TEST_PG_URL`` (default
127.0.0.1:5432, database ``test``); each test run gets its own database there. When
the server cannot be reached the PostgreSQL cases skip with the reason, except in CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from qunyun.accounts import service as accounts
from qunyun.accounts.passwords import Passwords
from qunyun.accounts.roles import Role
from qunyun.app import create_app
from qunyun.db.engine import Database
from qunyun.db.migrate import upgrade
from qunyun.db.registry import metadata
from qunyun.links.redirect import RedirectFront
from qunyun.settings import Settings
from qunyun.web.context import AppContext

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_SERVER = os.environ.get(
    "QUNYUN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("QUNYUN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PASSWORD = "correct horse battery"

# One Chromium per test process, shared by every folder's browser tests.
pytest_plugins = ["tests.browser_support"]


def unavailable(reason: str) -> None:
    """Skip a test whose server is missing, but never in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must run, not skip)")
    pytest.skip(reason)


# --- databases ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url(worker_id: str) -> Iterator[str]:
    admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        unavailable(f"PostgreSQL not reachable at {PG_SERVER}: {type(exc).__name__}")
    name = f"qunyun_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reset_postgres(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(
            sa.text(
                "INSERT INTO communities (slug, name, timezone, created_at) "
                "VALUES ('default', '默认社群', 'Asia/Shanghai', now())"
            )
        )


def _sqlite_db(template: Path, tmp_path: Path) -> Database:
    path = tmp_path / "qunyun.db"
    shutil.copyfile(template, path)
    return Database(f"sqlite:///{path}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database (with the default community), on each backend."""
    if request.param == "sqlite":
        database = _sqlite_db(sqlite_template, tmp_path)
        yield database
        database.dispose()
        return
    url = request.getfixturevalue("pg_url")
    database = Database(url, pool_size=2, max_overflow=2)
    _reset_postgres(database)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    database = _sqlite_db(sqlite_template, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}")
    client.flushdb()
    client.close()
    return REDIS_URL


# --- settings and the app ----------------------------------------------------------


def make_settings(tmp_path: Path, db: Database | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db.url if db is not None else f"sqlite:///{tmp_path / 'app.db'}",
        "secret_key": "test-secret-key-not-for-production",
        "data_dir": tmp_path,
        "argon2_profile": "test",
        "base_url": "http://testserver",
        "apply_migrations_on_start": False,
        "visit_flush_seconds": 0.05,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def passwords() -> Passwords:
    return Passwords("test")


@dataclass
class App:
    client: TestClient
    db: Database
    settings: Settings

    def user(self, name: str, role: Role = Role.operator, community_id: int = 1) -> int:
        with self.db.transaction() as session:
            return accounts.create_user(
                session, Passwords("test"), name, PASSWORD, role, community_id
            ).id

    def token(self, name: str, role: Role = Role.operator) -> dict[str, str]:
        """Headers of a new user with ``role`` calling the API with a bearer token."""
        user_id = self.user(name, role)
        with self.db.transaction() as session:
            issued = accounts.create_token(session, user_id, "tests")
        return {"Authorization": f"Bearer {issued.plaintext}"}

    def login(self, name: str, role: Role = Role.operator) -> str:
        """Sign the client in as a new user; returns the CSRF token of the session."""
        self.user(name, role)
        page = self.client.get("/login")
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = self.client.post(
            "/login",
            data={"name": name, "password": PASSWORD, "csrf_token": csrf, "next": "/links"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        # The session (and its CSRF token) is renewed at sign-in.
        page = self.client.get("/tokens")
        return page.text.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]

    @property
    def ctx(self) -> AppContext:
        front = self.client.app
        assert isinstance(front, RedirectFront)
        ctx = front.ctx
        assert ctx is not None, "the application is not running"
        return ctx

    def flush_visits(self) -> int:
        """Write the queued visits now instead of waiting for the recorder's timer."""
        portal = self.client.portal
        assert portal is not None
        return portal.call(self.ctx.recorder.flush)


def _app(db: Database, tmp_path: Path, **overrides: Any) -> Iterator[App]:
    settings = make_settings(tmp_path, db, **overrides)
    asgi = create_app(settings, db)
    with TestClient(asgi, base_url="http://testserver") as client:
        yield App(client, db, settings)


@pytest.fixture
def app(sqlite_db: Database, tmp_path: Path) -> Iterator[App]:
    """The application on SQLite, lifespan running, nobody signed in."""
    yield from _app(sqlite_db, tmp_path)


@pytest.fixture
def any_app(db: Database, tmp_path: Path) -> Iterator[App]:
    """The application on each database backend."""
    yield from _app(db, tmp_path)


def run_async(coroutine: Any) -> Any:
    """Run a coroutine to completion on a fresh event loop in its own thread.

    The browser tests' Playwright keeps an event loop running in the worker's main
    thread, where ``asyncio.run`` would refuse to start.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
