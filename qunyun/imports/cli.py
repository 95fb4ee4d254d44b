"""``qunyun import``: run an import in the foreground with a progress bar; list; show.

Running the same file again resumes its unfinished job (queued, running after a crash,
or failed) instead of starting over; a finished file imported again adds nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select

from qunyun.cli_support import fail, installation
from qunyun.community.models import Community
from qunyun.db.engine import Database
from qunyun.errors import DomainError
from qunyun.i18n import gettext
from qunyun.imports import service
from qunyun.imports.models import ImportJob
from qunyun.imports.runner import run_job
from qunyun.imports.schemas import job_out

import_app = typer.Typer(
    help="Import chat history (Telegram JSON, QQ text, WeChat CSV, IRC logs).",
    no_args_is_help=True,
)


def _community_id(db: Database, community: str) -> int:
    with db.transaction(write=False) as session:
        query = select(Community.id)
        found = session.scalar(
            query.where(Community.id == int(community))
            if community.isdigit()
            else query.where(Community.slug == community)
        )
    if found is None:
        typer.echo(f"no community {community!r}", err=True)
        raise typer.Exit(2)
    return int(found)


@import_app.command("run")
def run(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    format: str = typer.Option(
        "auto", "--format", "-f", help="telegram_json, qq_text, wechat_csv, irc or auto"
    ),
    group: int | None = typer.Option(None, "--group", help="import into this group (its id)"),
    community: str = typer.Option("1", help="the community's id or slug"),
    timezone: str | None = typer.Option(None, help="local time of the export's times"),
    channel: str | None = typer.Option(None, help="IRC: the channel the log is of"),
    self_id: str | None = typer.Option(None, help="WeChat: the exporter's wxid"),
    chunk_size: int = typer.Option(5000, min=1, help="records per committed chunk"),
) -> None:
    """Import FILE now, showing progress; rerun after an interruption to resume."""
    with installation() as inst:
        settings, db = inst.settings, inst.db
        community_id = _community_id(db, community)
        sha256, _ = service.hash_file(file)
        with db.transaction() as session:
            job = service.unfinished_job_for(session, community_id, sha256)
            if job is not None:
                typer.echo(gettext("imports.cli.resuming", settings.language, id=job.id))
                job.status = "queued"
            else:
                try:
                    job = service.create_job(
                        session,
                        community_id,
                        format,
                        file,
                        filename=file.name,
                        data_dir=settings.data_dir,
                        max_bytes=settings.import_max_bytes,
                        group_id=group,
                        options={"timezone": timezone, "channel": channel, "self_id": self_id},
                        default_timezone=settings.timezone,
                        in_place=True,
                    )
                except DomainError as exc:
                    fail(settings, exc)
            job_id, total = job.id, job.size_bytes
        console = Console(stderr=True)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[records]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task(file.name, total=total, records="")

            def progress(current: ImportJob) -> None:
                bar.update(
                    task,
                    completed=current.bytes_done,
                    records=f"{current.records_seen} / +{current.records_added}",
                )

            final = run_job(db, job_id, progress=progress, chunk_size=chunk_size)
        typer.echo(
            gettext(
                "imports.cli.done",
                settings.language,
                id=final.id,
                state=gettext(f"imports.state.{final.status}", settings.language),
                seen=final.records_seen,
                added=final.records_added,
                skipped=final.skipped_count,
            )
        )
        if final.error:
            typer.echo(final.error, err=True)
        if final.status != "done":
            raise typer.Exit(1)


@import_app.command("list")
def list_jobs(
    community: str = typer.Option("1", help="the community's id or slug"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Import jobs, newest first."""
    with installation() as inst:
        settings, db = inst.settings, inst.db
        community_id = _community_id(db, community)
        with db.transaction(write=False) as session:
            rows = [
                job_out(j, settings.language, with_skips=False).model_dump(mode="json")
                for j in service.list_jobs(session, community_id)
            ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("id", "file", "format", "status", "%", "read", "added", "skipped")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["filename"],
            row["format"],
            row["status"],
            str(row["percent"]),
            str(row["records_seen"]),
            str(row["records_added"]),
            str(row["skipped_count"]),
        )
    Console().print(table)


@import_app.command("show")
def show(
    job_id: int = typer.Argument(..., min=1),
    community: str = typer.Option("1", help="the community's id or slug"),
) -> None:
    """One job as JSON, with its skipped lines and their reasons."""
    with installation() as inst:
        settings, db = inst.settings, inst.db
        community_id = _community_id(db, community)
        with db.transaction(write=False) as session:
            try:
                job = service.get_job(session, community_id, job_id)
            except DomainError as exc:
                fail(settings, exc)
            data: dict[str, Any] = job_out(job, settings.language).model_dump(mode="json")
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
