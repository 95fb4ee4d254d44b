"""Rule books in storage: the community's book, each group's override, their versions,
and the effective book a group follows (with its compiled matcher, cached by version).

Every save is a new version with its author and time; older versions stay readable.
A document is validated before anything is written, so a refused import leaves the
book in force untouched. Services never commit: the caller does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qunyun.community.models import Group
from qunyun.db.base import utcnow
from qunyun.errors import NotFound
from qunyun.moderation.book_matcher import matcher_for
from qunyun.moderation.models import RuleBookVersion, StoredRuleBook
from qunyun.moderation.rulebook import RuleBook, merge_data
from qunyun.moderation.text.matcher import Matcher
from qunyun.moderation.yaml_io import load_override, load_rulebook, validate_data

DEFAULT_BOOK = Path(__file__).resolve().parent / "data" / "default_rulebook.yaml"
MAX_NOTE = 500


@cache
def starter_book() -> RuleBook:
    """The shipped starter rule book (what a community follows until it saves its own)."""
    return load_rulebook(DEFAULT_BOOK.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class BookState:
    """A stored book (community or group override) and its version in force."""

    book: StoredRuleBook
    version: RuleBookVersion | None

    @property
    def document(self) -> dict[str, Any]:
        return dict(self.version.document) if self.version is not None else {}


def _stored(session: Session, community_id: int, group_id: int | None) -> StoredRuleBook | None:
    return session.scalars(
        select(StoredRuleBook).where(
            StoredRuleBook.community_id == community_id,
            StoredRuleBook.group_id.is_(None)
            if group_id is None
            else StoredRuleBook.group_id == group_id,
        )
    ).one_or_none()


def _version(session: Session, book: StoredRuleBook, version: int) -> RuleBookVersion | None:
    if version <= 0:
        return None
    return session.scalars(
        select(RuleBookVersion).where(
            RuleBookVersion.rule_book_id == book.id, RuleBookVersion.version == version
        )
    ).one_or_none()


def _ensure(session: Session, community_id: int, group_id: int | None) -> StoredRuleBook:
    book = _stored(session, community_id, group_id)
    if book is None:
        book = StoredRuleBook(community_id=community_id, group_id=group_id, version=0)
        session.add(book)
        session.flush()
    return book


def _group(session: Session, community_id: int, group_id: int) -> Group:
    group = session.get(Group, group_id)
    if group is None or group.community_id != community_id:
        raise NotFound("group.not_found", id=group_id)
    return group


def community_book(session: Session, community_id: int) -> tuple[RuleBook, int]:
    """The community's book in force and its version (0: the shipped starter book)."""
    stored = _stored(session, community_id, None)
    if stored is None or stored.version == 0:
        return starter_book(), 0
    version = _version(session, stored, stored.version)
    assert version is not None
    return RuleBook.model_validate(version.document), stored.version


def group_override(
    session: Session, community_id: int, group_id: int
) -> tuple[dict[str, Any], int]:
    """The group's partial document over the community book ({} when none) and its version."""
    _group(session, community_id, group_id)
    stored = _stored(session, community_id, group_id)
    if stored is None or stored.version == 0:
        return {}, 0
    version = _version(session, stored, stored.version)
    return (dict(version.document) if version is not None else {}), stored.version


@dataclass(frozen=True)
class EffectiveBook:
    """What a group follows: the community book with the group's override merged over it."""

    book: RuleBook
    community_version: int
    group_version: int
    # The stored rows, for cases to cite (None while the starter book is in force).
    community_book_id: int | None
    group_book_id: int | None

    @property
    def key(self) -> tuple[int, int]:
        return (self.community_version, self.group_version)

    @property
    def cited_book_id(self) -> int | None:
        return self.group_book_id if self.group_version else self.community_book_id

    @property
    def cited_version(self) -> int:
        return self.group_version if self.group_version else self.community_version


