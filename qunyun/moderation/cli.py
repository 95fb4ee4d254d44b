"""``qunyun rules`` (the rule book) and ``qunyun ban`` (the shared ban list).

The command line acts as the owner of every community (like ``qunyun community``);
``--community`` (id or slug) picks one, ``--group`` a group's override. A refused
document prints every problem with its line and exits with 2; nothing is saved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from qunyun.community.cli_scope import CommunityOpt, CommunityRun, community_run
from qunyun.moderation import bans, editing
from qunyun.moderation.bans import BanQuery
from qunyun.moderation.public_rules import published_markdown
from qunyun.moderation.published import render_rules
from qunyun.moderation.yaml_io import RulebookInvalid

rules_app = typer.Typer(
    help="Rule books: show, export, import, versions, diff, restore.", no_args_is_help=True
)
ban_app = typer.Typer(
    help="The shared ban list: list, add, lift, import, export.", no_args_is_help=True
)
GroupOpt = typer.Option(None, "--group", "-g", help="a group's override instead")


@contextmanager
def _run(community: str = "") -> Iterator[CommunityRun]:
    """A community-scoped run that prints a refused rule book line by line."""
    with community_run(community) as run:
        try:
            yield run
        except RulebookInvalid as exc:
            run.session.rollback()
            for message in exc.messages(run.settings.language):
                typer.echo(message, err=True)
            raise typer.Exit(2) from None


# --- rules ----------------------------------------------------------------------------


@rules_app.command("show")
def rules_show(
    group: int | None = GroupOpt,
    lang: str = typer.Option("", help="zh-CN or en (default: the installation's)"),
    community: str = CommunityOpt,
) -> None:
    """The book in force as members read it (a group's: merged with its override)."""
    with _run(community) as r:
        language = lang or r.settings.language
        snap = editing.snapshot(r.session, r.principal, r.community_id, group)
        typer.echo(f"# version {snap.version} (community book v{snap.community_version})")
        if group is None:
            typer.echo(render_rules(snap.effective, language), nl=False)
        else:
            text, _slug = published_markdown(r.session, r.community_id, group, language)
            typer.echo(text, nl=False)


@rules_app.command("export")
def rules_export(
    output: Path | None = typer.Option(None, "--output", "-o", help="file (default: stdout)"),
    version: int | None = typer.Option(None, help="an older version instead of the current"),
    group: int | None = GroupOpt,
    community: str = CommunityOpt,
) -> None:
    """The book (or a group's override) as YAML."""
    with _run(community) as r:
        if version is None:
            text = editing.snapshot(r.session, r.principal, r.community_id, group).yaml
        else:
            document = editing.version_document(
                r.session, r.principal, r.community_id, group, version
            )
            text = editing.document_yaml(document, group)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@rules_app.command("import")
def rules_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    note: str = typer.Option("", help="why (kept with the version)"),
    group: int | None = GroupOpt,
    community: str = CommunityOpt,
) -> None:
    """Check a YAML file and save it as the new version; refused: nothing changes."""
    data = file.read_bytes()
    with _run(community) as r:
        saved = editing.save_yaml(
            r.session, r.principal, r.community_id, group, data, note=note or file.name
        )
        typer.echo(f"version {saved.version}")


