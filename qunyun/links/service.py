"""Short links: create, change, list, import, export. Services never commit.

Every function takes the caller's ``Session`` (the request, job or command owns the
transaction), the :class:`LinkEnv` of the running installation, the acting
:class:`~qunyun.accounts.principal.Principal` and the community, and checks the role
itself: viewers read, operators write, admins restore deleted links and keep the block
list. A refusal raises before anything is written; a change registers a cache
invalidation that runs once the caller commits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qunyun.accounts.passwords import Passwords
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.base import utcnow
from qunyun.db.engine import after_commit
from qunyun.errors import Conflict, DomainError, NotFound
from qunyun.links import rules
from qunyun.links.csv_io import CsvRow, ExportRow
from qunyun.links.inputs import (
    GATE_NAMES,
    MAX_NOTE_LENGTH,
    MAX_PER_PAGE,
    MAX_PREVIEW_DESCRIPTION_LENGTH,
    MAX_PREVIEW_TITLE_LENGTH,
    MAX_QUERY_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_UTM_LENGTH,
    UNSET,
    UTM_NAMES,
    LinkChanges,
    LinkQuery,
    LinkStatus,
    NewLink,
    SortKey,
    status_of,
)
from qunyun.links.models import BlockedHost, Link, Tag, link_tags
from qunyun.links.slugs import MAX_SLUG_LENGTH, pick_free_slug, slug_key, validate_slug
from qunyun.links.title_fetch import PageMeta, fetch_page_meta
from qunyun.links.urls import normalise_host_pattern, normalise_url
from qunyun.paging import Page
from qunyun.settings import Settings

if TYPE_CHECKING:
    from qunyun.web.context import AppContext

TITLE_FETCH_TIMEOUT = 5.0
MAX_REASON_LENGTH = 255
# Generated slugs are checked before use; two requests can still draw the same one.
_INSERT_ATTEMPTS = 3
_POSSIBLE_SLUG = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_SLUG_LENGTH}}}")


def _no_invalidation(keys: Sequence[str]) -> None:
    return None


def _no_invalidation_of_all() -> None:
    return None


@dataclass(frozen=True)
class LinkEnv:
    """What the link service needs from the running installation."""

    settings: Settings
    passwords: Passwords
    # Drops slug keys from the redirect's cache (every worker's, with Redis).
    invalidate: Callable[[Sequence[str]], None] = _no_invalidation
    # Fetches a page's metadata; tests replace it.
    fetch_meta: Callable[[str], PageMeta] | None = field(default=None)
    # Empties the redirect's whole cache (every worker's, with Redis): for changes to
    # a community's defaults, which every link without its own setting follows.
    invalidate_all: Callable[[], None] = _no_invalidation_of_all

    @classmethod
    def from_context(cls, ctx: AppContext) -> LinkEnv:
        cache = ctx.link_cache
        return cls(ctx.settings, ctx.passwords, cache.invalidate, None, cache.invalidate_all)


@dataclass(frozen=True)
class PageCard:
    """What a target page says about itself, cut to fit a link's title and share card."""

    title: str | None = None
    description: str | None = None
    image_url: str | None = None


LinkPage = Page[Link]


@dataclass(frozen=True)
class RowOutcome:
    row: int
    slug: str | None = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ImportReport:
    rows: list[RowOutcome]
    dry_run: bool

    @property
    def created(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.rows if not r.ok)


def installation_principal(community_id: int = 1) -> Principal:
    """The installation acting on itself (the command line): every right, no user."""
    return Principal(user_id=0, name="qunyun", roles={community_id: Role.owner}, via="cli")


def link_status(link: Link, now: datetime | None = None) -> LinkStatus:
    return status_of(
        deleted=link.deleted_at is not None,
        enabled=link.is_enabled,
        expires_at=link.expires_at,
        max_visits=link.max_visits,
        human_visits=link.human_visits,
        now=now or utcnow(),
    )


def short_url(settings: Settings, slug: str) -> str:
    return f"{settings.base_url}/{slug}"


# --- reading -------------------------------------------------------------------------


def get_link_by_slug(session: Session, slug: str, *, include_deleted: bool = False) -> Link:
    if not _POSSIBLE_SLUG.fullmatch(slug):
        # No stored slug looks like this; and PostgreSQL refuses some text (NUL) outright.
        raise NotFound("link.not_found", slug=slug[:MAX_SLUG_LENGTH])
    link = session.scalar(select(Link).where(Link.slug_key == slug_key(slug)))
    if link is None or (link.deleted_at is not None and not include_deleted):
        raise NotFound("link.not_found", slug=slug)
    return link


