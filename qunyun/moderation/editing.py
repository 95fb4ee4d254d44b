"""Rule books for signed-in users: reading them, saving new versions, history and diffs.

Viewers (and everyone above) read; saving, importing and restoring need an admin or
owner, because the rule book decides what is done to members. Every save is a new
version (see :mod:`qunyun.moderation.books`) and writes a "rulebook.saved" audit entry.
A refused document raises :class:`RulebookInvalid` (every problem with its line or
field) and writes nothing, so the book in force stays as it was. Services never commit.

``group_id`` None means the community's book; a group id means that group's override
(a partial document merged over the community's book).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from qunyun.accounts.models import User
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.groups import get_group
from qunyun.community.models import Group
from qunyun.community.service import get_community
from qunyun.errors import DomainError
from qunyun.i18n import error_text
from qunyun.moderation import audit, books
from qunyun.moderation.models import RuleBookVersion, StoredRuleBook
from qunyun.moderation.rulebook import RuleBook, merge_data
from qunyun.moderation.yaml_io import (
    RulebookInvalid,
    RulebookProblem,
    dump_data,
    load_override,
    load_rulebook,
)

READ_ROLE = Role.viewer
EDIT_ROLE = Role.admin
MAX_NOTE = books.MAX_NOTE


@dataclass(frozen=True)
class Snapshot:
    """A book as it stands: the community's (whole) or a group's override (partial)."""

    group_id: int | None
    # The version in force; 0: the starter book (community) or no override (group).
    version: int
    document: dict[str, Any]
    # The book members follow: the community's, or the merge for a group.
    effective: RuleBook
    community_version: int

    @property
    def yaml(self) -> str:
        return document_yaml(self.document, self.group_id)


def document_yaml(document: Mapping[str, Any], group_id: int | None) -> str:
    head = (
        "# Qunyun rule book (docs/rulebook.md)\n"
        if group_id is None
        else "# Qunyun group override: only what differs from the community's rule book\n"
    )
    return head + (dump_data(document) if document else "{}\n")


@dataclass(frozen=True)
class VersionInfo:
    version: int
    author: str
    created_at: datetime | None
    note: str
    in_force: bool


@dataclass(frozen=True)
class DiffLine:
    # "file", "hunk", "add", "del" or "same".
    kind: str
    text: str


def _check_read(session: Session, principal: Principal, cid: int, gid: int | None) -> None:
    get_community(session, principal, cid)
    principal.require(cid, READ_ROLE)
    if gid is not None:
        get_group(session, principal, cid, gid)


def _check_edit(session: Session, principal: Principal, cid: int, gid: int | None) -> None:
    _check_read(session, principal, cid, gid)
    principal.require(cid, EDIT_ROLE)


# --- reading -------------------------------------------------------------------------


def snapshot(
    session: Session, principal: Principal, community_id: int, group_id: int | None = None
) -> Snapshot:
    _check_read(session, principal, community_id, group_id)
    base, base_version = books.community_book(session, community_id)
    if group_id is None:
        return Snapshot(None, base_version, base.to_data(), base, base_version)
    override, version = books.group_override(session, community_id, group_id)
    effective = books.effective_book(session, community_id, group_id).book
    return Snapshot(group_id, version, override, effective, base_version)


def history(
    session: Session, principal: Principal, community_id: int, group_id: int | None = None
) -> list[VersionInfo]:
    """Every saved version, newest first, with its author; the starter book (version 0)
    closes a community's list."""
    _check_read(session, principal, community_id, group_id)
    rows = books.versions(session, community_id, group_id)
    in_force = rows[0].version if rows else 0
    names = _user_names(session, {r.author_id for r in rows if r.author_id is not None})
    out = [
        VersionInfo(
            r.version,
            names.get(r.author_id, "") if r.author_id is not None else "",
            r.created_at,
            r.note or "",
            r.version == in_force,
        )
        for r in rows
    ]
    if group_id is None:
        out.append(VersionInfo(0, "", None, "", in_force == 0))
    return out


def _user_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(ids)))
    return dict(rows.all())


def version_document(
    session: Session,
    principal: Principal,
    community_id: int,
    group_id: int | None,
    version: int,
) -> dict[str, Any]:
    """The document of one version (0: the starter book, or an empty override)."""
    _check_read(session, principal, community_id, group_id)
    if version == 0:
        return books.starter_book().to_data() if group_id is None else {}
    return dict(books.version_of(session, community_id, group_id, version).document)


def diff(
    session: Session,
    principal: Principal,
    community_id: int,
    group_id: int | None,
    old: int,
    new: int,
) -> list[DiffLine]:
    """The change from version ``old`` to ``new`` as a unified diff of their YAML."""
    before = document_yaml(
        version_document(session, principal, community_id, group_id, old), group_id
    )
    after = document_yaml(
        version_document(session, principal, community_id, group_id, new), group_id
    )
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), f"v{old}", f"v{new}", lineterm="", n=3
    )
    return [DiffLine(_kind(line), line) for line in lines]


