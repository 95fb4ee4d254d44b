"""``qunyun link``: the same link services as the API, run by the installation itself.

No login: the command line acts with every right in the default community and records
no creator. Refusals print the message in the configured language and exit with 2;
an import with any failed row exits with 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from qunyun.accounts.passwords import Passwords
from qunyun.accounts.principal import Principal
from qunyun.cli_support import Installation, installation
from qunyun.errors import DomainError
from qunyun.i18n import gettext
from qunyun.links import service
from qunyun.links.access import APP_CHOICES, DEVICE_CHOICES, OS_CHOICES
from qunyun.links.api import link_out, with_fetched
from qunyun.links.cache import remote_invalidator
from qunyun.links.csv_io import export_lines, parse_datetime, read_link_rows
from qunyun.links.inputs import LinkQuery, LinkStatus, NewLink, SortKey
from qunyun.links.rules import MODE_CHOICES
from qunyun.links.service import LinkEnv

link_app = typer.Typer(
    help="Short links: create, list, show, import, export.", no_args_is_help=True
)
COMMUNITY_ID = 1


def _err() -> Console:
    return Console(stderr=True)


@dataclass(frozen=True)
class _Installation(Installation):
    env: LinkEnv
    principal: Principal


@contextmanager
def _installation() -> Iterator[_Installation]:
    with installation() as base:
        settings = base.settings
        env = LinkEnv(
            settings, Passwords(settings.argon2_profile), remote_invalidator(settings.redis_url)
        )
        principal = service.installation_principal(COMMUNITY_ID)
        yield _Installation(settings, base.db, env, principal)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _query(
    q: str | None, tag: str | None, state: LinkStatus | None, sort: SortKey, asc: bool
) -> LinkQuery:
    return LinkQuery(q=q, tag=tag, status=state, sort=sort, descending=not asc)


@link_app.command("create")
def create(
    url: str = typer.Argument(..., help="target URL (http or https)"),
    slug: str | None = typer.Option(None, help="custom slug; generated when absent"),
    title: str | None = typer.Option(None),
    fetch_title: bool = typer.Option(False, "--fetch-title", help="read the title from the page"),
    note: str | None = typer.Option(None),
    tag: list[str] | None = typer.Option(None, "--tag", help="a tag; repeat for several"),
    expires: str | None = typer.Option(None, help="'2025-06-30 18:00' (local) or ISO 8601"),
    max_visits: int | None = typer.Option(None, min=1, help="stop after this many people"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read a visitor password from stdin"
    ),
    redirect: int = typer.Option(302, help="302 (default) or 301"),
    utm_source: str | None = typer.Option(None),
    utm_medium: str | None = typer.Option(None),
    utm_campaign: str | None = typer.Option(None),
    utm_term: str | None = typer.Option(None),
    utm_content: str | None = typer.Option(None),
    allow_app: list[str] | None = typer.Option(
        None,
        "--allow-app",
        help="only this app may open it; repeat for several: " + ", ".join(APP_CHOICES),
    ),
    allow_device: list[str] | None = typer.Option(
        None, "--allow-device", help="only this device type; repeat: " + ", ".join(DEVICE_CHOICES)
    ),
    allow_os: list[str] | None = typer.Option(
        None, "--allow-os", help="only this system; repeat: " + ", ".join(OS_CHOICES)
    ),
    mode: str | None = typer.Option(
        None,
        "--mode",
        help="anti-block mode: " + ", ".join(MODE_CHOICES) + " (default: the community's)",
    ),
    preview_title: str | None = typer.Option(None, "--preview-title", help="share-card title"),
    preview_description: str | None = typer.Option(None, "--preview-description"),
    preview_image: str | None = typer.Option(None, "--preview-image", help="share-card image URL"),
    fetch_preview: bool = typer.Option(
        False, "--fetch-preview", help="fill the share card from the page's Open Graph tags"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the link as JSON"),
) -> None:
    """Create a short link and print its short URL."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with _installation() as inst:
        try:
            data = NewLink(
                url=url,
                slug=slug,
                title=title,
                note=note,
                tags=tuple(tag or ()),
                expires_at=parse_datetime(expires, inst.settings.timezone) if expires else None,
                max_visits=max_visits,
                password=password,
                redirect_status=redirect,
                utm_source=utm_source,
                utm_medium=utm_medium,
                utm_campaign=utm_campaign,
                utm_term=utm_term,
                utm_content=utm_content,
                allowed_apps=tuple(allow_app or ()),
                allowed_devices=tuple(allow_device or ()),
                allowed_os=tuple(allow_os or ()),
                anti_block_mode=mode,
                preview_title=preview_title,
                preview_description=preview_description,
                preview_image_url=preview_image,
            )
            wants_title = fetch_title and not title
            if wants_title or fetch_preview:
                with inst.db.transaction(write=False) as session:
                    blocked = service.blocked_patterns(session, COMMUNITY_ID)
                card = service.fetch_card(inst.env, url, blocked)
                data = with_fetched(data, card, title=wants_title, preview=fetch_preview)
            with inst.db.transaction() as session:
                link = service.create_link(session, inst.env, inst.principal, COMMUNITY_ID, data)
                out = link_out(link, inst.settings)
        except DomainError as exc:
            inst.fail(exc)
    if as_json:
        _print_json(out.model_dump(mode="json"))
    else:
        typer.echo(out.short_url)


