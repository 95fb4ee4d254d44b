"""Running import jobs in the server: one at a time, in a worker thread.

The worker takes queued jobs in order, and running jobs whose heartbeat is older than
``STALE_AFTER`` (their process died: that is the resume after ``kill -9``). Taking a
job is a conditional update, so several server processes never run the same job. On
shutdown the current job stops after its chunk and is queued again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta

from sqlalchemy import or_, select

from qunyun.db.base import utcnow
from qunyun.db.engine import Database
from qunyun.imports.models import ImportJob
from qunyun.imports.runner import claim, run_job
from qunyun.stream.dispatcher import Dispatcher
from qunyun.web.context import AppContext

log = logging.getLogger("qunyun.imports")

STALE_AFTER = timedelta(minutes=2)
IDLE_SECONDS = 30.0
EXTRA_KEY = "import_worker"


class ImportWorker:
    def __init__(
        self,
        db: Database,
        *,
        dispatcher: Dispatcher | None = None,
        chunk_size: int = 5000,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self.db = db
        self.dispatcher = dispatcher
        self.chunk_size = chunk_size
        self.stale_after = stale_after
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="qunyun-imports", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def next_job(self) -> int | None:
        stale = utcnow() - self.stale_after
        with self.db.transaction(write=False) as session:
            ids = session.scalars(
                select(ImportJob.id)
                .where(
                    or_(
                        ImportJob.status == "queued",
                        (ImportJob.status == "running")
                        & (ImportJob.heartbeat_at.is_(None) | (ImportJob.heartbeat_at < stale)),
                    )
                )
                .order_by(ImportJob.id)
                .limit(5)
            ).all()
        for job_id in ids:
            if claim(self.db, job_id, stale_before=stale):
                return job_id
        return None

    def run_once(self) -> bool:
        """Run the next job to its end; ``False`` when there was none."""
        job_id = self.next_job()
        if job_id is None:
            return False
        run_job(
            self.db,
            job_id,
            chunk_size=self.chunk_size,
            stop=self._stop,
            dispatcher=self.dispatcher,
        )
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if self.run_once():
                    continue
            except Exception:
                log.exception("import worker")
            self._wake.wait(IDLE_SECONDS)


def worker_of(ctx: AppContext) -> ImportWorker:
    """The application's import worker (made on first use; started by ``start``)."""
    worker = ctx.extras.get(EXTRA_KEY)
    if not isinstance(worker, ImportWorker):
        worker = ImportWorker(ctx.db, dispatcher=ctx.dispatcher)
        ctx.extras[EXTRA_KEY] = worker
    return worker


def ensure_running(ctx: AppContext) -> ImportWorker:
    worker = worker_of(ctx)
    worker.start()
    return worker


async def start(ctx: AppContext) -> None:
    ensure_running(ctx)


async def stop(ctx: AppContext) -> None:
    worker = ctx.extras.get(EXTRA_KEY)
    if isinstance(worker, ImportWorker):
        await asyncio.to_thread(worker.stop)
