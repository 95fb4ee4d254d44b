"""``qunyun appeal list|show|open|decide``: the same services from the command line.

Reading needs no login (the command line acts as the owner of every community).
Deciding is done by a named user (``--as``), to whom the reviewer rules apply as on
the pages: an admin or owner, not the one who acted or opened the appeal. A running
server delivers the queued unmute/unban within its poll interval.
"""

from __future__ import annotations

import typer

from qunyun.appeals import queue, review, service
from qunyun.appeals.present import appeal_out
from qunyun.community.cli_scope import CommunityOpt, JsonOpt, community_run, print_json

appeal_app = typer.Typer(help="Appeals: list, show, open, decide.", no_args_is_help=True)


@appeal_app.command("list")
def appeal_list(
    status: str = typer.Option("", help="open, upheld or overturned (default: all, open first)"),
    page: int = typer.Option(1, min=1),
    per_page: int = typer.Option(50, min=1, max=queue.MAX_PER_PAGE),
    community: str = CommunityOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The appeals queue."""
    with community_run(community) as r:
        found = queue.list_appeals(
            r.session,
            r.principal,
            r.community_id,
            status=status or None,
            page=page,
            per_page=per_page,
        )
        rows = [appeal_out(row) for row in found.items]
    if as_json:
        print_json({"items": [a.model_dump(mode="json") for a in rows], "total": found.total})
        return
    for a in rows:
        rule = a.case.rule.get(r.settings.language) or a.case.rule_id
        typer.echo(
            f"{a.id}\t{a.status}\tcase {a.case_id}\t{a.member_name or '-'}\t{rule}\t"
            f"{a.via}\t{a.created_at:%Y-%m-%d %H:%M}"
        )
    typer.echo(f"{found.total} in all (page {found.page}/{found.pages})")


@appeal_app.command("show")
def appeal_show(appeal_id: int = typer.Argument(...), community: str = CommunityOpt) -> None:
    """One appeal with its case, as JSON."""
    with community_run(community) as r:
        out = appeal_out(queue.appeal_row(r.session, r.principal, r.community_id, appeal_id))
    print_json(out.model_dump(mode="json"))


@appeal_app.command("open")
def appeal_open(
    case_id: int = typer.Argument(..., help="the case's id"),
    statement: str = typer.Option(..., "--statement", "-s", help="why it should be reviewed"),
    as_user: str = typer.Option("", "--as", help="the operator opening it (default: nobody)"),
    community: str = CommunityOpt,
) -> None:
    """Open an appeal on a case for the member."""
    with community_run(community, as_user=as_user) as r:
        appeal = service.open_by_operator(
            r.session, r.principal, r.community_id, case_id, statement
        )
        typer.echo(f"{appeal.id}\topen\tcase {case_id}")


@appeal_app.command("decide")
def appeal_decide(
    appeal_id: int = typer.Argument(...),
    outcome: str = typer.Argument(..., help="uphold or overturn"),
    as_user: str = typer.Option(..., "--as", help="the reviewing user (admin or owner)"),
    note: str = typer.Option("", "--note", "-n", help="the member is told"),
    community: str = CommunityOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Uphold or overturn; overturning undoes the case through the outbox."""
    with community_run(community, as_user=as_user) as r:
        decided = review.decide(r.session, r.principal, r.community_id, appeal_id, outcome, note)
        undo = [u.kind.value for u in decided.plan]
        summary = {
            "appeal": decided.appeal.id,
            "status": decided.appeal.status,
            "self_review": decided.self_review,
            "undo": undo,
            "queued_action_ids": decided.queued,
            "cancelled_action_ids": decided.cancelled,
            "lifted_ban_ids": decided.lifted_bans,
            "warning_revoked": decided.warning_revoked,
            "message_lost": decided.message_lost,
            "notice_action_id": decided.notice_action_id,
        }
    if as_json:
        print_json(summary)
        return
    typer.echo(f"{decided.appeal.id}\t{decided.appeal.status}\t{' '.join(undo) or '-'}")
