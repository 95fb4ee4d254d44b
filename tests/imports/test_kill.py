"""``kill -9`` during ``qunyun import run``: nothing committed is lost, the rerun finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from qunyun.community.models import GroupMembership, Member
from qunyun.db.engine import Database
from qunyun.imports.models import ImportJob
from qunyun.imports.readers import ReadOptions, Skip, open_reader
from qunyun.stream.models import StreamRecord
from tests.imports.helpers import generate_qq

MESSAGES = 12_000
SENDERS = 97


def _cli(db: Database, tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "QUNYUN_DATABASE_URL": db.url,
        "QUNYUN_DATA_DIR": str(tmp_path),
        "QUNYUN_SECRET_KEY": "test-secret",
        "QUNYUN_LANGUAGE": "en",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "qunyun", "import", "run", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _job(db: Database) -> ImportJob | None:
    with db.transaction(write=False) as s:
        return s.scalars(select(ImportJob)).first()


def test_kill_9_mid_import_then_rerun(db: Database, tmp_path: Path) -> None:
    source = tmp_path / "big.txt"
    generate_qq(source, MESSAGES)
    process = _cli(db, tmp_path, str(source), "--format", "qq_text", "--chunk-size", "1000")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = _job(db)
        if job is not None and job.records_seen >= 3000:
            break
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL

    job = _job(db)
    assert job is not None and job.status == "running"
    assert job.checkpoint is not None and 0 < job.records_seen < MESSAGES
    # What is stored is exactly what the checkpoint says was read, no more, no less.
    with db.transaction(write=False) as s:
        stored = set(
            s.scalars(
                select(StreamRecord.platform_record_id).where(
                    StreamRecord.source == f"import:{job.id}"
                )
            )
        )
    assert len(stored) == job.records_added == job.records_seen
    options = ReadOptions(
        filename=job.filename, timezone=job.options["timezone"], file_key=job.sha256[:16]
    )
    head: list[str] = []
    for _, item in open_reader("qq_text", source, options):
        if len(head) == job.records_seen:
            break
        if not isinstance(item, Skip):
            head.append(item.platform_record_id)
    assert set(head) == stored
    rest = [
        i
        for _, i in open_reader("qq_text", source, options, job.checkpoint)
        if not isinstance(i, Skip)
    ]
    assert len(rest) == MESSAGES - job.records_seen

    rerun = _cli(db, tmp_path, str(source), "--format", "qq_text", "--chunk-size", "1000")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    assert f"#{job.id}" in out.decode()  # the unfinished job was resumed, not a new one
    final = _job(db)
    assert final is not None and final.id == job.id
    assert (final.status, final.records_seen, final.records_added) == ("done", MESSAGES, MESSAGES)
    with db.transaction(write=False) as s:
        assert s.scalar(select(func.count()).select_from(StreamRecord)) == MESSAGES
        assert s.scalar(select(func.count()).select_from(Member)) == SENDERS
        assert s.scalar(select(func.sum(GroupMembership.message_count))) == MESSAGES
        assert s.scalar(select(func.count()).select_from(ImportJob)) == 1
