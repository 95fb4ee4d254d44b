"""Live ingestion over HTTP: signed OneBot v11 deliveries into a running Qunyun.

    .venv/bin/python -m bench.bench_ingest_http [--seconds 10] [--connections 32]
        [--workers 2] [--db sqlite,pg] [--notices]

Generates OneBot group message events (bench/chatgen.py; ``--notices`` adds the joins,
leaves and card changes in between), each with its own message id, and signs each body
with the connection's secret (``X-Signature: sha1=<HMAC-SHA1 of the body>``). wrk posts
them through bench/onebot_post.lua, every body once, to ``/hooks/onebot/{key}`` of
Qunyun served as ``qunyun serve`` serves it (uvicorn, uvloop, httptools, no access log,
N workers) on a fresh database. A delivery is answered only once its record is
committed, so after each run the benchmark checks that the records stored are at least
the deliveries wrk saw answered with 204 (wrk stops counting while some requests are in
flight; those are stored too).

The ceiling, measured in the same run: a bare ASGI app reading the same bodies and
answering 204 (bench/bare_hook.py) under the same server settings; Qunyun's own
``/healthz`` (one database read) is shown for reference.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import orjson
from sqlalchemy import func, select

from bench.chatgen import ChatConfig, events, onebot_event
from bench.dbs import migrated, scratch_url
from bench.harness import (
    PYTHON,
    ROOT,
    WrkResult,
    free_port,
    run_wrk,
    server,
    table,
    tree_cpu_seconds,
)
from qunyun.db.engine import Database
from qunyun.platforms.models import PlatformConnection
from qunyun.stream.models import StreamRecord

SCRIPT = ROOT / "bench" / "onebot_post.lua"
SECRET = "bench-onebot-secret"
KEY = "benchonebotkey0000000000000000001"
CACHE = Path(tempfile.gettempdir()) / "qunyun-bench-cache"
# Bodies generated per second of measurement: more than any run here can post.
PER_SECOND = 12_000
# wrk's own default (2 s) would count slow answers as errors; these are latencies to report.
TIMEOUT = "30s"


def bodies_file(count: int, notices: bool) -> Path:
    """``count`` signed deliveries, one ``<hex>\\t<json>`` line each (cached)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"onebot-{count}-{'all' if notices else 'messages'}.tsv"
    if path.exists():
        return path
    # Enough events that ``count`` of the wanted kind come out of them.
    cfg = ChatConfig(seed=11, events=int(count * 1.05) + 100)
    key = SECRET.encode()
    partial = path.with_suffix(".part")
    written = 0
    with partial.open("wb") as out:
        for event in events(cfg):
            if event.kind != "message" and not notices:
                continue
            body = orjson.dumps(onebot_event(event))
            signature = hmac.new(key, body, hashlib.sha1).hexdigest().encode()
            out.write(signature + b"\t" + body + b"\n")
            written += 1
            if written == count:
                break
    if written < count:
        raise SystemExit(f"generated only {written} of {count} bodies")
    partial.rename(path)
    return path


def prepare(url: str) -> None:
    db = migrated(url)
    with db.transaction() as session:
        session.add(
            PlatformConnection(
                community_id=1,
                platform="onebot",
                name="bench bot",
                key=KEY,
                inbound_secret=SECRET,
            )
        )
    db.dispose()


def stored(url: str) -> tuple[int, int]:
    """Records in the stream, and deliveries the connection counted."""
    db = Database(url)
    with db.session(write=False) as session:
        records = int(session.scalar(select(func.count()).select_from(StreamRecord)) or 0)
        received = int(
            session.scalar(
                select(PlatformConnection.received_count).where(PlatformConnection.key == KEY)
            )
            or 0
        )
    db.dispose()
    return records, received


