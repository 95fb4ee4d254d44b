"""``qunyun appeal list|show|open|decide``: the same services from the command line.

Reading needs no login (the command line acts as the owner of every community).
Deciding is done by a named user (``--as``), to whom the reviewer rules apply as on
the pages: an admin or owner, not the one who acted or opened the appeal. A running
server delivers the queued unmute/unban within its poll interval.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import typer
from sqlalchemy.orm import Session

from qunyun.accounts import service as accounts
from qunyun.accounts.principal import Principal
from qunyun.appeals import queue, review, service
from qunyun.appeals.present import appeal_out
from qunyun.cli_support import installation
from qunyun.community import service as community_service
from qunyun.errors import DomainError, NotFound
from qunyun.settings import Settings

appeal_app = typer.Typer(help="Appeals: list, show, open, decide.", no_args_is_help=True)
CommunityOpt = typer.Option(
    "", "--community", "-c", help="community id or slug (default: the first)"
)
JsonOpt = typer.Option(False, "--json")


@dataclass
class _Run:
    settings: Settings
    session: Session
    principal: Principal
    community_id: int


@contextmanager
def _run(community: str = "", user: str = "") -> Iterator[_Run]:
    with installation() as inst, inst.db.transaction() as session:
        try:
            principal = community_service.cli_principal(session)
            cid = (
                community_service.find_community(session, principal, community).id
                if community
                else min(principal.roles)
            )
            if user:
                found = accounts.get_user_by_name(session, user)
                if found is None or not found.is_active:
                    raise NotFound("appeal.user_not_found", name=user[:64])
                principal = accounts.principal_for(session, found, via="cli")
            yield _Run(inst.settings, session, principal, cid)
        except DomainError as exc:
            session.rollback()
            inst.fail(exc)


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@appeal_app.command("list")
def appeal_list(
    status: str = typer.Option("", help="open, upheld or overturned (default: all, open first)"),
    page: int = typer.Option(1, min=1),
    per_page: int = typer.Option(50, min=1, max=queue.MAX_PER_PAGE),
    community: str = CommunityOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The appeals queue."""
    with _run(community) as r:
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
        _print({"items": [a.model_dump(mode="json") for a in rows], "total": found.total})
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
    with _run(community) as r:
        out = appeal_out(queue.appeal_row(r.session, r.principal, r.community_id, appeal_id))
    _print(out.model_dump(mode="json"))


@appeal_app.command("open")
def appeal_open(
    case_id: int = typer.Argument(..., help="the case's id"),
    statement: str = typer.Option(..., "--statement", "-s", help="why it should be reviewed"),
    as_user: str = typer.Option("", "--as", help="the operator opening it (default: nobody)"),
    community: str = CommunityOpt,
) -> None:
    """Open an appeal on a case for the member."""
    with _run(community, as_user) as r:
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
    with _run(community, as_user) as r:
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
        _print(summary)
        return
    typer.echo(f"{decided.appeal.id}\t{decided.appeal.status}\t{' '.join(undo) or '-'}")
