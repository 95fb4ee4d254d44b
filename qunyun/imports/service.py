"""Import jobs: create (store the file, check it), list, show, cancel, retry.

Services take a Session and never commit. Access rights are checked by the callers
(pages, API) with the principal; the command line acts as the installation.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qunyun.community.models import Group
from qunyun.db.base import utcnow
from qunyun.errors import Conflict, DomainError, NotFound
from qunyun.imports.models import ImportJob
from qunyun.imports.readers import FORMATS, PLATFORMS, detect_format
from qunyun.imports.readers.irc import default_date

DEFAULT_MAX_BYTES = 4 * 1024**3
COPY_BLOCK = 1024 * 1024
# Options a caller may set; the rest are set here.
USER_OPTIONS = frozenset({"timezone", "channel", "date", "self_id"})


def imports_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "imports"


def _safe_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name or "export"
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[-80:]


def store_file(
    source: Path | IO[bytes], data_dir: Path, filename: str, *, max_bytes: int
) -> tuple[Path, str, int]:
    """Copy an upload under ``data_dir/imports`` while hashing it; refuse empty and huge."""
    folder = imports_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}-{_safe_name(filename)}"
    digest = hashlib.sha256()
    size = 0
    handle: IO[bytes] = source.open("rb") if isinstance(source, Path) else source
    try:
        with target.open("wb") as out:
            while block := handle.read(COPY_BLOCK):
                size += len(block)
                if size > max_bytes:
                    raise DomainError("import.too_large", status=413, limit=max_bytes)
                digest.update(block)
                out.write(block)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        if isinstance(source, Path):
            handle.close()
    if size == 0:
        target.unlink(missing_ok=True)
        raise DomainError("import.empty")
    return target, digest.hexdigest(), size


def hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(COPY_BLOCK):
            size += len(block)
            digest.update(block)
    return digest.hexdigest(), size


def resolve_format(fmt: str | None, path: Path) -> str:
    if fmt in (None, "", "auto"):
        found = detect_format(path)
        if found is None:
            raise DomainError("import.unknown_format", format="auto")
        return found
    if fmt not in FORMATS:
        raise DomainError("import.unknown_format", format=fmt)
    return fmt


def _options(
    session: Session,
    community_id: int,
    fmt: str,
    filename: str,
    group_id: int | None,
    options: dict[str, Any] | None,
    default_timezone: str,
) -> dict[str, Any]:
    given = {k: v for k, v in (options or {}).items() if v not in (None, "")}
    unknown = sorted(set(given) - USER_OPTIONS)
    if unknown:
        raise DomainError("import.bad_option", option=unknown[0])
    out: dict[str, Any] = {k: str(v) for k, v in given.items()}
    # IRC logs are kept in UTC by most loggers; the chat apps' exports in local time.
    out.setdefault("timezone", "UTC" if fmt == "irc" else default_timezone)
    if fmt == "irc" and "date" not in out:
        out["date"] = default_date(filename) or utcnow().date().isoformat()
    if group_id is not None:
        group = session.get(Group, group_id)
        if group is None or group.community_id != community_id:
            raise NotFound("import.group_not_found")
        if group.platform != PLATFORMS[fmt]:
            raise DomainError("import.group_platform_mismatch", platform=group.platform, format=fmt)
        out["platform_group_id"] = group.platform_group_id
        out["group_name"] = group.name
    return out


def create_job(
    session: Session,
    community_id: int,
    fmt: str | None,
    source: Path | IO[bytes],
    *,
    filename: str,
    data_dir: Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    group_id: int | None = None,
    options: dict[str, Any] | None = None,
    created_by_id: int | None = None,
    default_timezone: str = "Asia/Shanghai",
    in_place: bool = False,
) -> ImportJob:
    """A queued job for an export file.

    Uploads are copied under ``data_dir/imports`` (and dropped once imported); with
    ``in_place`` (the command line) the job reads the named file where it is.
    """
    if fmt not in (None, "", "auto") and fmt not in FORMATS:
        raise DomainError("import.unknown_format", format=fmt)
    if in_place:
        assert isinstance(source, Path)
        path = source.resolve()
        sha256, size = hash_file(path)
        if size == 0:
            raise DomainError("import.empty")
        if size > max_bytes:
            raise DomainError("import.too_large", status=413, limit=max_bytes)
    else:
        path, sha256, size = store_file(source, data_dir, filename, max_bytes=max_bytes)
    try:
        chosen = resolve_format(fmt, path)
        job_options = _options(
            session, community_id, chosen, filename, group_id, options, default_timezone
        )
    except DomainError:
        if not in_place:
            path.unlink(missing_ok=True)
        raise
    if not in_place:
        job_options["owned_file"] = True
    job = ImportJob(
        community_id=community_id,
        format=chosen,
        filename=Path(filename).name[:255] or "export",
        path=str(path),
        sha256=sha256,
        size_bytes=size,
        group_id=group_id,
        options=job_options,
        status="queued",
        skipped=[],
        created_by_id=created_by_id,
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, community_id: int, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None or job.community_id != community_id:
        raise NotFound("import.not_found")
    return job


def list_jobs(session: Session, community_id: int, *, limit: int = 100) -> Sequence[ImportJob]:
    return session.scalars(
        select(ImportJob)
        .where(ImportJob.community_id == community_id)
        .order_by(ImportJob.id.desc())
        .limit(limit)
    ).all()


def unfinished_job_for(session: Session, community_id: int, sha256: str) -> ImportJob | None:
    """The latest queued, running or failed job of the same file (to resume it)."""
    return session.scalars(
        select(ImportJob)
        .where(
            ImportJob.community_id == community_id,
            ImportJob.sha256 == sha256,
            ImportJob.status.in_(("queued", "running", "failed")),
        )
        .order_by(ImportJob.id.desc())
        .limit(1)
    ).first()


def cancel(session: Session, community_id: int, job_id: int) -> ImportJob:
    """Stop a queued or running job; what it committed stays."""
    job = get_job(session, community_id, job_id)
    if job.status not in ("queued", "running", "failed"):
        raise Conflict("import.not_cancellable", state=job.status)
    job.status, job.finished_at = "cancelled", utcnow()
    if (job.options or {}).get("owned_file"):
        Path(job.path).unlink(missing_ok=True)
    return job


def retry(session: Session, community_id: int, job_id: int) -> ImportJob:
    """Queue a failed job again; it resumes from its checkpoint."""
    job = get_job(session, community_id, job_id)
    if job.status != "failed":
        raise Conflict("import.not_retryable", state=job.status)
    if not Path(job.path).exists():
        raise Conflict("import.file_gone")
    job.status, job.error, job.finished_at = "queued", None, None
    return job


def progress_percent(job: ImportJob) -> int:
    if job.status == "done":
        return 100
    if not job.size_bytes:
        return 0
    return max(0, min(99, int(job.bytes_done * 100 / job.size_bytes)))
