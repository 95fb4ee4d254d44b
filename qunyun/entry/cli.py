"""``qunyun invite`` and ``qunyun join``: invite codes and the join request queue.

No login: the command line acts as the owner of every community; ``--community`` (id
or slug) picks one, the default is the installation's first. Answers to join requests
go through the outbox, which a running server delivers within its poll interval.
"""

from __future__ import annotations

import typer

from qunyun.community.cli_scope import CommunityOpt, JsonOpt, community_run, print_json
from qunyun.entry import invites, requests
from qunyun.entry.env import EntryEnv
from qunyun.entry.present import invite_out, request_out

invite_app = typer.Typer(help="Invite codes: create, list, revoke.", no_args_is_help=True)
join_app = typer.Typer(help="Join requests: list, approve, reject.", no_args_is_help=True)


def _uses(used: int, quota: int | None) -> str:
    return f"{used}/{quota}" if quota is not None else str(used)


# --- invite codes -----------------------------------------------------------------------


@invite_app.command("create")
def invite_create(
    code: str = typer.Option("", help="the code (4–32 letters, digits, - or _); default: random"),
    group: int | None = typer.Option(None, "--group", help="group id (default: any group)"),
    quota: int | None = typer.Option(None, help="how many may use it (default: no limit)"),
    expires: str = typer.Option("", help="2026-12-31 or '2026-12-31 18:00' (local time)"),
    label: str = typer.Option("", help="a note for operators"),
    inviter: int | None = typer.Option(None, help="member id of the inviter"),
    community: str = CommunityOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Create an invite code; prints the code and its public page."""
    with community_run(community) as r:
        created = invites.create_invite(
            r.session,
            r.principal,
            r.community_id,
            code=code or None,
            group_id=group,
            quota=quota,
            expires_at=invites.parse_expiry(expires, r.settings.timezone),
            label=label or None,
            inviter_member_id=inviter,
        )
        out = invite_out(
            invites.invite_row(r.session, created),
            r.settings.base_url,
            invites.community_slug(r.session, r.community_id),
        )
    if as_json:
        print_json(out.model_dump(mode="json"))
        return
    typer.echo(f"{out.code}\t{out.url}")


@invite_app.command("list")
def invite_list(
    state: str = typer.Option("", help="live, expired, revoked or used_up (default: all)"),
    group: int | None = typer.Option(None, "--group", help="only this group's codes"),
    community: str = CommunityOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Invite codes with their uses, newest first."""
    with community_run(community) as r:
        found = invites.list_invites(
            r.session,
            r.principal,
            r.community_id,
            state=state or None,
            group_id=group,
            per_page=invites.MAX_PER_PAGE,
        )
        slug = invites.community_slug(r.session, r.community_id)
        rows = [invite_out(row, r.settings.base_url, slug) for row in found.items]
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
        return
    for row in rows:
        typer.echo(
            "\t".join(
                [
                    row.code,
                    row.state,
                    _uses(row.used, row.quota),
                    row.group_name or "*",
                    row.expires_at.isoformat() if row.expires_at else "-",
                    row.label or "",
                ]
            )
        )


@invite_app.command("revoke")
def invite_revoke(
    code: str = typer.Argument(..., help="the code, or its id"),
    community: str = CommunityOpt,
) -> None:
    """Revoke a code: nobody gets in with it from now on."""
    with community_run(community) as r:
        found = invites.find_invite(r.session, r.principal, r.community_id, code)
        revoked = invites.revoke_invite(r.session, r.principal, r.community_id, found.id)
        typer.echo(f"{revoked.code}\trevoked\t{_uses(revoked.used, revoked.quota)}")


# --- join requests ----------------------------------------------------------------------


@join_app.command("list")
def join_list(
    status: str = typer.Option("pending", help="pending, approved, rejected or all"),
    group: int | None = typer.Option(None, "--group", help="only this group's requests"),
    community: str = CommunityOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Join requests, newest first (default: the pending queue)."""
    with community_run(community) as r:
        found = requests.list_requests(
            r.session,
            r.principal,
            r.community_id,
            status=None if status == "all" else status,
            group_id=group,
            per_page=requests.MAX_PER_PAGE,
        )
        rows = [request_out(row) for row in found.items]
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
        return
    for row in rows:
        answers = row.answers.replace("\n", " ")
        typer.echo(
            f"{row.id}\t{row.status}\t{row.group_name}\t"
            f"{row.display_name or row.platform_user_id}\t{row.verdict.get('code', '')}\t{answers}"
        )


@join_app.command("approve")
def join_approve(
    request_id: int = typer.Argument(..., help="the request's id (see join list)"),
    community: str = CommunityOpt,
) -> None:
    """Approve a pending request."""
    with community_run(community) as r:
        done = requests.approve_request(
            r.session, EntryEnv.from_settings(r.settings), r.principal, r.community_id, request_id
        )
        typer.echo(f"{done.id}\t{done.status}")


@join_app.command("reject")
def join_reject(
    request_id: int = typer.Argument(..., help="the request's id (see join list)"),
    reason: str = typer.Option("", help="what the applicant reads (default: a polite refusal)"),
    community: str = CommunityOpt,
) -> None:
    """Reject a pending request."""
    with community_run(community) as r:
        done = requests.reject_request(
            r.session,
            EntryEnv.from_settings(r.settings),
            r.principal,
            r.community_id,
            request_id,
            reason or None,
        )
        typer.echo(f"{done.id}\t{done.status}")