@rules_app.command("versions")
def rules_versions(
    group: int | None = GroupOpt,
    community: str = CommunityOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Every version, newest first: number, time, author, note (* = in force)."""
    with _run(community) as r:
        rows = editing.history(r.session, r.principal, r.community_id, group)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "version": v.version,
                        "author": v.author,
                        "created_at": v.created_at.isoformat() if v.created_at else None,
                        "note": v.note,
                        "in_force": v.in_force,
                    }
                    for v in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for v in rows:
        at = v.created_at.isoformat(timespec="seconds") if v.created_at else "-"
        mark = "*" if v.in_force else " "
        typer.echo(f"{mark}v{v.version}\t{at}\t{v.author or '-'}\t{v.note}")


@rules_app.command("diff")
def rules_diff(
    old: int = typer.Argument(...),
    new: int = typer.Argument(...),
    group: int | None = GroupOpt,
    community: str = CommunityOpt,
) -> None:
    """What changed between two versions (unified diff of their YAML)."""
    with _run(community) as r:
        lines = editing.diff(r.session, r.principal, r.community_id, group, old, new)
    for line in lines:
        typer.echo(line.text)


@rules_app.command("restore")
def rules_restore(
    version: int = typer.Argument(...),
    group: int | None = GroupOpt,
    community: str = CommunityOpt,
) -> None:
    """Put an older version back in force (saved as a new version)."""
    with _run(community) as r:
        saved = editing.restore(r.session, r.principal, r.community_id, group, version)
        typer.echo(f"version {saved.version}")


# --- bans -----------------------------------------------------------------------------


@ban_app.command("list")
def ban_list(
    q: str = typer.Option("", help="search id, name, reason"),
    status: str = typer.Option("active", help="active, lifted or all"),
    platform: str = typer.Option(""),
    community: str = CommunityOpt,
) -> None:
    """The ban list: id, platform, user id, name, reason, added (first 200)."""
    with _run(community) as r:
        page = bans.list_bans(
            r.session,
            r.principal,
            r.community_id,
            BanQuery(q=q, status=status, platform=platform, per_page=200),
        )
        for b in page.items:
            typer.echo(
                f"{b.id}\t{b.platform}\t{b.platform_user_id}\t{b.display_name or ''}"
                f"\t{b.reason or ''}\t{b.created_at.isoformat(timespec='seconds')}"
                + ("" if bans.is_active(b) else "\tlifted")
            )


@ban_app.command("add")
def ban_add(
    platform: str = typer.Argument(...),
    platform_user_id: str = typer.Argument(...),
    reason: str = typer.Option(""),
    name: str = typer.Option("", help="display name"),
    community: str = CommunityOpt,
) -> None:
    """Ban someone from every group of the community (idempotent)."""
    with _run(community) as r:
        ban = bans.add_ban_as(
            r.session,
            r.principal,
            r.community_id,
            platform,
            platform_user_id,
            reason=reason,
            display_name=name,
        )
        typer.echo(f"{ban.id}\t{ban.platform}\t{ban.platform_user_id}")


@ban_app.command("lift")
def ban_lift(
    ban_id: int = typer.Argument(...),
    note: str = typer.Option(""),
    community: str = CommunityOpt,
) -> None:
    """Lift a ban (the row stays as history)."""
    with _run(community) as r:
        ban = bans.lift_ban_as(r.session, r.principal, r.community_id, ban_id, note)
        typer.echo(f"{ban.id}\tlifted")


@ban_app.command("import")
def ban_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    community: str = CommunityOpt,
) -> None:
    """Import a CSV (all rows or none; importing twice adds nothing twice)."""
    with _run(community) as r:
        text = bans.decode_csv(file.read_bytes())
        report = bans.import_csv(r.session, r.principal, r.community_id, text)
        if report.problems:
            r.session.rollback()
            for problem in report.problems:
                typer.echo(bans.problem_text(problem, r.settings.language), err=True)
            raise typer.Exit(2)
        typer.echo(
            f"added {report.added}, unchanged {report.unchanged}, "
            f"skipped lifted {report.skipped_lifted}"
        )


@ban_app.command("export")
def ban_export(
    output: Path | None = typer.Option(None, "--output", "-o", help="file (default: stdout)"),
    status: str = typer.Option("active", help="active, lifted or all"),
    community: str = CommunityOpt,
) -> None:
    """The ban list as CSV."""
    with _run(community) as r:
        chunks = bans.export_csv(r.session, r.principal, r.community_id, BanQuery(status=status))
        if output is None:
            for chunk in chunks:
                typer.echo(chunk, nl=False)
        else:
            with output.open("w", encoding="utf-8", newline="") as fh:
                fh.writelines(chunks)
