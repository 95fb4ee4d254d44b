"""Running jobs: chunks, counters, skips, idempotency, resume, failure, the worker."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from qunyun.community.models import Group, GroupMembership, Member
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.imports import service
from qunyun.imports.models import ImportJob
from qunyun.imports.runner import run_job
from qunyun.imports.worker import ImportWorker
from qunyun.stream.models import StreamRecord
from tests.imports.helpers import CHAT, generate_qq


def new_job(db: Database, tmp_path: Path, source: Path, fmt: str = "auto", **kw: Any) -> int:
    with db.transaction() as session:
        job = service.create_job(
            session, 1, fmt, source, filename=source.name, data_dir=tmp_path / "data", **kw
        )
        return job.id


def table_state(db: Database) -> dict[str, Any]:
    with db.transaction(write=False) as s:
        return {
            "records": sorted(
                s.execute(
                    select(StreamRecord.platform_record_id, StreamRecord.kind, StreamRecord.text)
                ).all()
            ),
            "members": s.scalar(select(func.count()).select_from(Member)),
            "groups": sorted(s.scalars(select(Group.platform_group_id)).all()),
            "messages": sorted(
                s.execute(select(GroupMembership.member_id, GroupMembership.message_count)).all()
            ),
        }


def test_import_counts_skips_and_stores(db: Database, tmp_path: Path) -> None:
    job_id = new_job(db, tmp_path, CHAT / "wechat" / "class_group.csv")
    seen: list[int] = []
    job = run_job(db, job_id, progress=lambda j: seen.append(j.records_seen), chunk_size=3)
    assert job.status == "done", job.error
    assert (job.records_seen, job.records_added, job.skipped_count) == (9, 9, 3)
    assert [s["reason"] for s in job.skipped] == [
        "import.skip.wechat_bad_row",
        "import.skip.bad_time",
        "import.skip.encoding",
    ]
    assert job.bytes_done == job.size_bytes
    assert seen[-1] == 9 and len(seen) >= 3  # one report per committed chunk
    # The uploaded copy is dropped once imported.
    assert not Path(job.path).exists()
    with db.transaction(write=False) as s:
        sources = set(s.scalars(select(StreamRecord.source)))
        assert sources == {f"import:{job_id}"}


def test_importing_the_same_file_twice_adds_nothing(db: Database, tmp_path: Path) -> None:
    source = CHAT / "telegram" / "result.json"
    first = run_job(db, new_job(db, tmp_path, source))
    before = table_state(db)
    second = run_job(db, new_job(db, tmp_path, source), chunk_size=4)
    assert first.records_added == 13
    assert (second.status, second.records_seen, second.records_added) == ("done", 13, 0)
    assert table_state(db) == before


def test_a_stopped_job_resumes_to_the_same_tables(db: Database, tmp_path: Path) -> None:
    source = tmp_path / "qq.txt"
    generate_qq(source, 230)
    stop = threading.Event()
    job_id = new_job(db, tmp_path, source, fmt="qq_text")

    def halt_after_two(job: ImportJob) -> None:
        if job.records_seen >= 100:
            stop.set()

    halted = run_job(db, job_id, chunk_size=50, progress=halt_after_two, stop=stop)
    assert halted.status == "queued"
    assert halted.records_seen == 100 and halted.checkpoint is not None
    with db.transaction(write=False) as s:
        stored = s.scalar(select(func.count()).select_from(StreamRecord))
    assert stored == halted.records_added == 100
    done = run_job(db, job_id, chunk_size=50)
    assert (done.status, done.records_seen, done.records_added) == ("done", 230, 230)
    resumed = table_state(db)

    clean_db = Database(f"sqlite:///{tmp_path / 'clean.db'}")
    try:
        from qunyun.db.migrate import upgrade

        upgrade(clean_db)
        with clean_db.transaction() as s:
            from qunyun.community.models import Community

            if s.get(Community, 1) is None:
                s.add(Community(slug="default", name="默认社群", timezone="Asia/Shanghai"))
        other = tmp_path / "copy.txt"
        shutil.copyfile(source, other)
        clean = run_job(clean_db, new_job(clean_db, tmp_path, other, fmt="qq_text"))
        assert clean.records_added == 230
        expected = table_state(clean_db)
    finally:
        clean_db.dispose()
    assert resumed["records"] == expected["records"]
    assert resumed["members"] == expected["members"]
    assert sorted(n for _, n in resumed["messages"]) == sorted(n for _, n in expected["messages"])


def test_a_broken_file_fails_with_the_error_and_can_be_retried(
    db: Database, tmp_path: Path
) -> None:
    source = tmp_path / "broken.json"
    source.write_text(
        '{"name": "g", "type": "private_supergroup", "id": 1, "messages": [{"id": 1,', "utf-8"
    )
    job_id = new_job(db, tmp_path, source, fmt="telegram_json")
    job = run_job(db, job_id)
    assert job.status == "failed" and job.error
    with db.transaction() as s:
        assert service.retry(s, 1, job_id).status == "queued"


def test_a_target_group_must_be_on_the_formats_platform(db: Database, tmp_path: Path) -> None:
    with db.transaction() as s:
        group = Group(community_id=1, platform="telegram", platform_group_id="-1001", name="tg")
        s.add(group)
        s.flush()
        group_id = group.id
    with pytest.raises(DomainError) as refused:
        new_job(db, tmp_path, CHAT / "qq" / "run_club.txt", group_id=group_id)
    assert refused.value.code == "import.group_platform_mismatch"
    job = run_job(
        db, new_job(db, tmp_path, CHAT / "telegram" / "personal_chat.json", group_id=group_id)
    )
    with db.transaction(write=False) as s:
        groups = set(s.scalars(select(StreamRecord.group_id)))
    assert job.records_added == 5 and groups == {group_id}


@pytest.mark.parametrize(
    ("content", "fmt", "code"),
    [
        (b"", "auto", "import.empty"),
        (b"hello\n", "auto", "import.unknown_format"),
        (b"x", "docx", "import.unknown_format"),
        (b"[00:00] <a> b\n" * 20, "irc", "import.too_large"),
    ],
)
def test_refused_uploads_leave_no_file(
    db: Database, tmp_path: Path, content: bytes, fmt: str, code: str
) -> None:
    source = tmp_path / "upload.txt"
    source.write_bytes(content)
    with pytest.raises(DomainError) as refused:
        new_job(db, tmp_path, source, fmt=fmt, max_bytes=100)
    assert refused.value.code == code
    left = list((tmp_path / "data" / "imports").glob("*"))
    assert left == []


def test_the_worker_runs_queued_and_stale_jobs(db: Database, tmp_path: Path) -> None:
    first = new_job(db, tmp_path, CHAT / "qq" / "run_club.txt")
    second = new_job(db, tmp_path, CHAT / "irc" / "2004-11-15_03.raw.txt")
    with db.transaction() as s:
        # A runner that died long ago.
        job = s.get(ImportJob, second)
        assert job is not None
        job.status = "running"
    worker = ImportWorker(db)
    assert worker.run_once() and worker.run_once()
    assert not worker.run_once()
    with db.transaction(write=False) as s:
        states = {j.id: j.status for j in s.scalars(select(ImportJob))}
    assert states == {first: "done", second: "done"}