def _kind(line: str) -> str:
    if line.startswith(("---", "+++")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return "same"


# --- saving --------------------------------------------------------------------------


def save_yaml(
    session: Session,
    principal: Principal,
    community_id: int,
    group_id: int | None,
    text: str | bytes,
    *,
    note: str = "",
    via: str = "yaml",
) -> RuleBookVersion:
    """Validate the YAML document and save it as the new version in force."""
    _check_edit(session, principal, community_id, group_id)
    if group_id is None:
        book = load_rulebook(text)
        return _save_community(session, principal, community_id, book, note, via)
    base, _ = books.community_book(session, community_id)
    data, _merged = load_override(text, base)
    return _save_group(session, principal, community_id, group_id, data, note, via)


def save_data(
    session: Session,
    principal: Principal,
    community_id: int,
    group_id: int | None,
    data: Mapping[str, Any],
    *,
    note: str = "",
    via: str = "json",
) -> RuleBookVersion:
    """The same for a document given as data (the JSON API, the switches form).

    Problems name their field only: a line of the YAML the data was turned into would
    mean nothing to the caller.
    """
    try:
        return save_yaml(
            session, principal, community_id, group_id, dump_data(dict(data)), note=note, via=via
        )
    except RulebookInvalid as exc:
        raise RulebookInvalid([dataclasses.replace(p, line=None) for p in exc.problems]) from None


def apply_switches(
    session: Session,
    principal: Principal,
    community_id: int,
    group_id: int | None,
    changes: Mapping[str, Any],
    *,
    note: str = "",
) -> RuleBookVersion:
    """Change a few fields (``{"notice": {"where": "private"}}``) of the book in force."""
    current = snapshot(session, principal, community_id, group_id)
    return save_data(
        session,
        principal,
        community_id,
        group_id,
        merge_data(current.document, changes),
        note=note,
        via="form",
    )


def restore(
    session: Session,
    principal: Principal,
    community_id: int,
    group_id: int | None,
    version: int,
    *,
    note: str = "",
) -> RuleBookVersion:
    """Make an older version the one in force again, as a new version."""
    document = version_document(session, principal, community_id, group_id, version)
    return save_data(
        session,
        principal,
        community_id,
        group_id,
        document,
        note=note or f"v{version}",
        via="restore",
    )


def _save_community(
    session: Session, principal: Principal, cid: int, book: RuleBook, note: str, via: str
) -> RuleBookVersion:
    _check_overrides(session, cid, book)
    saved = books.save_community_book(
        session, cid, book, author_id=principal.user_id or None, note=note.strip()[:MAX_NOTE]
    )
    _audit(session, principal, cid, None, saved, via)
    return saved


def _save_group(
    session: Session,
    principal: Principal,
    cid: int,
    gid: int,
    data: dict[str, Any],
    note: str,
    via: str,
) -> RuleBookVersion:
    saved = books.save_group_override(
        session, cid, gid, data, author_id=principal.user_id or None, note=note.strip()[:MAX_NOTE]
    )
    _audit(session, principal, cid, gid, saved, via)
    return saved


def _check_overrides(session: Session, cid: int, book: RuleBook) -> None:
    """Refuse a community book that a group's override would no longer fit (e.g. it
    changes a category the book removes): those groups would be left without rules."""
    problems: list[RulebookProblem] = []
    stored = session.scalars(
        select(StoredRuleBook).where(
            StoredRuleBook.community_id == cid,
            StoredRuleBook.group_id.is_not(None),
            StoredRuleBook.version > 0,
        )
    ).all()
    data = book.to_data()
    for row in stored:
        assert row.group_id is not None
        override, _ = books.group_override(session, cid, row.group_id)
        try:
            RuleBook.model_validate(merge_data(data, override))
        except ValidationError as exc:
            group = session.get(Group, row.group_id)
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            problems.append(
                RulebookProblem(
                    "group_override_breaks",
                    None,
                    where,
                    {"group": group.name if group else row.group_id, "detail": first["msg"]},
                )
            )
    if problems:
        raise RulebookInvalid(problems)


def _audit(
    session: Session,
    principal: Principal,
    cid: int,
    gid: int | None,
    saved: RuleBookVersion,
    via: str,
) -> None:
    audit.record(
        session,
        cid,
        "rulebook.saved",
        summary=(f"v{saved.version}" + (f" — {saved.note}" if saved.note else "")),
        actor_user_id=principal.user_id or None,
        group_id=gid,
        detail={"version": saved.version, "via": via, "note": saved.note or ""},
    )


def problems_of(exc: DomainError, lang: str) -> list[str]:
    """Every problem of a refused document for people (one line each)."""
    if isinstance(exc, RulebookInvalid):
        return exc.messages(lang)
    return [error_text(exc, lang)]
