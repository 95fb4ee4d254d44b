"""Stream ingestion without HTTP or file parsing: records straight into ``Ingestor.ingest``.

    .venv/bin/python -m bench.bench_ingest_core [--messages 200000] [--chunk 5000]
        [--db sqlite,pg] [--raw] [--profile sqlite|pg]

Generates realistic chat (bench/chatgen.py: 50 groups, replies, mentions, joins and
leaves) as stream records and stores them chunk by chunk, one transaction per chunk, on
a fresh SQLite file and a scratch PostgreSQL database. Only the ``ingest`` call and the
commit are timed (generating the records is not). Beside it, in the same run, the
ceiling: the same rows inserted by a bare driver ``executemany`` (``ON CONFLICT DO
NOTHING``) into a table with stream_records' columns and indexes, one commit per chunk.
Memory is sampled after every chunk (resident set, not the peak) to show it stays flat.
``--profile sqlite|pg`` adds a pass under cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from bench.chatgen import ChatConfig, chunks, events, onebot_event, to_record
from bench.dbs import BareInserter, ceiling_row, migrated, rss_mib, scratch_url
from qunyun.db.base import utcnow
from qunyun.stream.ingest import Ingestor
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import MessagePosted, Record


@dataclass
class Run:
    name: str
    records: int = 0
    messages: int = 0
    seconds: float = 0.0
    cpu: float = 0.0  # this process's CPU seconds in the timed parts
    rss: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    def memory(self) -> str:
        if not self.rss:
            return "-"
        tenth = self.rss[max(0, len(self.rss) // 10 - 1)]
        return f"{tenth:,.0f} → {self.rss[-1]:,.0f}"


def record_chunks(cfg: ChatConfig, size: int, raw: bool) -> Iterator[list[Record]]:
    def build() -> Iterator[Record]:
        for event in events(cfg):
            record = to_record(event)
            if raw:
                object.__setattr__(record, "raw", onebot_event(event))
            yield record

    return chunks(build(), size)


def run_ingestor(url: str, cfg: ChatConfig, size: int, raw: bool, name: str) -> Run:
    db = migrated(url)
    ingestor = Ingestor(1, source="import:bench")
    run = Run(name)
    try:
        for chunk in record_chunks(cfg, size, raw):
            started, cpu = time.perf_counter(), time.process_time()
            with db.transaction() as session:
                result = ingestor.ingest(session, chunk)
            run.seconds += time.perf_counter() - started
            run.cpu += time.process_time() - cpu
            run.records += len(result.added)
            run.messages += sum(isinstance(s.record, MessagePosted) for s in result.added)
            run.rss.append(rss_mib())
        with db.session(write=False) as session:
            stored = session.scalar(select(func.count()).select_from(StreamRecord))
        if stored != cfg.events:
            raise SystemExit(f"{name}: stored {stored} of {cfg.events} records")
    finally:
        db.dispose()
    return run


def run_ceiling(url: str, cfg: ChatConfig, size: int, raw: bool, name: str) -> Run:
    bare = BareInserter(url)
    sqlite = url.startswith("sqlite")
    groups: dict[str | None, int] = {}
    members: dict[str | None, int] = {}
    run = Run(name)
    try:
        for chunk in record_chunks(cfg, size, raw):
            now = utcnow()
            rows = [
                ceiling_row(
                    r,
                    groups.setdefault(r.platform_group_id, len(groups) + 1),
                    members.setdefault(r.platform_user_id, len(members) + 1),
                    now,
                    sqlite=sqlite,
                )
                for r in chunk
            ]
            started, cpu = time.perf_counter(), time.process_time()
            bare.insert(rows)
            run.seconds += time.perf_counter() - started
            run.cpu += time.process_time() - cpu
            run.records += len(rows)
            run.messages += sum(isinstance(r, MessagePosted) for r in chunk)
            run.rss.append(rss_mib())
        if bare.count() != cfg.events:
            raise SystemExit(f"{name}: stored {bare.count()} of {cfg.events} rows")
    finally:
        bare.close()
    return run


def profile(url: str, cfg: ChatConfig, size: int, raw: bool, out: Path) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run_ingestor(url, cfg, size, raw, "profiled")
    profiler.disable()
    profiler.dump_stats(out)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(r"qunyun/stream/ingest\.py", 25)
    stats.sort_stats("tottime").print_stats(30)
    return text.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000, help="records to store")
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--db", default="sqlite,pg", help="comma-separated: sqlite, pg")
    parser.add_argument("--raw", action="store_true", help="records carry a OneBot payload")
    parser.add_argument(
        "--profile", choices=("sqlite", "pg"), help="cProfile an extra ingestor pass on this"
    )
    args = parser.parse_args()
    cfg = ChatConfig(events=args.messages, groups=args.groups)

    results: list[tuple[str, Run, Run]] = []
    for kind in args.db.split(","):
        with scratch_url(kind) as url:
            ceiling = run_ceiling(url, cfg, args.chunk, args.raw, f"{kind}: bare executemany")
        with scratch_url(kind) as url:
            ingest = run_ingestor(url, cfg, args.chunk, args.raw, f"{kind}: Ingestor.ingest")
        results.append((kind, ingest, ceiling))
        print(f"{kind}: done", flush=True)

    print(
        f"\nCore ingestion: {cfg.events:,} records ({results[0][1].messages:,} messages), "
        f"{cfg.groups} groups, chunks of {args.chunk:,}, one commit per chunk, "
        f"raw payloads {'on' if args.raw else 'off'}, {os.cpu_count()} cores\n"
    )
    print("| case | records/s | seconds | CPU s | RSS MiB at 10 % → 100 % | vs ceiling |")
    print("|---|---:|---:|---:|---:|---:|")
    for _, ingest, ceiling in results:
        for run in (ceiling, ingest):
            print(
                f"| {run.name} | {run.rate:,.0f} | {run.seconds:.1f} | {run.cpu:.1f} | "
                f"{run.memory()} | "
                f"{run.rate / ceiling.rate:.0%} |"
            )
    if args.profile:
        out = Path("/tmp/qunyun-ingest.prof")
        with scratch_url(args.profile) as url:
            print("\n" + profile(url, cfg, args.chunk, args.raw, out))
        print(f"profile saved: {out} (python -m pstats {out})")


if __name__ == "__main__":
    main()