def get_link(
    session: Session,
    principal: Principal,
    community_id: int,
    slug: str,
    *,
    include_deleted: bool = False,
) -> Link:
    principal.require(community_id, Role.admin if include_deleted else Role.viewer)
    return _community_link(session, community_id, slug, include_deleted=include_deleted)


def _editable_link(
    session: Session, community_id: int, slug: str, *, include_deleted: bool = False
) -> Link:
    """A short link this feature may change: a live code's link changes with its code."""
    link = _community_link(session, community_id, slug, include_deleted=include_deleted)
    if link.kind != "url":
        raise Conflict("link.managed_by_live_code", slug=link.slug)
    return link


def _community_link(
    session: Session, community_id: int, slug: str, *, include_deleted: bool = False
) -> Link:
    link = get_link_by_slug(session, slug, include_deleted=include_deleted)
    if link.community_id != community_id:
        raise NotFound("link.not_found", slug=slug)
    return link


def list_tags(session: Session, principal: Principal, community_id: int) -> list[str]:
    """Names of the community's tags that some live link carries."""
    principal.require(community_id, Role.viewer)
    used = (
        select(Tag.name)
        .join(link_tags, link_tags.c.tag_id == Tag.id)
        .join(Link, Link.id == link_tags.c.link_id)
        .where(Tag.community_id == community_id, Link.deleted_at.is_(None))
        .distinct()
        .order_by(Tag.name)
    )
    return list(session.scalars(used))


def require_list_access(principal: Principal, community_id: int, query: LinkQuery) -> None:
    """Viewers list links; only admins see deleted ones."""
    needed = Role.admin if query.status is LinkStatus.deleted else Role.viewer
    principal.require(community_id, needed)


def list_links(
    session: Session, principal: Principal, community_id: int, query: LinkQuery
) -> LinkPage:
    require_list_access(principal, community_id, query)
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        raise DomainError("link.invalid_per_page", max=MAX_PER_PAGE)
    if query.page < 1:
        raise DomainError("link.invalid_page")
    stmt = _filtered(community_id, query)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        _ordered(stmt, query).limit(query.per_page).offset((query.page - 1) * query.per_page)
    )
    return LinkPage(list(rows), total, query.page, query.per_page)


def iter_export_rows(
    session: Session, env: LinkEnv, community_id: int, query: LinkQuery, batch: int = 500
) -> Iterator[ExportRow]:
    """Every link matching ``query`` (all pages), for an export.

    Checks no role: call :func:`require_list_access` first (the stream usually runs in
    its own session after the request's has closed).
    """
    now = utcnow()
    stmt = _ordered(_filtered(community_id, query), query).execution_options(yield_per=batch)
    for link in session.scalars(stmt):
        yield ExportRow(
            url=link.target_url,
            slug=link.slug,
            title=link.title,
            note=link.note,
            tags=tuple(t.name for t in link.tags),
            expires_at=link.expires_at,
            max_visits=link.max_visits,
            redirect_status=link.redirect_status,
            utm_source=link.utm_source,
            utm_medium=link.utm_medium,
            utm_campaign=link.utm_campaign,
            utm_term=link.utm_term,
            utm_content=link.utm_content,
            allowed_apps=tuple(link.allowed_apps or ()),
            allowed_devices=tuple(link.allowed_devices or ()),
            allowed_os=tuple(link.allowed_os or ()),
            anti_block_mode=link.anti_block_mode,
            preview_title=link.preview_title,
            preview_description=link.preview_description,
            preview_image_url=link.preview_image_url,
            short_url=short_url(env.settings, link.slug),
            human_visits=link.human_visits,
            bot_visits=link.bot_visits,
            created_at=link.created_at,
            state=link_status(link, now).value,
        )


def _filtered(community_id: int, query: LinkQuery) -> Select[Link]:
    # Live codes' links are managed on the live codes pages, not listed here.
    stmt = select(Link).where(Link.community_id == community_id, Link.kind == "url")
    stmt = stmt.where(*_status_conditions(query.status, utcnow()))
    q = _searchable(query.q)
    if q:
        stmt = stmt.where(_search_condition(q[:MAX_QUERY_LENGTH]))
    tag = _searchable(query.tag)
    if tag:
        stmt = stmt.where(Link.tags.any(and_(Tag.name == tag, Tag.community_id == community_id)))
    return stmt


