"""``qunyun community|group|member``: the same services from the command line.

No login: the command line acts as the owner of every community. ``--community``
(id or slug) picks one; the default is the installation's first. Refusals print the
message in the configured language and exit with 2.
"""

from __future__ import annotations

from typing import Any

import typer

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community import groups as group_service
from qunyun.community import identities, members, tiers
from qunyun.community import service as community_service
from qunyun.community.cli_scope import CommunityOpt, JsonOpt, community_run, print_json
from qunyun.community.members import DirectoryQuery
from qunyun.community.present import community_out, group_out, member_out, profile_out
from qunyun.community.tree import flatten

community_app = typer.Typer(
    help="Communities: list, create, grant roles, tiers.", no_args_is_help=True
)
group_app = typer.Typer(help="Groups: list, create, update, tree.", no_args_is_help=True)
member_app = typer.Typer(help="Members: list, show, merge, split, tag.", no_args_is_help=True)


# --- community -----------------------------------------------------------------------


@community_app.command("list")
def community_list(as_json: bool = JsonOpt) -> None:
    """Every community of the installation."""
    with community_run() as r:
        rows = [
            community_out(c, r.principal)
            for c in community_service.list_communities(r.session, r.principal)
        ]
    if as_json:
        print_json([c.model_dump(mode="json") for c in rows])
        return
    for c in rows:
        typer.echo(f"{c.id}\t{c.slug}\t{c.name}")


@community_app.command("create")
def community_create(
    slug: str = typer.Argument(...),
    name: str = typer.Argument(...),
    timezone: str = typer.Option("Asia/Shanghai"),
    owner: str = typer.Option("", help="user name to make its owner"),
) -> None:
    """Create a community (optionally with an owner)."""
    with community_run() as r:
        c = community_service.create_community(
            r.session, r.principal, slug=slug, name=name, timezone=timezone
        )
        if owner:
            p = Principal(0, "qunyun", {**r.principal.roles, c.id: Role.owner}, via="cli")
            community_service.grant_role(r.session, p, c.id, owner, Role.owner)
        typer.echo(f"{c.id}\t{c.slug}")


@community_app.command("grant")
def community_grant(
    user: str = typer.Argument(...),
    role: str = typer.Argument(..., help="viewer, operator, admin, owner or none"),
    community: str = CommunityOpt,
) -> None:
    """Give a user a role in a community (``none`` takes it away)."""
    with community_run(community) as r:
        if role == "none":
            community_service.revoke_role(r.session, r.principal, r.community_id, user)
        elif role in Role.__members__:
            community_service.grant_role(r.session, r.principal, r.community_id, user, Role(role))
        else:
            raise typer.BadParameter(role)
        typer.echo(f"{user}\t{role}")


@community_app.command("tiers")
def community_tiers(
    spec: str = typer.Argument(None, help='e.g. "founder:10,initiator:50,partner@199"; "" clears'),
    community: str = CommunityOpt,
) -> None:
    """Show or set the member tiers by join order."""
    with community_run(community) as r:
        c = community_service.get_community(r.session, r.principal, r.community_id)
        if spec is not None:
            bands, cap = tiers.parse_spec(spec)
            community_service.update_community(
                r.session,
                r.principal,
                r.community_id,
                {"tier_bands": [{"name": b.name, "upto": b.upto} for b in bands], "tier_cap": cap},
            )
        typer.echo(tiers.format_spec(community_service.tier_scheme(c)) or "-")


# --- group ---------------------------------------------------------------------------


