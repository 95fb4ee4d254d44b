"""``qunyun case list|show``: the cases from the command line (acting as the owner of
every community; ``--community`` picks one, default the first)."""

from __future__ import annotations

from datetime import date

import typer

from qunyun.cli_support import installation
from qunyun.community import service as community_service
from qunyun.community.cli_scope import CommunityOpt, JsonOpt, print_json
from qunyun.errors import DomainError

from . import queries
from .env import EnforcementEnv
from .present import case_detail_out, case_out
from .queries import CaseQuery

case_app = typer.Typer(help="Cases: what the rule book, reports and operators decided.")


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not YYYY-MM-DD") from None


@case_app.command("list")
def case_list(
    group: int | None = typer.Option(None, help="group id"),
    member: int | None = typer.Option(None, help="member id"),
    rule: str | None = typer.Option(None, help='a rule id, or "category:" for every category'),
    status: str | None = typer.Option(None, help="applied, dry_run, exempt, overturned"),
    source: str | None = typer.Option(None, help="auto, report, operator"),
    since: str | None = typer.Option(None, help="first day, YYYY-MM-DD"),
    until: str | None = typer.Option(None, help="last day, YYYY-MM-DD"),
    page: int = typer.Option(1, min=1),
    per_page: int = typer.Option(50, min=1, max=queries.MAX_PER_PAGE),
    community: str = CommunityOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Cases, newest first."""
    query = CaseQuery(group, member, rule, status, source, _day(since), _day(until), page, per_page)
    with installation() as inst, inst.db.session(write=False) as session:
        env = EnforcementEnv.of_settings(inst.settings)
        principal = community_service.cli_principal(session)
        try:
            cid = (
                community_service.find_community(session, principal, community).id
                if community
                else min(principal.roles)
            )
            found = queries.list_cases(session, principal, cid, query)
        except DomainError as exc:
            inst.fail(exc)
        rows = [case_out(row, env) for row in found.items]
    if as_json:
        print_json({"total": found.total, "items": [r.model_dump(mode="json") for r in rows]})
        return
    for r in rows:
        step = r.step_action or "-"
        if r.step_action == "mute":
            step = f"mute {r.step_seconds}s"
        typer.echo(
            f"{r.id}\t{r.created_at:%Y-%m-%d %H:%M}\t{r.group_name or '-'}\t"
            f"{r.member_name or '-'}\t{r.rule_id}\t{step}\t{r.status}\t{r.source}"
        )
    typer.echo(f"# {found.total} in all, page {found.page}/{found.pages}", err=True)


@case_app.command("show")
def case_show(
    case_id: int = typer.Argument(..., min=1),
    community: str = CommunityOpt,
    as_json: bool = JsonOpt,
) -> None:
    """One case: rule, evidence, ladder step, actions and their status, appeal link."""
    with installation() as inst, inst.db.session(write=False) as session:
        env = EnforcementEnv.of_settings(inst.settings)
        principal = community_service.cli_principal(session)
        try:
            cid = (
                community_service.find_community(session, principal, community).id
                if community
                else min(principal.roles)
            )
            out = case_detail_out(queries.case_detail(session, principal, cid, case_id), env)
        except DomainError as exc:
            inst.fail(exc)
    if as_json:
        print_json(out.model_dump(mode="json"))
        return
    label = out.label.get(inst.settings.language) or out.rule_id
    lines = [
        f"case {out.id}  {out.status}  ({out.source})",
        f"rule      {label} [{out.rule_id}] {out.severity}",
        f"group     {out.group_name or '-'}",
        f"member    {out.member_name or '-'} (#{out.member_id or '-'})",
        f"when      {out.occurred_at.isoformat()}",
        f"step      {out.step_action or '-'}"
        + (f" {out.step_seconds}s" if out.step_action == "mute" else "")
        + (" (grave)" if out.grave else ""),
    ]
    if out.message_text:
        lines.append(f"message   {out.message_text}")
    for e in out.evidence:
        span = f" @{e.span[0]}-{e.span[1]}" if e.span else ""
        normalized = f" → {e.normalized}" if e.normalized and e.normalized != e.text else ""
        lines.append(f"evidence  {e.text}{span}{normalized}")
    for a in out.actions:
        lines.append(f"action    #{a.id} {a.kind} {a.status}")
    if out.notice is not None:
        lines.append(f"notice    #{out.notice.id} {out.notice.kind} {out.notice.status}")
    if out.appeal_url:
        lines.append(f"appeal    {out.appeal_url}")
    typer.echo("\n".join(lines))
