"""``qunyun link stats`` and ``qunyun visits purge|export``.

The command line acts as the machine's operator: it sees every community's links.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.orm import Session

from qunyun.db.engine import Database
from qunyun.db.migrate import upgrade
from qunyun.errors import DomainError
from qunyun.i18n import error_text
from qunyun.links.service import get_link_by_slug
from qunyun.settings import Settings, load_settings
from qunyun.visits import stats
from qunyun.visits.export import VisitRow, csv_chunks
from qunyun.visits.recorder import VisitRecorder
from qunyun.visits.stats import Granularity, Share

visits_app = typer.Typer(
    help="Visits: erase expired client addresses, export raw visits.", no_args_is_help=True
)

SERIES_ROWS = 31
TOP_ROWS = 5


def _open() -> tuple[Settings, Database]:
    settings = load_settings()
    db = Database(settings.database_url)
    upgrade(db)
    return settings, db


def _fail(exc: DomainError, settings: Settings) -> None:
    typer.echo(error_text(exc, settings.language), err=True)
    raise typer.Exit(2)


def link_stats_cmd(
    slug: str,
    days: int = typer.Option(stats.DEFAULT_DAYS, min=1, help="how many days back from today"),
    granularity: Granularity = typer.Option(Granularity.day, help="day or hour"),
    as_json: bool = typer.Option(False, "--json", help="print the statistics as JSON"),
) -> None:
    """Visits of a short link: totals, the series and the top sources."""
    settings, db = _open()
    zone = ZoneInfo(settings.timezone)
    try:
        rng = stats.resolve_range(stats.today_in(zone), days=days, granularity=granularity)
        with db.transaction(write=False) as session:
            link = get_link_by_slug(session, slug)
            result = stats.link_stats(session, link.id, rng, settings.timezone)
    except DomainError as exc:
        _fail(exc, settings)
        return
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps({"slug": link.slug, **result.to_dict()}, ensure_ascii=False))
        return
    _print_stats(Console(), link.slug, result)


def _print_stats(console: Console, slug: str, result: stats.Stats) -> None:
    t = result.totals
    console.print(
        f"[bold]{slug}[/bold]  {result.start} … {result.end} ({result.timezone})\n"
        f"people {t.people}   unique visitors {t.uniques} (per day, summed)   bots {t.bots}"
    )
    series = Table(title=f"by {result.granularity.value}", show_edge=False)
    for column in ("bucket", "people", "uniques", "bots"):
        series.add_column(column, justify="left" if column == "bucket" else "right")
    busy = [b for b in result.series if b.people or b.bots]
    for bucket in busy[-SERIES_ROWS:]:
        label = bucket.key if result.granularity is Granularity.day else bucket.key[:16]
        series.add_row(
            label.replace("T", " "), str(bucket.people), str(bucket.uniques), str(bucket.bots)
        )
    if len(busy) > SERIES_ROWS:
        series.caption = f"the last {SERIES_ROWS} of {len(busy)} buckets with visits"
    elif not busy:
        series.caption = "no visits in this period"
    console.print(series)
    tops = Table(title="top", show_edge=False)
    for column in ("of", "value", "people", "bots"):
        tops.add_column(column, justify="right" if column in ("people", "bots") else "left")
    b = result.breakdowns
    dimensions: tuple[tuple[str, tuple[Share, ...]], ...] = (
        ("referrer", b.referrer),
        ("app", b.app),
        ("os", b.os),
        ("device", b.device),
        ("browser", b.browser),
        ("bot", b.bot),
    )
    for name, shares in dimensions:
        for index, share in enumerate(shares[:TOP_ROWS]):
            tops.add_row(name if index == 0 else "", share.key, str(share.people), str(share.bots))
    console.print(tops)


def register(link_app: typer.Typer) -> None:
    """Add ``stats`` to the ``qunyun link`` commands (once, however often it is asked)."""
    if not any(c.name == "stats" for c in link_app.registered_commands):
        link_app.command("stats")(link_stats_cmd)


@visits_app.command("purge")
def purge() -> None:
    """Erase raw client addresses older than QUNYUN_VISIT_IP_RETENTION_DAYS."""
    settings, db = _open()
    try:
        recorder = VisitRecorder(
            db,
            settings.secret_key,
            settings.timezone,
            ip_retention_days=settings.visit_ip_retention_days,
        )
        erased = recorder.purge_ips()
    finally:
        db.dispose()
    typer.echo(
        f"erased {erased} client addresses older than {settings.visit_ip_retention_days} days"
    )


@visits_app.command("export")
def export(
    slug: str,
    file: Path | None = typer.Argument(None, help="CSV file to write (default: standard output)"),
) -> None:
    """Write every visit of a link as CSV (UTF-8 with BOM), with a progress bar."""
    settings, db = _open()
    retention = settings.visit_ip_retention_days
    ip_since = datetime.now(UTC) - timedelta(days=retention) if retention > 0 else None
    zone = ZoneInfo(settings.timezone)
    try:
        with db.transaction(write=False) as session:
            link = get_link_by_slug(session, slug, include_deleted=True)
            total = stats.count_visits(session, link.id)
            out: TextIO = (
                file.open("w", encoding="utf-8", newline="") if file is not None else sys.stdout
            )
            try:
                _export(session, link.id, total, zone, ip_since, out)
            finally:
                if file is not None:
                    out.close()
    except DomainError as exc:
        _fail(exc, settings)
    finally:
        db.dispose()
    if file is not None:
        typer.echo(f"{total} visits written to {file}", err=True)


def _export(
    session: Session,
    link_id: int,
    total: int,
    zone: ZoneInfo,
    ip_since: datetime | None,
    out: TextIO,
) -> None:
    progress = Progress(
        TextColumn("visits"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    with progress:
        task = progress.add_task("export", total=total)
        rows = stats.iter_visits(session, link_id)

        def counted() -> Iterator[VisitRow]:
            for row in rows:
                progress.advance(task)
                yield row

        for chunk in csv_chunks(counted(), zone, ip_since=ip_since):
            out.write(chunk)
