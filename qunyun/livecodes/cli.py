"""``qunyun livecode``: the live-code services, run by the installation itself.

No login: the command line acts with every right in the default community. Refusals
print the message in the configured language and exit with 2. Running servers drop a
changed link at once when Redis is configured; their landing caches follow within
``link_cache_seconds``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from qunyun.accounts.principal import Principal
from qunyun.cli_support import Installation, installation
from qunyun.db.base import utcnow
from qunyun.errors import DomainError
from qunyun.links.cache import remote_invalidator
from qunyun.livecodes import members as pool
from qunyun.livecodes import service
from qunyun.livecodes.lookup import code_members
from qunyun.livecodes.present import channel_out, code_out, member_out
from qunyun.livecodes.service import LiveCodeEnv
from qunyun.livecodes.stats import code_tables
from qunyun.livecodes.tokens import Signer
from qunyun.visits import stats

livecode_app = typer.Typer(
    help="Live codes (活码): create, list, show, add members and channels, stats, merge.",
    no_args_is_help=True,
)
COMMUNITY_ID = 1


@dataclass(frozen=True)
class _Installation(Installation):
    env: LiveCodeEnv
    principal: Principal


@contextmanager
def _installation() -> Iterator[_Installation]:
    with installation() as base:
        env = LiveCodeEnv(
            base.settings, invalidate_links=remote_invalidator(base.settings.redis_url)
        )
        principal = service.installation_principal(COMMUNITY_ID)
        yield _Installation(base.settings, base.db, env, principal)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@livecode_app.command("create")
def create(
    name: str = typer.Argument(..., help="the code's name"),
    kind: str = typer.Option("group", help="group (群活码) or staff (客服码)"),
    strategy: str | None = typer.Option(None, help="in_order, round_robin or weighted"),
    slug: str | None = typer.Option(None, help="custom slug; generated when absent"),
    title: str | None = typer.Option(None, help="the landing page's title"),
    threshold: int | None = typer.Option(None, help="new members' scan threshold (0: none)"),
    expiry_days: int | None = typer.Option(None, help="new members expire after (0: never)"),
    sticky_days: int | None = typer.Option(None, help="returning visitors keep their QR"),
    allow_app: list[str] | None = typer.Option(None, "--allow-app", help="e.g. wechat; repeat"),
    fallback: str | None = typer.Option(None, help="message when nobody is available"),
    webhook: str | None = typer.Option(None, help="alert webhook URL"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a live code and print its short URL."""
    fields: dict[str, Any] = {"name": name, "kind": kind}
    optional = {
        "strategy": strategy,
        "title": title,
        "default_threshold": threshold,
        "default_expiry_days": expiry_days,
        "sticky_days": sticky_days,
        "allowed_apps": allow_app or None,
        "fallback_message": fallback,
        "alert_webhook_url": webhook,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    with _installation() as inst:
        try:
            with inst.db.transaction() as session:
                code = service.create_code(
                    session, inst.env, inst.principal, COMMUNITY_ID, fields, slug=slug
                )
                out = code_out(session, inst.settings, code, utcnow())
        except DomainError as exc:
            inst.fail(exc)
    if as_json:
        _print_json(out.model_dump(mode="json"))
    else:
        typer.echo(f"{out.id}\t{out.short_url}")


@livecode_app.command("list")
def list_codes(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every live code with its pool's health and views."""
    with _installation() as inst, inst.db.transaction(write=False) as session:
        codes = service.list_codes(session, inst.principal, COMMUNITY_ID)
        views = service.total_views(session, [c.id for c in codes])
        now = utcnow()
        items = [code_out(session, inst.settings, c, now, views.get(c.id, 0)) for c in codes]
    if as_json:
        _print_json([item.model_dump(mode="json") for item in items])
        return
    table = Table(title=f"{len(items)} live codes")
    for column in ("id", "name", "kind", "status", "pool", "views", "short URL"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            str(item.id),
            item.name,
            item.kind,
            item.status,
            f"{item.pool.available}/{item.pool.total}",
            str(item.views),
            item.short_url,
        )
    Console().print(table)


@livecode_app.command("show")
def show(code_id: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """A live code with its pool and channels."""
    with _installation() as inst:
        signer = Signer(inst.settings.secret_key)
        try:
            with inst.db.transaction(write=False) as session:
                code = service.get_code(session, inst.principal, COMMUNITY_ID, code_id)
                now = utcnow()
                data = {
                    **code_out(session, inst.settings, code, now).model_dump(mode="json"),
                    "members": [
                        member_out(code, m, signer, inst.settings, now).model_dump(mode="json")
                        for m in code_members(session, code.id)
                    ],
                    "channels": [
                        channel_out(inst.settings, row).model_dump(mode="json")
                        for row in service.list_channels(session, code.id)
                    ],
                }
        except DomainError as exc:
            inst.fail(exc)
    if as_json:
        _print_json(data)
        return
    typer.echo(f"{data['name']} ({data['kind']}, {data['status']}) {data['short_url']}")
    for member in data["members"]:
        state = "available" if member["available"] else "unavailable"
        limit = member["scan_threshold"] or "∞"
        expires = member["expires_at"] or "never"
        typer.echo(
            f"  #{member['id']} {member['name']}: {member['scans']}/{limit} scans, "
            f"expires {expires}, {state}"
        )
    for channel in data["channels"]:
        typer.echo(f"  channel {channel['name']}: {channel['short_url']} ({channel['views']})")


@livecode_app.command("add-member")
def add_member(
    code_id: int,
    image: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    name: str | None = typer.Option(None, help="default: the file's name"),
    threshold: int | None = typer.Option(None, help="scan threshold (0: none)"),
    weight: int | None = typer.Option(None, help="weight for weighted rotation"),
    expires: str | None = typer.Option(None, help="ISO 8601; default from the code"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add a pool member from a QR image (exactly one QR code in it)."""
    fields: dict[str, Any] = {"name": name or image.stem}
    for key, value in (("scan_threshold", threshold), ("weight", weight), ("expires_at", expires)):
        if value is not None:
            fields[key] = value
    with _installation() as inst:
        try:
            with inst.db.transaction() as session:
                member = pool.add_member(
                    session,
                    inst.env,
                    inst.principal,
                    COMMUNITY_ID,
                    code_id,
                    image.read_bytes(),
                    fields,
                )
                code = service.get_code(session, inst.principal, COMMUNITY_ID, code_id)
                out = member_out(
                    code, member, Signer(inst.settings.secret_key), inst.settings, utcnow()
                )
        except DomainError as exc:
            inst.fail(exc)
    if as_json:
        _print_json(out.model_dump(mode="json"))
    else:
        typer.echo(f"{out.id}\t{out.name}\t{out.payload_kind}\t{out.qr_text}")


@livecode_app.command("add-channel")
def add_channel(
    code_id: int,
    name: str,
    slug: str | None = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add a channel with its own short link; print the link."""
    with _installation() as inst:
        try:
            with inst.db.transaction() as session:
                row = service.add_channel(
                    session, inst.env, inst.principal, COMMUNITY_ID, code_id, name, slug
                )
                out = channel_out(inst.settings, row)
        except DomainError as exc:
            inst.fail(exc)
    if as_json:
        _print_json(out.model_dump(mode="json"))
    else:
        typer.echo(f"{out.id}\t{out.short_url}")


@livecode_app.command("stats")
def show_stats(
    code_id: int,
    days: int = typer.Option(30, min=1, max=stats.MAX_DAYS),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """People, unique visitors and long presses per member and per channel."""
    with _installation() as inst:
        try:
            with inst.db.transaction(write=False) as session:
                code = service.get_code(session, inst.principal, COMMUNITY_ID, code_id)
                zone = ZoneInfo(inst.settings.timezone)
                rng = stats.resolve_range(stats.today_in(zone), days=days)
                tables = code_tables(session, code.id, rng)
                names: dict[int | None, str] = {
                    m.id: m.name for m in code_members(session, code.id)
                }
                names[None] = "(fallback)"
                main = service.main_link(session, code.id)
                links = {main.id: f"{main.slug} (own link)"} | {
                    row.link.id: f"{row.link.slug} ({row.channel.name})"
                    for row in service.list_channels(session, code.id)
                }
        except DomainError as exc:
            inst.fail(exc)
    data: dict[str, Any] = {
        "start": rng.start.isoformat(),
        "end": rng.end.isoformat(),
        "total": tables.total.to_dict(),
        "members": [
            {"member_id": k, "name": names.get(k, "(removed)"), **v.to_dict()}
            for k, v in tables.members.items()
        ],
        "channels": [
            {"link_id": k, "name": links.get(k, "(merged code)"), **v.to_dict()}
            for k, v in tables.links.items()
        ],
    }
    if as_json:
        _print_json(data)
        return
    total = data["total"]
    typer.echo(
        f"{data['start']} … {data['end']}: {total['people']} views, "
        f"{total['uniques']} unique visitors, {total['presses']} long presses"
    )
    for section in ("members", "channels"):
        for row in data[section]:
            typer.echo(
                f"  {section[:-1]} {row['name']}: {row['people']} views, "
                f"{row['uniques']} unique, {row['presses']} presses"
            )


@livecode_app.command("merge")
def merge(code_id: int, into_id: int) -> None:
    """Retire a live code into another: its links then serve the other's pool."""
    with _installation() as inst:
        try:
            with inst.db.transaction() as session:
                code = service.merge_code(
                    session, inst.env, inst.principal, COMMUNITY_ID, code_id, into_id
                )
                typer.echo(f"{code.id} → {into_id}")
        except DomainError as exc:
            inst.fail(exc)
