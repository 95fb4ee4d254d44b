"""A real ``qunyun serve`` process on a free loopback port, over a SQLite file the test
also opens. Used by the durability and browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from qunyun.accounts import service as accounts
from qunyun.accounts.passwords import Passwords
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from tests.conftest import PASSWORD
from tests.visits.helpers import make_link

SECRET = "durability-test-secret"
FLUSH_SECONDS = 0.2
TARGET = "https://example.com/landing"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    db_file: Path
    log: Path

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=5)

    def logs(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]


def prepared_database(template: Path, tmp_path: Path) -> tuple[Path, int, str]:
    """A migrated SQLite file with one link and an operator's API token."""
    db_file = tmp_path / "durable.db"
    shutil.copyfile(template, db_file)  # already migrated (see conftest)
    db = Database(f"sqlite:///{db_file}")
    link_id = make_link(db, "durable", target=TARGET)
    with db.transaction() as session:
        user = accounts.create_user(session, Passwords("test"), "ops", PASSWORD, Role.operator, 1)
        token = accounts.create_token(session, user.id, "durability").plaintext
    db.dispose()
    return db_file, link_id, token


def running_server(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[Server, int, str]]:
    db_file, link_id, token = prepared_database(sqlite_template, tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUNYUN_")}
    env.update(
        QUNYUN_DATABASE_URL=f"sqlite:///{db_file}",
        QUNYUN_SECRET_KEY=SECRET,
        QUNYUN_ARGON2_PROFILE="test",
        QUNYUN_VISIT_FLUSH_SECONDS=str(FLUSH_SECONDS),
        QUNYUN_DATA_DIR=str(tmp_path),
        QUNYUN_BASE_URL=f"http://127.0.0.1:{port}",
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "qunyun", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    srv = Server(process, f"http://127.0.0.1:{port}", db_file, log)
    try:
        wait_until_ready(srv)
        yield srv, link_id, token
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def wait_until_ready(srv: Server, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    with srv.http() as client:
        while time.monotonic() < deadline:
            if srv.process.poll() is not None:
                pytest.fail(f"the server exited early:\n{srv.logs()}")
            try:
                if client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    pytest.fail(f"the server did not answer within {timeout} s:\n{srv.logs()}")