def _searchable(text: str | None) -> str:
    """Search text without what no stored value can contain (and PostgreSQL refuses)."""
    if not text:
        return ""
    return "".join(c for c in text if c != "\x00" and unicodedata.category(c) != "Cs").strip()


def _search_condition(q: str) -> ColumnElement[bool]:
    # Targets are stored percent-encoded, so Chinese text is also looked for encoded.
    needles = dict.fromkeys([q, quote(q, safe="")])
    columns = (Link.slug, Link.title, Link.target_url, Link.note)
    return or_(*(c.icontains(n, autoescape=True) for c in columns for n in needles))


def _status_conditions(status: LinkStatus | None, now: datetime) -> list[ColumnElement[bool]]:
    if status is LinkStatus.deleted:
        return [Link.deleted_at.is_not(None)]
    conditions: list[ColumnElement[bool]] = [Link.deleted_at.is_(None)]
    not_expired = or_(Link.expires_at.is_(None), Link.expires_at > now)
    expired = and_(Link.expires_at.is_not(None), Link.expires_at <= now)
    used_up = and_(Link.max_visits.is_not(None), Link.human_visits >= Link.max_visits)
    not_used_up = or_(Link.max_visits.is_(None), Link.human_visits < Link.max_visits)
    if status is LinkStatus.disabled:
        conditions.append(Link.is_enabled.is_(False))
    elif status is LinkStatus.expired:
        conditions += [Link.is_enabled.is_(True), expired]
    elif status is LinkStatus.used_up:
        conditions += [Link.is_enabled.is_(True), not_expired, used_up]
    elif status is LinkStatus.active:
        conditions += [Link.is_enabled.is_(True), not_expired, not_used_up]
    return conditions


_SORT_COLUMNS: dict[SortKey, Any] = {
    SortKey.created_at: Link.created_at,
    SortKey.updated_at: Link.updated_at,
    SortKey.slug: Link.slug_key,
    SortKey.human_visits: Link.human_visits,
    SortKey.expires_at: Link.expires_at,
}


def _ordered(stmt: Select[Link], query: LinkQuery) -> Select[Link]:
    column = _SORT_COLUMNS[query.sort]
    order = column.desc() if query.descending else column.asc()
    tiebreak = Link.id.desc() if query.descending else Link.id.asc()
    # Links without an expiry come last either way, on SQLite as on PostgreSQL.
    return stmt.order_by(order.nulls_last(), tiebreak)


# --- creating and changing -----------------------------------------------------------


def blocked_patterns(session: Session, community_id: int) -> list[str]:
    return list(
        session.scalars(select(BlockedHost.pattern).where(BlockedHost.community_id == community_id))
    )


def fetch_title(env: LinkEnv, url: str, blocked: Iterable[str] = ()) -> str | None:
    """The target page's title (Open Graph first). Network: takes up to seconds.

    Call it outside a write transaction where that matters (SQLite holds its one write
    lock for a transaction's whole life).
    """
    return fetch_card(env, url, blocked).title


def fetch_card(env: LinkEnv, url: str, blocked: Iterable[str] = ()) -> PageCard:
    """The target page's title, description and image (Open Graph first), each cut
    to what a link holds; an image that could not be a link's preview image is left
    out. Network, like :func:`fetch_title`."""
    settings = env.settings
    blocked = list(blocked)
    target = normalise_url(
        url,
        allow_private=settings.allow_private_targets,
        blocked_hosts=blocked,
        max_length=settings.max_url_length,
    )
    fetch = env.fetch_meta or partial(
        fetch_page_meta,
        timeout=TITLE_FETCH_TIMEOUT,
        allow_private=settings.allow_private_targets,
    )
    meta = fetch(target)
    title = meta.best_title
    description = meta.og_description or meta.description
    image: str | None = None
    if meta.og_image:
        try:
            image = _target(env, meta.og_image, blocked)
        except DomainError:
            image = None
    return PageCard(
        title=title[:MAX_TITLE_LENGTH] if title else None,
        description=description[:MAX_PREVIEW_DESCRIPTION_LENGTH] if description else None,
        image_url=image,
    )