def effective_book(session: Session, community_id: int, group_id: int) -> EffectiveBook:
    base, base_version = community_book(session, community_id)
    override, override_version = group_override(session, community_id, group_id)
    book = RuleBook.model_validate(merge_data(base.to_data(), override)) if override else base
    community_row = _stored(session, community_id, None)
    group_row = _stored(session, community_id, group_id)
    return EffectiveBook(
        book,
        base_version,
        override_version,
        community_row.id if community_row is not None else None,
        group_row.id if group_row is not None else None,
    )


def save_community_book(
    session: Session,
    community_id: int,
    book: RuleBook,
    *,
    author_id: int | None,
    note: str | None = None,
) -> RuleBookVersion:
    """A new version of the community's book (``book`` is already validated)."""
    stored = _ensure(session, community_id, None)
    return _new_version(session, stored, book.to_data(), author_id, note)


def save_group_override(
    session: Session,
    community_id: int,
    group_id: int,
    override: dict[str, Any],
    *,
    author_id: int | None,
    note: str | None = None,
) -> RuleBookVersion:
    """A new version of a group's override; refused (RulebookInvalid) when the merged
    book would not validate, so nothing is written."""
    _group(session, community_id, group_id)
    base, _ = community_book(session, community_id)
    validate_data(merge_data(base.to_data(), override))
    stored = _ensure(session, community_id, group_id)
    return _new_version(session, stored, override, author_id, note)


def import_community_yaml(
    session: Session, community_id: int, text: str | bytes, *, author_id: int | None
) -> RuleBookVersion:
    """Parse, validate and save; a refused document raises RulebookInvalid (line and
    reason) and leaves the book in force as it was."""
    book = load_rulebook(text)
    return save_community_book(session, community_id, book, author_id=author_id, note="yaml")


def import_group_yaml(
    session: Session, community_id: int, group_id: int, text: str | bytes, *, author_id: int | None
) -> RuleBookVersion:
    base, _ = community_book(session, community_id)
    data, _merged = load_override(text, base)
    return save_group_override(
        session, community_id, group_id, data, author_id=author_id, note="yaml"
    )


def _new_version(
    session: Session,
    stored: StoredRuleBook,
    document: dict[str, Any],
    author_id: int | None,
    note: str | None,
) -> RuleBookVersion:
    # Lock the book row so two saves at once get consecutive versions.
    session.execute(
        select(StoredRuleBook.id).where(StoredRuleBook.id == stored.id).with_for_update()
    )
    session.refresh(stored)
    now = utcnow()
    stored.version += 1
    stored.updated_at = now
    version = RuleBookVersion(
        rule_book_id=stored.id,
        version=stored.version,
        document=document,
        author_id=author_id,
        note=(note or None) and note[:MAX_NOTE],
        created_at=now,
    )
    session.add(version)
    session.flush()
    return version


def versions(session: Session, community_id: int, group_id: int | None) -> list[RuleBookVersion]:
    """Every version of a book, newest first."""
    stored = _stored(session, community_id, group_id)
    if stored is None:
        return []
    return list(
        session.scalars(
            select(RuleBookVersion)
            .where(RuleBookVersion.rule_book_id == stored.id)
            .order_by(RuleBookVersion.version.desc())
        )
    )


def version_of(
    session: Session, community_id: int, group_id: int | None, version: int
) -> RuleBookVersion:
    stored = _stored(session, community_id, group_id)
    found = _version(session, stored, version) if stored is not None else None
    if found is None:
        raise NotFound("moderation.rulebook.version_not_found", version=version)
    return found


class MatcherCache:
    """Compiled matchers by (community, group, versions): compiling a large book takes
    a while, and a book changes rarely."""

    def __init__(self, limit: int = 64) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._by_key: dict[tuple[int, int, int, int], Matcher] = {}

    def matcher(self, community_id: int, group_id: int, effective: EffectiveBook) -> Matcher:
        # Groups without an override share the community's compiled matcher.
        key = (
            community_id,
            effective.community_version,
            group_id if effective.group_version else 0,
            effective.group_version,
        )
        with self._lock:
            found = self._by_key.get(key)
        if found is not None:
            return found
        compiled = matcher_for(effective.book)
        with self._lock:
            if len(self._by_key) >= self._limit:
                self._by_key.clear()
            self._by_key[key] = compiled
        return compiled
