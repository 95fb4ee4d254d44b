"""Redirect throughput and latency, every visit recorded, beside a bare ASGI ceiling.

    .venv/bin/python -m bench.bench_redirect [--seconds 10] [--connections 50] [--workers 2]

Starts, in turn, the bare 302 application (bench/bare_asgi.py) and Qunyun itself, both
under uvicorn with the settings `qunyun serve` uses in production (uvloop, httptools,
no access log, N workers), on a fresh SQLite database, and drives each with wrk on
loopback. Then it checks that every redirect wrk received was stored as a visit, and
measures link creation through the API. Prints a Markdown table and the ratios.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bench.harness import PYTHON, WrkResult, free_port, run_wrk, server, table
from qunyun.accounts import service as accounts
from qunyun.accounts.passwords import Passwords
from qunyun.accounts.roles import Role
from qunyun.db.engine import Database
from qunyun.db.migrate import upgrade
from qunyun.links.models import Link
from qunyun.livecodes import members as pool
from qunyun.livecodes import service as livecodes
from qunyun.livecodes.service import LiveCodeEnv
from qunyun.qr import render_png
from qunyun.settings import Settings
from qunyun.visits.models import Visit

SAFARI_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
WECHAT_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) "
    "NetType/WIFI Language/zh_CN"
)


def prepare(workdir: Path) -> tuple[str, str]:
    url = f"sqlite:///{workdir / 'bench.db'}"
    db = Database(url)
    upgrade(db)
    with db.transaction() as s:
        s.add(
            Link(
                community_id=1,
                slug="bench",
                slug_key="bench",
                anti_block_mode="direct",
                target_url="https://example.com/landing",
            )
        )
        # Only WeChat may open it, and inside WeChat people get the "open in browser" guide.
        s.add(
            Link(
                community_id=1,
                slug="gated",
                slug_key="gated",
                anti_block_mode="guide",
                allowed_apps=["wechat"],
                target_url="https://example.com/landing",
            )
        )
        # A group live code with three invitation QRs; no threshold, so the pool never
        # runs out during the run.
        env = LiveCodeEnv(Settings(database_url=url, secret_key="bench-secret"))
        owner = livecodes.installation_principal()
        code = livecodes.create_code(
            s, env, owner, 1, {"name": "训练营", "default_threshold": 0}, slug="camp"
        )
        for n in range(3):
            invitation = render_png(f"https://weixin.qq.com/g/AbCdEfGh{n}Ij_KlMnOp{n}")
            pool.add_member(s, env, owner, 1, code.id, invitation)
        user = accounts.create_user(s, Passwords("test"), "bench", "bench-password", Role.owner)
        token = accounts.create_token(s, user.id, "bench").plaintext
    db.dispose()
    return url, token


def count_visits(url: str) -> int:
    db = Database(url)
    with db.session(write=False) as s:
        n = int(s.scalar(select(func.count()).select_from(Visit)) or 0)
    db.dispose()
    return n


def create_links(base: str, token: str, total: int, concurrency: int) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    local = threading.local()  # one keep-alive client per thread, as an API user would

    def one(i: int) -> int:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, headers=headers, timeout=30)
        response = local.client.post("/api/v1/links", json={"url": f"https://example.com/p/{i}"})
        return int(response.status_code)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        codes = list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - started
    bad = [c for c in codes if c != 201]
    if bad:
        raise SystemExit(f"link creation failed: {len(bad)} non-201 answers, e.g. {bad[0]}")
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--create", type=int, default=500, help="links to create through the API")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="qunyun-bench-"))
    db_url, token = prepare(workdir)
    uvicorn_opts = [
        "--workers",
        str(args.workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--no-server-header",
        "--host",
        "127.0.0.1",
    ]
    results: list[WrkResult] = []

    port = free_port()
    with server(
        [PYTHON, "-m", "uvicorn", "bench.bare_asgi:app", *uvicorn_opts, "--port", str(port)],
        {},
        f"http://127.0.0.1:{port}/",
        workdir / "bare.log",
    ):
        run_wrk("warm-up", f"http://127.0.0.1:{port}/x", connections=args.connections, seconds=2)
        results.append(
            run_wrk(
                "bare ASGI 302 (ceiling)",
                f"http://127.0.0.1:{port}/x",
                connections=args.connections,
                seconds=args.seconds,
            )
        )

    port = free_port()
    env = {
        "QUNYUN_DATABASE_URL": db_url,
        "QUNYUN_SECRET_KEY": "bench-secret",
        "QUNYUN_DATA_DIR": str(workdir),
        "QUNYUN_APPLY_MIGRATIONS_ON_START": "false",
        "QUNYUN_LINK_CREATE_RATE": "1000000/minute",
        "QUNYUN_BASE_URL": f"http://127.0.0.1:{port}",
    }
    with server(
        [
            PYTHON,
            "-m",
            "uvicorn",
            "qunyun.app:app_from_environment",
            "--factory",
            *uvicorn_opts,
            "--port",
            str(port),
        ],
        env,
        f"http://127.0.0.1:{port}/healthz",
        workdir / "qunyun.log",
    ):
        base = f"http://127.0.0.1:{port}"
        for path in ("/bench", "/gated", "/camp"):
            run_wrk(
                "warm-up",
                f"{base}{path}",
                connections=args.connections,
                seconds=2,
                headers={"User-Agent": WECHAT_IOS},
            )
        time.sleep(1.5)  # let the warm-up's visits reach the database before counting
        before = count_visits(db_url)
        cases = [
            ("redirect, visit recorded (iOS Safari)", "/bench", SAFARI_IOS),
            ("gated guide-mode link, WeChat (guide page)", "/gated", WECHAT_IOS),
            ("live-code landing page, WeChat (new visitor)", "/camp", WECHAT_IOS),
        ]
        measured = [
            run_wrk(
                name,
                f"{base}{path}",
                connections=args.connections,
                seconds=args.seconds,
                headers={"User-Agent": ua},
            )
            for name, path, ua in cases
        ]
        results.extend(measured)
        create_rate = create_links(base, token, args.create, concurrency=8)
        time.sleep(1.5)  # one flush interval and more
    recorded = count_visits(db_url) - before
    received = sum(r.requests for r in measured)

    ceiling = results[0]
    print(
        f"\nRedirect benchmark: {args.workers} uvicorn workers (uvloop, httptools), wrk -t2 "
        f"-c{args.connections} -d{args.seconds}s, SQLite, on {os.cpu_count()} cores\n"
    )
    print(table(results))
    print()
    for r in results[1:]:
        print(f"{r.name}: {r.rps / ceiling.rps:.0%} of the bare ASGI ceiling")
    print(
        f"visits stored {recorded:,} of {received:,} redirects wrk completed "
        f"(wrk may cut off in-flight requests at the end)"
    )
    print(f"link creation through the API: {create_rate:,.0f} links/s (8 concurrent clients)")
    print(f"\nlogs and database: {workdir}")


if __name__ == "__main__":
    main()