def create_link(
    session: Session,
    env: LinkEnv,
    principal: Principal,
    community_id: int,
    data: NewLink,
    *,
    blocked: Sequence[str] | None = None,
) -> Link:
    """Validate ``data`` and add the link; raises before writing anything.

    ``blocked`` (the community's block list) saves a bulk caller one query per link.
    """
    principal.require(community_id, Role.operator)
    if blocked is None:
        blocked = blocked_patterns(session, community_id)
    values = _validated_settings(env, data, blocked)
    custom_slug = validate_slug(data.slug) if data.slug and data.slug.strip() else None
    if custom_slug is not None:
        _ensure_slug_free(session, custom_slug)
    tag_names = rules.clean_tags(data.tags)
    for attempt in range(_INSERT_ATTEMPTS):
        slug = custom_slug or pick_free_slug(lambda s: _slug_taken(session, s))
        link = Link(
            community_id=community_id,
            slug=slug,
            slug_key=slug_key(slug),
            created_by_id=None if principal.via == "cli" else principal.user_id,
            **values,
        )
        try:
            with session.begin_nested():
                link.tags = _tags_for(session, community_id, tag_names)
                session.add(link)
                session.flush()
        except IntegrityError:
            if custom_slug is not None or attempt == _INSERT_ATTEMPTS - 1:
                raise Conflict("slug.taken", slug=slug) from None
            continue
        _invalidate_after_commit(session, env, [link.slug_key])
        return link
    raise AssertionError("unreachable")  # pragma: no cover


def update_link(
    session: Session,
    env: LinkEnv,
    principal: Principal,
    community_id: int,
    slug: str,
    changes: LinkChanges,
) -> Link:
    """Change the given settings; the old slug stops working when the slug changes."""
    principal.require(community_id, Role.operator)
    link = _editable_link(session, community_id, slug)
    old_key = link.slug_key
    given = changes.given()
    new_slug: str | None = None
    if isinstance(changes.slug, str):
        new_slug = validate_slug(changes.slug)
        if slug_key(new_slug) != old_key:
            _ensure_slug_free(session, new_slug)
    values = _validated_changes(session, env, community_id, changes, given)
    tag_names = rules.clean_tags(changes.tags) if isinstance(changes.tags, tuple) else None
    try:
        with session.begin_nested():
            if new_slug is not None:
                link.slug, link.slug_key = new_slug, slug_key(new_slug)
            for name, value in values.items():
                setattr(link, name, value)
            if tag_names is not None:
                link.tags = _tags_for(session, community_id, tag_names)
            link.updated_at = utcnow()
            session.flush()
    except IntegrityError:
        raise Conflict("slug.taken", slug=new_slug or slug) from None
    _invalidate_after_commit(session, env, [old_key, link.slug_key])
    return link


def set_enabled(
    session: Session,
    env: LinkEnv,
    principal: Principal,
    community_id: int,
    slug: str,
    enabled: bool,
) -> Link:
    return update_link(session, env, principal, community_id, slug, LinkChanges(is_enabled=enabled))


def delete_link(
    session: Session, env: LinkEnv, principal: Principal, community_id: int, slug: str
) -> Link:
    """Soft delete: the link leaves lists and the redirect; an admin can restore it."""
    principal.require(community_id, Role.operator)
    link = _editable_link(session, community_id, slug)
    link.deleted_at = utcnow()
    link.updated_at = link.deleted_at
    session.flush()
    _invalidate_after_commit(session, env, [link.slug_key])
    return link


def restore_link(
    session: Session, env: LinkEnv, principal: Principal, community_id: int, slug: str
) -> Link:
    principal.require(community_id, Role.admin)
    link = _editable_link(session, community_id, slug, include_deleted=True)
    if link.deleted_at is not None:
        # The slug cannot have been taken meanwhile: its key stayed in the unique index.
        link.deleted_at = None
        link.updated_at = utcnow()
        session.flush()
        _invalidate_after_commit(session, env, [link.slug_key])
    return link


