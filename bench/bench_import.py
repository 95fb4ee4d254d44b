"""History import: a large export file through the real import runner.

    .venv/bin/python -m bench.bench_import [--messages 1000000] [--format qq_text]
        [--db sqlite] [--chunk 5000]

Writes (once; cached under /tmp/qunyun-bench-cache) an export of realistic chat from
bench/chatgen.py — 50 groups, bursts, replies, mentions, joins and leaves — as a QQ
message-manager text export (``qq_text``) or a Telegram Desktop ``result.json``
(``telegram_json``). Then, on a fresh database (``sqlite`` in a temp file, or ``pg``, a
scratch PostgreSQL database created and dropped), in the same run:

1. the ceiling: the same reader's records inserted by a bare driver ``executemany``
   (``ON CONFLICT DO NOTHING``) into a table with stream_records' columns and indexes,
   one commit per chunk — reading and inserting, nothing else;
2. the import itself: ``create_job`` + ``run_job`` exactly as ``qunyun import run`` does
   (groups, members, identities, memberships and counters kept up to date, the job's
   checkpoint committed with every chunk).

Prints messages per second, wall time, the resident memory after the chunks at 10 % and
at 100 % of the file (flat memory: the two are close) and the ratio to the ceiling.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from bench.chatgen import ChatConfig, write_qq_text, write_telegram_json
from bench.dbs import BareInserter, ceiling_row, migrated, peak_rss_mib, rss_mib, scratch_url
from qunyun.db.base import utcnow
from qunyun.imports import service
from qunyun.imports.models import ImportJob
from qunyun.imports.readers import ReadOptions, Skip, open_reader
from qunyun.imports.runner import run_job
from qunyun.stream.models import StreamRecord
from qunyun.stream.records import MessagePosted, Record

CACHE = Path(tempfile.gettempdir()) / "qunyun-bench-cache"
WRITERS = {"qq_text": (write_qq_text, "txt"), "telegram_json": (write_telegram_json, "json")}


@dataclass
class Outcome:
    name: str
    records: int = 0
    messages: int = 0
    seconds: float = 0.0
    cpu: float = 0.0  # this process's CPU seconds (the database server's not included)
    # (fraction of the file done, resident MiB) after each chunk
    memory: list[tuple[float, float]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def rss_at(self, fraction: float) -> float:
        for done, rss in self.memory:
            if done >= fraction:
                return rss
        return self.memory[-1][1] if self.memory else 0.0


def export_file(fmt: str, messages: int, seed: int) -> Path:
    """The cached export of ``messages`` chat events (about 98.5 % of them messages)."""
    write, suffix = WRITERS[fmt]
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"chat-{fmt}-{messages}-seed{seed}.{suffix}"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".part")
        counts = write(partial, ChatConfig(seed=seed, events=messages))
        partial.rename(path)
        print(
            f"wrote {path} ({path.stat().st_size / 2**20:,.0f} MiB, {dict(counts)}) "
            f"in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    return path


def ceiling(url: str, fmt: str, path: Path, chunk: int) -> Outcome:
    """Read with the importer's own reader, insert with a bare executemany."""
    bare = BareInserter(url)
    sqlite = url.startswith("sqlite")
    reader = open_reader(fmt, path, ReadOptions(filename=path.name, file_key="bench"))
    size = path.stat().st_size
    groups: dict[str | None, int] = {}
    members: dict[str | None, int] = {}
    out = Outcome("bare executemany of the reader's records (ceiling)")
    batch: list[Record] = []

    def flush(offset: int) -> None:
        now = utcnow()
        rows = [
            ceiling_row(
                r,
                groups.setdefault(r.platform_group_id, len(groups) + 1),
                members.setdefault(r.platform_user_id, len(members) + 1),
                now,
                sqlite=sqlite,
            )
            for r in batch
        ]
        bare.insert(rows)
        out.records += len(rows)
        out.messages += sum(isinstance(r, MessagePosted) for r in batch)
        out.memory.append((offset / size, rss_mib()))
        batch.clear()

    started, cpu = time.perf_counter(), time.process_time()
    for offset, item in reader:
        if isinstance(item, Skip):
            continue
        batch.append(item)
        if offset is not None and len(batch) >= chunk:
            flush(offset)
    flush(size)
    out.seconds, out.cpu = time.perf_counter() - started, time.process_time() - cpu
    bare.close()
    return out


def import_run(url: str, fmt: str, path: Path, chunk: int, workdir: Path) -> Outcome:
    db = migrated(url)
    out = Outcome("qunyun import (create_job + run_job)")
    size = path.stat().st_size
    try:
        started, cpu = time.perf_counter(), time.process_time()
        with db.transaction() as session:
            job = service.create_job(
                session,
                1,
                fmt,
                path,
                filename=path.name,
                data_dir=workdir,
                max_bytes=1 << 40,
                in_place=True,
            )
            job_id = job.id

        def progress(job: ImportJob) -> None:
            out.memory.append((job.bytes_done / size, rss_mib()))

        done = run_job(db, job_id, progress=progress, chunk_size=chunk)
        out.seconds, out.cpu = time.perf_counter() - started, time.process_time() - cpu
        if done.status != "done":
            raise SystemExit(f"import ended {done.status}: {done.error}")
        with db.session(write=False) as session:
            stored = int(session.scalar(select(func.count()).select_from(StreamRecord)) or 0)
            out.messages = int(
                session.scalar(
                    select(func.count())
                    .select_from(StreamRecord)
                    .where(StreamRecord.kind == "message_posted")
                )
                or 0
            )
        out.records = stored
        if stored != done.records_added:
            raise SystemExit(f"stored {stored} records, the job says {done.records_added}")
        print(
            f"job {job_id}: seen {done.records_seen:,}, added {done.records_added:,}, "
            f"skipped {done.skipped_count:,}",
            flush=True,
        )
    finally:
        db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000, help="chat events in the file")
    parser.add_argument("--format", choices=sorted(WRITERS), default="qq_text")
    parser.add_argument("--db", default="sqlite", help="comma-separated: sqlite, pg")
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    path = export_file(args.format, args.messages, args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="qunyun-bench-"))
    rows: list[tuple[str, Outcome, Outcome]] = []
    for kind in args.db.split(","):
        with scratch_url(kind, workdir) as url:
            base = ceiling(url, args.format, path, args.chunk)
        print(f"{kind}: ceiling done", flush=True)
        with scratch_url(kind, workdir) as url:
            real = import_run(url, args.format, path, args.chunk, workdir)
        rows.append((kind, base, real))

    print(
        f"\nImport: {path.name} ({path.stat().st_size / 2**20:,.0f} MiB, {args.format}), "
        f"chunks of {args.chunk:,}, one commit per chunk, {os.cpu_count()} cores\n"
    )
    print(
        "| database | case | messages/s | records | wall s | CPU s | RSS MiB at 10 % → 100 % "
        "| vs ceiling |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for kind, base, real in rows:
        for o in (base, real):
            print(
                f"| {kind} | {o.name} | {o.rate:,.0f} | {o.records:,} | {o.seconds:.1f} | "
                f"{o.cpu:.1f} | "
                f"{o.rss_at(0.1):,.0f} → {o.rss_at(1.0):,.0f} | {o.rate / base.rate:.0%} |"
            )
    print(f"\npeak RSS of this process: {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