def _group_fields(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@group_app.command("list")
def group_list(community: str = CommunityOpt, as_json: bool = JsonOpt) -> None:
    """Every group with its fill."""
    with community_run(community) as r:
        rows = [
            group_out(g) for g in group_service.list_groups(r.session, r.principal, r.community_id)
        ]
    if as_json:
        print_json([g.model_dump(mode="json") for g in rows])
        return
    for g in rows:
        typer.echo(f"{g.id}\t{g.name}\t{g.kind}\t{g.member_count}/{g.capacity}\t{g.status}")


@group_app.command("tree")
def group_tree(community: str = CommunityOpt) -> None:
    """The groups as a tree."""
    with community_run(community) as r:
        for node in flatten(group_service.group_tree(r.session, r.principal, r.community_id)):
            g = node.row
            typer.echo(
                f"{'  ' * node.depth}{g.name} [{g.kind}] {g.member_count}/{g.capacity} #{g.id}"
            )


@group_app.command("create")
def group_create(
    name: str = typer.Argument(...),
    kind: str | None = typer.Option(None),
    platform: str | None = typer.Option(None),
    platform_group_id: str | None = typer.Option(None, "--id"),
    capacity: int | None = typer.Option(None),
    parent: int | None = typer.Option(None),
    ends_on: str | None = typer.Option(None, help="makes the group temporary"),
    community: str = CommunityOpt,
) -> None:
    """Create a group."""
    fields = _group_fields(
        name=name,
        kind=kind,
        platform=platform,
        platform_group_id=platform_group_id,
        capacity=capacity,
        parent_id=parent,
        ends_on=ends_on,
    )
    if ends_on:
        fields["standing"] = False
    with community_run(community) as r:
        g = group_service.create_group(r.session, r.principal, r.community_id, fields)
        typer.echo(f"{g.id}\t{g.name}")


@group_app.command("update")
def group_update(
    group_id: int = typer.Argument(...),
    name: str | None = typer.Option(None),
    kind: str | None = typer.Option(None),
    capacity: int | None = typer.Option(None),
    parent: int | None = typer.Option(None, help="0 removes the parent"),
    ends_on: str | None = typer.Option(
        None, help="makes it temporary; 'standing' makes it standing"
    ),
    archive: bool | None = typer.Option(None, "--archive/--restore"),
    community: str = CommunityOpt,
) -> None:
    """Change a group."""
    fields = _group_fields(name=name, kind=kind, capacity=capacity, parent_id=parent)
    if ends_on == "standing":
        fields["standing"] = True
    elif ends_on:
        fields.update(standing=False, ends_on=ends_on)
    with community_run(community) as r:
        g = group_service.update_group(r.session, r.principal, r.community_id, group_id, fields)
        if archive is not None:
            group_service.set_status(
                r.session,
                r.principal,
                r.community_id,
                group_id,
                "archived" if archive else "active",
            )
        typer.echo(f"{g.id}\t{g.name}\t{g.status}")


# --- member --------------------------------------------------------------------------


@member_app.command("list")
def member_list(
    q: str = typer.Option(""),
    group: int | None = typer.Option(None),
    role: str | None = typer.Option(None),
    tier: str | None = typer.Option(None),
    tag: str | None = typer.Option(None),
    source: str | None = typer.Option(None),
    status: str | None = typer.Option(None),
    sort: str = typer.Option("join_order"),
    page: int = typer.Option(1),
    per_page: int = typer.Option(50),
    community: str = CommunityOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The member directory."""
    query = DirectoryQuery(q, group, role, tier, tag, source, status, sort, page, per_page)
    with community_run(community) as r:
        result = members.directory(r.session, r.principal, r.community_id, query)
        rows = [member_out(row) for row in result.items]
    if as_json:
        print_json({"total": result.total, "items": [m.model_dump(mode="json") for m in rows]})
        return
    for m in rows:
        order = f"#{m.join_order}" if m.join_order else "-"
        typer.echo(f"{m.id}\t{order}\t{m.display_name}\t{m.tier or ''}\t{','.join(m.tags)}")
    typer.echo(f"({result.total})")


@member_app.command("show")
def member_show(member_id: int = typer.Argument(...), community: str = CommunityOpt) -> None:
    """A member's profile as JSON."""
    with community_run(community) as r:
        out = profile_out(members.profile(r.session, r.principal, r.community_id, member_id))
    print_json(out.model_dump(mode="json"))


@member_app.command("merge")
def member_merge(
    target: int = typer.Argument(..., help="the member who stays"),
    other: int = typer.Argument(..., help="the member merged into it"),
    note: str = typer.Option(""),
    community: str = CommunityOpt,
) -> None:
    """Merge one member into another (undo with ``member undo``)."""
    with community_run(community) as r:
        change = identities.merge(r.session, r.principal, r.community_id, target, other, note=note)
        typer.echo(f"change {change.id}: {other} -> {target}")


@member_app.command("split")
def member_split(
    member_id: int = typer.Argument(...),
    identity: list[int] = typer.Option(..., "--identity", help="identity id; repeat"),
    name: str = typer.Option(""),
    community: str = CommunityOpt,
) -> None:
    """Move identities off a member onto a new one."""
    with community_run(community) as r:
        change = identities.split(
            r.session, r.principal, r.community_id, member_id, identity, display_name=name
        )
        typer.echo(f"change {change.id}: new member {change.other_member_id}")


@member_app.command("undo")
def member_undo(change_id: int = typer.Argument(...), community: str = CommunityOpt) -> None:
    """Undo a merge or a split."""
    with community_run(community) as r:
        change = identities.undo(r.session, r.principal, r.community_id, change_id)
        typer.echo(f"change {change.id}: {change.change}")


@member_app.command("tag")
def member_tag(
    member_id: int = typer.Argument(...),
    add: list[str] = typer.Option([], "--add"),
    remove: list[str] = typer.Option([], "--remove"),
    community: str = CommunityOpt,
) -> None:
    """Add or remove tags."""
    with community_run(community) as r:
        tags = members.change_tags(
            r.session, r.principal, r.community_id, member_id, add=add, remove=remove
        )
        typer.echo(",".join(tags))