def acknowledged(result: WrkResult) -> int:
    return result.requests - result.errors


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", default="sqlite,pg", help="comma-separated: sqlite, pg")
    parser.add_argument("--notices", action="store_true", help="joins and leaves too")
    args = parser.parse_args()

    warm_seconds = 2
    warm = warm_seconds * PER_SECOND
    measured = args.seconds * PER_SECOND
    path = bodies_file(warm + measured, args.notices)
    workdir = Path(tempfile.mkdtemp(prefix="qunyun-bench-"))
    uvicorn_opts = [
        "--workers", str(args.workers), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--no-server-header", "--host", "127.0.0.1",
    ]  # fmt: skip

    def post(
        name: str, url: str, first: int, count: int, seconds: int, cycle: bool = False
    ) -> WrkResult:
        return run_wrk(
            name,
            url,
            connections=args.connections,
            seconds=seconds,
            threads=args.threads,
            script=SCRIPT,
            timeout=TIMEOUT,
            script_args=[
                str(path),
                str(first),
                str(count),
                str(args.threads),
                "cycle" if cycle else "",
            ],
        )

    results: list[WrkResult] = []
    # Server CPU milliseconds per answered request, per case: independent of other load.
    cpu_ms: dict[str, float] = {}

    def measure(pid: int, run: Callable[[], WrkResult]) -> WrkResult:
        before = tree_cpu_seconds(pid)
        result = run()
        cpu_ms[result.name] = (tree_cpu_seconds(pid) - before) * 1000 / max(1, result.requests)
        return result

    port = free_port()
    with server(
        [PYTHON, "-m", "uvicorn", "bench.bare_hook:app", *uvicorn_opts, "--port", str(port)],
        {},
        f"http://127.0.0.1:{port}/",
        workdir / "bare.log",
    ) as bare:
        url = f"http://127.0.0.1:{port}/hooks/onebot/{KEY}"
        post("warm-up", url, 0, warm, warm_seconds, cycle=True)
        results.append(
            measure(
                bare.pid,
                lambda: post(
                    "bare ASGI 204, body read (ceiling)", url, warm, measured, args.seconds, True
                ),
            )
        )

    checks: list[str] = []
    for kind in args.db.split(","):
        with scratch_url(kind, workdir) as db_url:
            prepare(db_url)
            port = free_port()
            env = {
                "QUNYUN_DATABASE_URL": db_url,
                "QUNYUN_SECRET_KEY": "bench-secret",
                "QUNYUN_DATA_DIR": str(workdir),
                "QUNYUN_APPLY_MIGRATIONS_ON_START": "false",
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
                workdir / f"qunyun-{kind}.log",
            ) as qunyun:
                base = f"http://127.0.0.1:{port}"
                results.append(
                    measure(
                        qunyun.pid,
                        partial(
                            run_wrk,
                            f"{kind}: GET /healthz (reference)",
                            f"{base}/healthz",
                            connections=args.connections,
                            seconds=min(5, args.seconds),
                            threads=args.threads,
                            timeout=TIMEOUT,
                        ),
                    )
                )
                hook = f"{base}/hooks/onebot/{KEY}"
                post("warm-up", hook, 0, warm, warm_seconds)
                time.sleep(0.5)
                before, _ = stored(db_url)
                name = f"{kind}: OneBot delivery, signed, committed"
                result = measure(
                    qunyun.pid, partial(post, name, hook, warm, measured, args.seconds)
                )
                results.append(result)
            after, received = stored(db_url)
            acked = acknowledged(result)
            added = after - before
            if added < acked:
                raise SystemExit(f"{kind}: only {added} records stored for {acked} answered")
            checks.append(
                f"{kind}: {added:,} records stored for {acked:,} deliveries answered 204 "
                f"(+{added - acked} answered after wrk stopped counting); the connection "
                f"counted {received:,} deliveries in all, warm-up included"
                + (f"; {result.errors} errors or timeouts" if result.errors else "")
            )

    ceiling = results[0]
    print(
        f"\nOneBot HTTP ingestion: {args.workers} uvicorn workers (uvloop, httptools), "
        f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, every body a new "
        f"{'event' if args.notices else 'group message'}, on {os.cpu_count()} cores\n"
    )
    print(table(results))
    print()
    for r in results[1:]:
        print(f"{r.name}: {r.rps / ceiling.rps:.0%} of the bare ASGI ceiling")
    print("\nserver CPU per answered request (all its processes; not PostgreSQL's):")
    for name, ms in cpu_ms.items():
        print(f"  {name}: {ms:.2f} ms")
    print("\n".join(checks))
    print(f"\nlogs: {workdir}")


if __name__ == "__main__":
    main()
