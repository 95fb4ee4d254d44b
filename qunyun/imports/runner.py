"""Running one import job: read, ingest in chunks, commit each chunk with the checkpoint.

Each chunk's records, the job's counters and the reader's checkpoint are written in
one transaction, so after a crash (``kill -9`` included) the job's checkpoint says
exactly what is stored: a rerun starts there and ends as one uninterrupted run would.
Records already stored (an earlier job of the same file) are counted as duplicates.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from qunyun.db.base import utcnow
from qunyun.db.engine import Database
from qunyun.imports.models import ImportJob
from qunyun.imports.pipeline import CHILD_READER_BYTES, Source, read, read_in_child
from qunyun.imports.readers import ReadOptions, Skip
from qunyun.stream.dispatcher import Dispatcher
from qunyun.stream.ingest import Ingestor
from qunyun.stream.records import Record

log = logging.getLogger("qunyun.imports")

CHUNK_SIZE = 5000
KEPT_SKIPS = 200
ACTIVE = ("queued", "running")


class Interrupted(Exception):
    """The job was cancelled, or the process asked the runner to stop."""


def read_options(job: ImportJob) -> ReadOptions:
    options = dict(job.options or {})
    return ReadOptions(
        filename=job.filename,
        platform_group_id=options.pop("platform_group_id", None),
        group_name=options.pop("group_name", None),
        timezone=str(options.pop("timezone", "Asia/Shanghai")),
        file_key=job.sha256[:16],
        extra=options,
    )


class _Run:
    def __init__(
        self,
        db: Database,
        job: ImportJob,
        progress: Callable[[ImportJob], None] | None,
        stop: threading.Event | None,
        dispatcher: Dispatcher | None,
    ) -> None:
        self.db = db
        self.job = job
        self.progress = progress
        self.stop = stop
        self.ingestor = Ingestor(job.community_id, source=f"import:{job.id}", dispatcher=dispatcher)
        self.skipped: list[dict[str, Any]] = list(job.skipped or [])

    def commit(
        self,
        records: list[Record],
        skips: list[Skip],
        offset: int | None,
        checkpoint: dict[str, Any],
        *,
        last: bool,
    ) -> None:
        job = self.job
        with self.db.transaction() as session:
            status = session.scalar(
                select(ImportJob.status).where(ImportJob.id == job.id).with_for_update()
            )
            if status == "cancelled":
                raise Interrupted("cancelled")
            result = self.ingestor.ingest(session, records)
            room = KEPT_SKIPS - len(self.skipped)
            if room > 0 and skips:
                self.skipped = self.skipped + [s.as_dict() for s in skips[:room]]
            now = utcnow()
            values: dict[str, Any] = {
                "records_seen": job.records_seen + len(records),
                "records_added": job.records_added + len(result.added),
                "skipped_count": job.skipped_count + len(skips),
                "skipped": self.skipped,
                "checkpoint": checkpoint,
                "bytes_done": offset if offset is not None else job.bytes_done,
                "heartbeat_at": now,
            }
            if last:
                values.update(status="done", finished_at=now, bytes_done=job.size_bytes)
            session.execute(update(ImportJob).where(ImportJob.id == job.id).values(**values))
        for key, value in values.items():
            setattr(job, key, value)
        if self.progress is not None:
            self.progress(job)

    def run(self, chunk_size: int) -> None:
        job = self.job
        source = Source(job.format, job.path, read_options(job), job.checkpoint, chunk_size)
        chunks = read_in_child(source) if job.size_bytes >= CHILD_READER_BYTES else read(source)
        try:
            for chunk in chunks:
                self.commit(
                    chunk.records, chunk.skips, chunk.offset, chunk.checkpoint, last=chunk.last
                )
                if not chunk.last and self.stop is not None and self.stop.is_set():
                    raise Interrupted("stopping")
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


def claim(db: Database, job_id: int, *, stale_before: datetime | None = None) -> bool:
    """Mark a queued job (or a running one whose runner died) as ours; ``False`` if taken."""
    now = utcnow()
    with db.transaction() as session:
        condition = ImportJob.status == "queued"
        if stale_before is not None:
            condition = condition | (
                (ImportJob.status == "running")
                & ((ImportJob.heartbeat_at.is_(None)) | (ImportJob.heartbeat_at < stale_before))
            )
        result = session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id, condition)
            .values(status="running", heartbeat_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def run_job(
    db: Database,
    job_id: int,
    *,
    progress: Callable[[ImportJob], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    stop: threading.Event | None = None,
    dispatcher: Dispatcher | None = None,
) -> ImportJob:
    """Run (or resume) a job to its end; returns it as stored at the end.

    Finished, failed and cancelled jobs are returned untouched. ``stop`` being set ends
    the run after the current chunk with the job queued again, to be resumed later.
    """
    with db.transaction() as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            raise LookupError(f"no import job {job_id}")
        if job.status not in ACTIVE:
            return job
        now = utcnow()
        job.status, job.heartbeat_at = "running", now
        job.started_at = job.started_at or now
        job.error = None
    if progress is not None:
        progress(job)
    runner = _Run(db, job, progress, stop, dispatcher)
    try:
        runner.run(chunk_size)
    except Interrupted as why:
        if str(why) != "cancelled":
            _set(db, job, status="queued")
        return _reload(db, job_id)
    except Exception as exc:
        log.exception("import job %s failed", job_id)
        _set(
            db,
            job,
            status="failed",
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=utcnow(),
        )
        return _reload(db, job_id)
    finish(job)
    return _reload(db, job_id)


def finish(job: ImportJob) -> None:
    """Drop the uploaded copy once its records are in (files the CLI named stay)."""
    if (job.options or {}).get("owned_file"):
        Path(job.path).unlink(missing_ok=True)


def _set(db: Database, job: ImportJob, **values: Any) -> None:
    with db.transaction() as session:
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job.id, ImportJob.status == "running")
            .values(**values)
        )


def _reload(db: Database, job_id: int) -> ImportJob:
    with db.transaction(write=False) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        return job