@link_app.command("list")
def list_links(
    q: str | None = typer.Option(None, "--q", help="search slug, title, URL and note"),
    tag: str | None = typer.Option(None),
    state: LinkStatus | None = typer.Option(None),
    sort: SortKey = typer.Option(SortKey.created_at),
    asc: bool = typer.Option(False, "--asc", help="ascending (default: descending)"),
    page: int = typer.Option(1, min=1),
    per_page: int = typer.Option(20, min=1, max=100),
    as_json: bool = typer.Option(False, "--json", help="print the page as JSON"),
) -> None:
    """List links, newest first."""
    with _installation() as inst:
        query = replace(_query(q, tag, state, sort, asc), page=page, per_page=per_page)
        try:
            with inst.db.transaction(write=False) as session:
                result = service.list_links(session, inst.principal, COMMUNITY_ID, query)
                items = [link_out(link, inst.settings) for link in result.items]
        except DomainError as exc:
            inst.fail(exc)
    if as_json:
        _print_json(
            {
                "items": [item.model_dump(mode="json") for item in items],
                "total": result.total,
                "page": result.page,
                "per_page": result.per_page,
            }
        )
        return
    table = Table(title=f"{result.total} links · page {result.page}/{result.pages}")
    for column in ("slug", "target", "tags", "state", "visits", "created"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            item.slug,
            item.title or item.display_url,
            ", ".join(item.tags),
            item.state.value,
            str(item.human_visits),
            item.created_at.strftime("%Y-%m-%d"),
        )
    Console().print(table)


@link_app.command("show")
def show(
    slug: str,
    as_json: bool = typer.Option(False, "--json", help="print the link as JSON"),
) -> None:
    """Show one link's settings."""
    with _installation() as inst:
        try:
            with inst.db.transaction(write=False) as session:
                link = service.get_link(
                    session, inst.principal, COMMUNITY_ID, slug, include_deleted=True
                )
                out = link_out(link, inst.settings)
        except DomainError as exc:
            inst.fail(exc)
    data = out.model_dump(mode="json")
    if as_json:
        _print_json(data)
        return
    for key, value in data.items():
        if value not in (None, [], ""):
            shown = ", ".join(value) if isinstance(value, list) else value
            typer.echo(f"{key:15} {shown}")


@link_app.command("import")
def import_csv(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    dry_run: bool = typer.Option(False, "--dry-run", help="check every row, create nothing"),
) -> None:
    """Create links from a CSV file (UTF-8 or GBK) and report every row."""
    with _installation() as inst:
        lang = inst.settings.language
        try:
            rows = read_link_rows(file.read_bytes(), inst.settings.timezone)
            with _progress() as progress:
                task = progress.add_task("import", total=len(rows))
                with inst.db.transaction() as session:
                    report = service.import_links(
                        session,
                        inst.env,
                        inst.principal,
                        COMMUNITY_ID,
                        rows,
                        dry_run=dry_run,
                        progress=lambda n: progress.advance(task, n),
                    )
        except DomainError as exc:
            inst.fail(exc)
    for outcome in report.rows:
        if outcome.error is None:
            typer.echo(f"{outcome.row}\tok\t{outcome.slug}")
        else:
            message = gettext(f"error.{outcome.error.code}", lang, **outcome.error.params)
            typer.echo(f"{outcome.row}\t{outcome.error.code}\t{message}")
    key = "links.import_summary_dry" if dry_run else "links.import_summary"
    _err().print(gettext(key, lang, created=report.created, failed=report.failed))
    if report.failed:
        raise typer.Exit(1)


@link_app.command("export")
def export_csv(
    file: str = typer.Argument("-", help="output file; - (default) writes to stdout"),
    q: str | None = typer.Option(None, "--q"),
    tag: str | None = typer.Option(None),
    state: LinkStatus | None = typer.Option(None),
    sort: SortKey = typer.Option(SortKey.created_at),
    asc: bool = typer.Option(False, "--asc"),
) -> None:
    """Export links as CSV (UTF-8 with a byte-order mark when written to a file)."""
    with _installation() as inst:
        query = _query(q, tag, state, sort, asc)
        try:
            with inst.db.transaction(write=False) as session:
                service.require_list_access(inst.principal, COMMUNITY_ID, query)
                rows = service.iter_export_rows(session, inst.env, COMMUNITY_ID, query)
                lines = export_lines(rows, inst.settings.timezone)
                if file == "-":
                    sys.stdout.write(next(lines).removeprefix("\ufeff"))
                    for line in lines:
                        sys.stdout.write(line)
                    sys.stdout.flush()
                    return
                total = service.list_links(
                    session, inst.principal, COMMUNITY_ID, replace(query, per_page=1)
                ).total
                with _progress() as progress, open(file, "w", encoding="utf-8", newline="") as out:
                    task = progress.add_task("export", total=total)
                    out.write(next(lines))
                    for line in lines:
                        out.write(line)
                        progress.advance(task)
        except DomainError as exc:
            inst.fail(exc)
    _err().print(f"{total} → {file}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err(),
    )