def import_links(
    session: Session,
    env: LinkEnv,
    principal: Principal,
    community_id: int,
    rows: Sequence[CsvRow],
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Create a link per row, each all-or-nothing; report every row's slug or error.

    A dry run checks every row against the database too, then undoes each.
    """
    principal.require(community_id, Role.operator)
    outcomes: list[RowOutcome] = []
    first_row_of: dict[str, int] = {}
    blocked = blocked_patterns(session, community_id)
    for row in rows:
        outcomes.append(
            _import_row(session, env, principal, community_id, row, first_row_of, blocked, dry_run)
        )
        if progress is not None:
            progress(1)
    return ImportReport(outcomes, dry_run)


def _import_row(
    session: Session,
    env: LinkEnv,
    principal: Principal,
    community_id: int,
    row: CsvRow,
    first_row_of: dict[str, int],
    blocked: Sequence[str],
    dry_run: bool,
) -> RowOutcome:
    if row.error is not None or row.link is None:
        return RowOutcome(row.number, error=row.error or DomainError("url.empty"))
    if row.slug_key is not None:
        first = first_row_of.setdefault(row.slug_key, row.number)
        if first != row.number:
            error = Conflict("csv.duplicate_slug", slug=row.link.slug, first_row=first)
            return RowOutcome(row.number, error=error)
    # create_link is all-or-nothing by itself; a dry run wraps it to undo a success too.
    savepoint = session.begin_nested() if dry_run else None
    try:
        link = create_link(session, env, principal, community_id, row.link, blocked=blocked)
        slug = link.slug
    except DomainError as exc:
        return RowOutcome(row.number, error=exc)
    finally:
        if savepoint is not None:
            savepoint.rollback()
    return RowOutcome(row.number, slug=slug)


# --- validation ----------------------------------------------------------------------


def _slug_taken(session: Session, slug: str) -> bool:
    # Deleted links keep their slug: restoring one must never find it taken.
    return session.scalar(select(Link.id).where(Link.slug_key == slug_key(slug))) is not None


def _ensure_slug_free(session: Session, slug: str) -> None:
    if _slug_taken(session, slug):
        raise Conflict("slug.taken", slug=slug)


def _validated_settings(env: LinkEnv, data: NewLink, blocked: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "target_url": _target(env, data.url, blocked),
        "title": rules.clean_text(data.title, "title", MAX_TITLE_LENGTH),
        "note": rules.clean_text(data.note, "note", MAX_NOTE_LENGTH),
        "expires_at": rules.expiry(data.expires_at, env.settings.timezone, utcnow()),
        "max_visits": rules.max_visits(data.max_visits),
        "password_hash": _password_hash(env, data.password),
        "redirect_status": rules.redirect_status(data.redirect_status),
    }
    for name in UTM_NAMES:
        values[name] = rules.clean_text(getattr(data, name), name, MAX_UTM_LENGTH)
    for name in GATE_NAMES:
        values[name] = rules.platforms(getattr(data, name), name)
    values["anti_block_mode"] = rules.anti_block_mode(data.anti_block_mode)
    values["preview_title"] = _preview_title(data.preview_title)
    values["preview_description"] = _preview_description(data.preview_description)
    values["preview_image_url"] = _preview_image(env, data.preview_image_url, blocked)
    return values


def _validated_changes(
    session: Session,
    env: LinkEnv,
    community_id: int,
    changes: LinkChanges,
    given: frozenset[str],
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    blocked: list[str] | None = None
    if isinstance(changes.url, str):
        blocked = blocked_patterns(session, community_id)
        values["target_url"] = _target(env, changes.url, blocked)
    if changes.title is not UNSET:
        values["title"] = rules.clean_text(changes.title, "title", MAX_TITLE_LENGTH)
    if changes.note is not UNSET:
        values["note"] = rules.clean_text(changes.note, "note", MAX_NOTE_LENGTH)
    if changes.expires_at is not UNSET:
        values["expires_at"] = rules.expiry(changes.expires_at, env.settings.timezone, utcnow())
    if changes.max_visits is not UNSET:
        values["max_visits"] = rules.max_visits(changes.max_visits)
    if changes.password is not UNSET:
        values["password_hash"] = _password_hash(env, changes.password)
    if changes.redirect_status is not UNSET:
        values["redirect_status"] = rules.redirect_status(changes.redirect_status)
    if changes.is_enabled is not UNSET:
        values["is_enabled"] = bool(changes.is_enabled)
    for name in UTM_NAMES:
        if name in given:
            values[name] = rules.clean_text(getattr(changes, name), name, MAX_UTM_LENGTH)
    for name in GATE_NAMES:
        if name in given:
            values[name] = rules.platforms(getattr(changes, name), name)
    if changes.anti_block_mode is not UNSET:
        values["anti_block_mode"] = rules.anti_block_mode(changes.anti_block_mode)
    if changes.preview_title is not UNSET:
        values["preview_title"] = _preview_title(changes.preview_title)
    if changes.preview_description is not UNSET:
        values["preview_description"] = _preview_description(changes.preview_description)
    if changes.preview_image_url is not UNSET:
        if blocked is None:
            blocked = blocked_patterns(session, community_id)
        values["preview_image_url"] = _preview_image(env, changes.preview_image_url, blocked)
    return values


def _target(env: LinkEnv, url: str, blocked: Sequence[str]) -> str:
    return normalise_url(
        url,
        allow_private=env.settings.allow_private_targets,
        blocked_hosts=blocked,
        max_length=env.settings.max_url_length,
    )


def _preview_title(value: str | None) -> str | None:
    return rules.clean_text(value, "preview_title", MAX_PREVIEW_TITLE_LENGTH)


def _preview_description(value: str | None) -> str | None:
    return rules.clean_text(value, "preview_description", MAX_PREVIEW_DESCRIPTION_LENGTH)


def _preview_image(env: LinkEnv, url: str | None, blocked: Sequence[str]) -> str | None:
    """A share-card image URL, held to the rules of a target; the refusal names the field."""
    if url is None or not url.strip():
        return None
    try:
        return _target(env, url, blocked)
    except DomainError as exc:
        raise DomainError(
            exc.code, status=exc.status, **{**exc.params, "field": "preview_image_url"}
        ) from None


def _tags_for(session: Session, community_id: int, names: list[str]) -> list[Tag]:
    if not names:
        return []
    existing = {
        tag.name: tag
        for tag in session.scalars(
            select(Tag).where(Tag.community_id == community_id, Tag.name.in_(names))
        )
    }
    for name in names:
        if name in existing:
            continue
        tag = Tag(community_id=community_id, name=name)
        try:
            with session.begin_nested():
                session.add(tag)
                session.flush()
        except IntegrityError:
            # Another request created it a moment ago.
            found = session.scalar(
                select(Tag).where(Tag.community_id == community_id, Tag.name == name)
            )
            if found is None:
                raise
            tag = found
        existing[name] = tag
    return [existing[name] for name in names]


def _password_hash(env: LinkEnv, password: str | None) -> str | None:
    checked = rules.password(password)
    return None if checked is None else env.passwords.hash(checked)


def _invalidate_after_commit(session: Session, env: LinkEnv, keys: list[str]) -> None:
    unique = list(dict.fromkeys(keys))
    after_commit(session, lambda: env.invalidate(unique))


# --- the block list ------------------------------------------------------------------


def list_blocked_hosts(
    session: Session, principal: Principal, community_id: int
) -> list[BlockedHost]:
    principal.require(community_id, Role.admin)
    return list(
        session.scalars(
            select(BlockedHost)
            .where(BlockedHost.community_id == community_id)
            .order_by(BlockedHost.pattern)
        )
    )


def add_blocked_host(
    session: Session,
    principal: Principal,
    community_id: int,
    pattern: str,
    reason: str | None = None,
) -> BlockedHost:
    """Block a domain (and its subdomains) or, as ``*.example.com``, only its subdomains.

    Applies to links created or re-targeted from now on; existing links keep working.
    """
    principal.require(community_id, Role.admin)
    if "\x00" in pattern:
        raise DomainError("url.invalid_block_pattern", pattern=pattern.replace("\x00", ""))
    normalised = normalise_host_pattern(pattern)
    if len(normalised) > MAX_REASON_LENGTH:
        raise DomainError("url.invalid_block_pattern", pattern=pattern[:60])
    clean_reason = rules.clean_text(reason, "reason", MAX_REASON_LENGTH)
    exists = session.scalar(
        select(BlockedHost.id).where(
            BlockedHost.community_id == community_id, BlockedHost.pattern == normalised
        )
    )
    if exists is not None:
        raise Conflict("blocked_host.exists", pattern=normalised)
    host = BlockedHost(community_id=community_id, pattern=normalised, reason=clean_reason)
    try:
        with session.begin_nested():
            session.add(host)
            session.flush()
    except IntegrityError:
        raise Conflict("blocked_host.exists", pattern=normalised) from None
    return host


def remove_blocked_host(
    session: Session, principal: Principal, community_id: int, host_id: int
) -> None:
    principal.require(community_id, Role.admin)
    host = session.get(BlockedHost, host_id)
    if host is None or host.community_id != community_id:
        raise NotFound("blocked_host.not_found")
    session.delete(host)
    session.flush()
