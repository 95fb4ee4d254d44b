"""What the community-scoped commands share: the ``--community`` and ``--json`` options,
a transaction acting as the installation (or as a named user) in one community, and
printing JSON. A domain error rolls the transaction back and is printed in the
installation's language."""

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
from qunyun.cli_support import installation
from qunyun.community import service as community_service
from qunyun.errors import DomainError, NotFound
from qunyun.settings import Settings

CommunityOpt = typer.Option(
    "", "--community", "-c", help="community id or slug (default: the first)"
)
JsonOpt = typer.Option(False, "--json")


@dataclass
class CommunityRun:
    settings: Settings
    session: Session
    principal: Principal
    community_id: int


@contextmanager
def community_run(community: str = "", *, as_user: str = "") -> Iterator[CommunityRun]:
    """``community`` (id or slug; the first one when empty), as the installation or, with
    ``as_user``, as that active user (their roles are checked as on the pages)."""
    with installation() as inst, inst.db.transaction() as session:
        try:
            principal = community_service.cli_principal(session)
            cid = (
                community_service.find_community(session, principal, community).id
                if community
                else min(principal.roles)
            )
            if as_user:
                found = accounts.get_user_by_name(session, as_user)
                if found is None or not found.is_active:
                    raise NotFound("account.user_not_found", name=as_user[:64])
                principal = accounts.principal_for(session, found, via="cli")
            yield CommunityRun(inst.settings, session, principal, cid)
        except DomainError as exc:
            session.rollback()
            inst.fail(exc)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
