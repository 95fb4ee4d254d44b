"""Live codes: create, change, pause, merge, delete; their channels. Services never commit.

Every function takes the caller's ``Session``, the :class:`LiveCodeEnv`, the acting
principal and the community, and checks the role itself: viewers read, operators
write. A change registers, for after the commit, the cache drops that make the landing
(and the redirect, for links) serve the new state at once.

A live code owns ``links`` rows of kind ``live_code``: its permanent link
(``channel_id`` empty) and one per channel. They share the short-link namespace and
carry the code's allowed platforms; their anti-block mode is always ``direct`` (the
landing page is made to be opened inside WeChat).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.db.base import utcnow
from qunyun.db.engine import after_commit
from qunyun.errors import Conflict, DomainError, NotFound
from qunyun.links.access import APP_CHOICES, DEVICE_CHOICES, OS_CHOICES, validate_choices
from qunyun.links.models import Link
from qunyun.links.slugs import pick_free_slug, slug_key, validate_slug
from qunyun.links.urls import normalise_url
from qunyun.livecodes.alerts import worker_of
from qunyun.livecodes.images import StoredImage, prepare_fallback_image
from qunyun.livecodes.landing import landing_of
from qunyun.livecodes.lookup import resolve_code
from qunyun.livecodes.models import LiveCode, LiveCodeChannel
from qunyun.livecodes.rotation import Schedule, Strategy
from qunyun.livecodes.snapshot import CodeKind, CodeStatus
from qunyun.settings import Settings

if TYPE_CHECKING:
    from qunyun.web.context import AppContext

MAX_NAME = 200
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_MESSAGE = 2000
MAX_CONTACT = 500
MAX_CHANNEL_NAME = 100
MAX_CHANNELS = 200
MAX_STICKY_DAYS = 365
MAX_THRESHOLD = 1_000_000
MAX_EXPIRY_DAYS = 365
_INSERT_ATTEMPTS = 3

CODE_FIELDS = frozenset(
    {
        "name",
        "kind",
        "strategy",
        "title",
        "description",
        "sticky_days",
        "default_threshold",
        "default_expiry_days",
        "timezone",
        "active_hours",
        "fallback_message",
        "fallback_contact",
        "alert_webhook_url",
        "status",
        "allowed_apps",
        "allowed_devices",
        "allowed_os",
    }
)
GATE_FIELDS = ("allowed_apps", "allowed_devices", "allowed_os")
_GATE_CHOICES = {
    "allowed_apps": APP_CHOICES,
    "allowed_devices": DEVICE_CHOICES,
    "allowed_os": OS_CHOICES,
}


def _nothing(*_args: Any) -> None:
    return None


@dataclass(frozen=True)
class LiveCodeEnv:
    """What the live-code services need from the running installation."""

    settings: Settings
    # Drop link slugs from the redirect cache (every worker's, with Redis).
    invalidate_links: Callable[[Sequence[str]], None] = _nothing
    # Drop codes from this worker's landing cache (others follow within its TTL).
    invalidate_codes: Callable[[Sequence[int]], None] = _nothing
    # Drop every code (a merge changes where other codes' chains lead).
    forget_codes: Callable[[], None] = _nothing
    # Wake the alert task so new alerts go to their webhook soon.
    alerts_ready: Callable[[], None] = field(default=_nothing)

    @classmethod
    def from_context(cls, ctx: AppContext) -> LiveCodeEnv:
        landing = landing_of(ctx)
        worker = worker_of(ctx)
        return cls(
            ctx.settings,
            ctx.link_cache.invalidate,
            landing.cache.invalidate if landing else _nothing,
            landing.cache.clear if landing else _nothing,
            worker.wake_threadsafe if worker else _nothing,
        )


def installation_principal(community_id: int = 1) -> Principal:
    """The installation acting on itself (the command line): every right, no user."""
    return Principal(user_id=0, name="qunyun", roles={community_id: Role.owner}, via="cli")


def links_changed(session: Session, env: LiveCodeEnv, slug_keys: Sequence[str]) -> None:
    """Have the redirect drop these links once the caller commits."""
    keys = list(slug_keys)
    after_commit(session, lambda: env.invalidate_links(keys))


def changed(session: Session, env: LiveCodeEnv, code_ids: Sequence[int]) -> None:
    """Have the landing drop these codes once the caller commits."""
    ids = list(dict.fromkeys(code_ids))
    after_commit(session, lambda: env.invalidate_codes(ids))


# --- reading -------------------------------------------------------------------------


def get_code(session: Session, principal: Principal, community_id: int, code_id: int) -> LiveCode:
    principal.require(community_id, Role.viewer)
    if not 1 <= code_id < 2**63:
        raise NotFound("livecode.not_found", id=code_id)
    code = session.scalar(
        select(LiveCode).options(defer(LiveCode.fallback_image)).where(LiveCode.id == code_id)
    )
    if code is None or code.community_id != community_id or code.status == CodeStatus.deleted:
        raise NotFound("livecode.not_found", id=code_id)
    return code


def list_codes(session: Session, principal: Principal, community_id: int) -> list[LiveCode]:
    principal.require(community_id, Role.viewer)
    return list(
        session.scalars(
            select(LiveCode)
            .options(defer(LiveCode.fallback_image))
            .where(LiveCode.community_id == community_id, LiveCode.status != CodeStatus.deleted)
            .order_by(LiveCode.created_at.desc(), LiveCode.id.desc())
        )
    )


def code_links(session: Session, code_id: int) -> list[Link]:
    """The code's live links: its own first, then its channels' by creation."""
    links = session.scalars(
        select(Link)
        .where(Link.live_code_id == code_id, Link.deleted_at.is_(None))
        .order_by(Link.channel_id.is_not(None), Link.id)
    )
    return list(links)


def main_link(session: Session, code_id: int) -> Link:
    link = session.scalar(
        select(Link).where(Link.live_code_id == code_id, Link.channel_id.is_(None)).limit(1)
    )
    if link is None:  # pragma: no cover - every code is created with its link
        raise NotFound("livecode.not_found", id=code_id)
    return link


def short_url(settings: Settings, slug: str) -> str:
    return f"{settings.base_url}/{slug}"


def fallback_image(session: Session, code_id: int) -> StoredImage | None:
    row = session.execute(
        select(LiveCode.fallback_image, LiveCode.fallback_image_type).where(LiveCode.id == code_id)
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return StoredImage(bytes(row[0]), row[1])


# --- validation ----------------------------------------------------------------------


def clean_text(value: Any, field_name: str, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise DomainError("livecode.invalid_text", field=field_name)
    text = value.strip()
    if not text:
        return None
    if "\x00" in text or any(unicodedata.category(c) == "Cs" for c in text):
        raise DomainError("livecode.invalid_text", field=field_name)
    if len(text) > max_length:
        raise DomainError(
            "livecode.text_too_long", field=field_name, length=len(text), max_length=max_length
        )
    return text


def clean_int(value: Any, field_name: str, low: int, high: int) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 12:
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DomainError("livecode.invalid_number", field=field_name, min=low, max=high)
    return value


def clean_hours(value: Any, field_name: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, Mapping):
        raise DomainError("livecode.invalid_hours", field=field_name, value="")
    schedule = Schedule.parse(value)
    return schedule.to_dict() if schedule is not None else None


def _clean_zone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise DomainError("livecode.invalid_timezone", value=str(value)[:64])
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError("livecode.invalid_timezone", value=value[:64]) from None
    return value.strip()


def _clean_choices(value: Any, field_name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise DomainError("livecode.invalid_platform", field=field_name)
    try:
        chosen = validate_choices(value, _GATE_CHOICES[field_name])
    except ValueError:
        raise DomainError("livecode.invalid_platform", field=field_name) from None
    return chosen or None


def _clean_webhook(env: LiveCodeEnv, value: Any) -> str | None:
    text = clean_text(value, "alert_webhook_url", env.settings.max_url_length)
    if text is None:
        return None
    return normalise_url(
        text,
        allow_private=env.settings.allow_private_targets,
        max_length=env.settings.max_url_length,
    )


def _clean_field(env: LiveCodeEnv, name: str, value: Any) -> Any:
    if name == "name":
        cleaned = clean_text(value, "name", MAX_NAME)
        if cleaned is None:
            raise DomainError("livecode.name_empty")
        return cleaned
    if name == "kind":
        if value not in CodeKind.__members__:
            raise DomainError("livecode.invalid_kind")
        return value
    if name == "strategy":
        if value not in Strategy.__members__:
            raise DomainError("livecode.invalid_strategy")
        return value
    if name == "status":
        if value not in (CodeStatus.active, CodeStatus.paused):
            raise DomainError("livecode.invalid_status")
        return str(value)
    simple_text = {
        "title": MAX_TITLE,
        "description": MAX_DESCRIPTION,
        "fallback_message": MAX_MESSAGE,
        "fallback_contact": MAX_CONTACT,
    }
    if name in simple_text:
        return clean_text(value, name, simple_text[name])
    numbers = {
        "sticky_days": MAX_STICKY_DAYS,
        "default_threshold": MAX_THRESHOLD,
        "default_expiry_days": MAX_EXPIRY_DAYS,
    }
    if name in numbers:
        return clean_int(value, name, 0, numbers[name])
    if name == "timezone":
        return _clean_zone(value)
    if name == "active_hours":
        return clean_hours(value, "active_hours")
    if name == "alert_webhook_url":
        return _clean_webhook(env, value)
    if name in GATE_FIELDS:
        return _clean_choices(value, name)
    raise DomainError("livecode.unknown_field", field=name)


def clean_fields(env: LiveCodeEnv, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Every given field checked; the first refusal raises."""
    return {name: _clean_field(env, name, value) for name, value in fields.items()}


# --- links ---------------------------------------------------------------------------


def _slug_taken(session: Session, slug: str) -> bool:
    return session.scalar(select(Link.id).where(Link.slug_key == slug_key(slug))) is not None


def checked_slug(session: Session, slug: str | None) -> str | None:
    """A custom slug that is valid and free (checked before anything is written)."""
    custom = validate_slug(slug) if slug and slug.strip() else None
    if custom is not None and _slug_taken(session, custom):
        raise Conflict("slug.taken", slug=custom)
    return custom


def _add_link(
    session: Session,
    env: LiveCodeEnv,
    code: LiveCode,
    custom: str | None,
    gate: Mapping[str, list[str] | None],
    channel: LiveCodeChannel | None = None,
    created_by_id: int | None = None,
) -> Link:
    title = code.name if channel is None else f"{code.name} · {channel.name}"
    for attempt in range(_INSERT_ATTEMPTS):
        chosen = custom or pick_free_slug(lambda s: _slug_taken(session, s))
        link = Link(
            community_id=code.community_id,
            slug=chosen,
            slug_key=slug_key(chosen),
            kind="live_code",
            target_url="",
            live_code_id=code.id,
            channel_id=channel.id if channel is not None else None,
            title=title[:MAX_TITLE],
            anti_block_mode="direct",
            preview_title=(code.title or code.name)[:MAX_TITLE],
            preview_description=(code.description or None) and code.description[:500],
            created_by_id=created_by_id,
            **{name: gate.get(name) for name in GATE_FIELDS},
        )
        try:
            with session.begin_nested():
                session.add(link)
                session.flush()
        except IntegrityError:
            if custom is not None or attempt == _INSERT_ATTEMPTS - 1:
                raise Conflict("slug.taken", slug=chosen) from None
            continue
        links_changed(session, env, [link.slug_key])
        return link
    raise AssertionError("unreachable")  # pragma: no cover


def _creator(principal: Principal) -> int | None:
    return None if principal.via == "cli" else principal.user_id


def gate_of(link: Link) -> dict[str, list[str] | None]:
    return {name: getattr(link, name) for name in GATE_FIELDS}


# --- codes ---------------------------------------------------------------------------


def create_code(
    session: Session,
    env: LiveCodeEnv,
    principal: Principal,
    community_id: int,
    fields: Mapping[str, Any],
    *,
    slug: str | None = None,
    fallback_picture: bytes | None = None,
) -> LiveCode:
    """A new code and its permanent link; ``fields`` as in :data:`CODE_FIELDS`."""
    principal.require(community_id, Role.operator)
    unknown = set(fields) - CODE_FIELDS
    if unknown:
        raise DomainError("livecode.unknown_field", field=sorted(unknown)[0])
    if "name" not in fields:
        raise DomainError("livecode.name_empty")
    values = clean_fields(env, fields)
    custom = checked_slug(session, slug)
    gate = {name: values.pop(name, None) for name in GATE_FIELDS}
    if values.get("kind") == CodeKind.staff and "default_expiry_days" not in values:
        values["default_expiry_days"] = 0  # staff contact cards do not expire
    if values.get("kind") == CodeKind.staff and "default_threshold" not in values:
        values["default_threshold"] = 0
    if fallback_picture:
        picture = prepare_fallback_image(fallback_picture)
        values["fallback_image"], values["fallback_image_type"] = picture.data, picture.mime
    code = LiveCode(community_id=community_id, created_by_id=_creator(principal), **values)
    session.add(code)
    session.flush()
    _add_link(session, env, code, custom, gate, created_by_id=_creator(principal))
    return code


def update_code(
    session: Session,
    env: LiveCodeEnv,
    principal: Principal,
    community_id: int,
    code_id: int,
    fields: Mapping[str, Any],
    *,
    fallback_picture: bytes | None = None,
    remove_fallback_picture: bool = False,
) -> LiveCode:
    """Change the given fields; the gate applies to every link of the code."""
    principal.require(community_id, Role.operator)
    code = get_code(session, principal, community_id, code_id)
    unknown = set(fields) - CODE_FIELDS
    if unknown:
        raise DomainError("livecode.unknown_field", field=sorted(unknown)[0])
    values = clean_fields(env, fields)
    if "status" in values and code.status == CodeStatus.retired:
        # Reactivating a retired code takes its links back from the code it went into.
        code.merged_into_id = None
    gate = {name: values.pop(name) for name in GATE_FIELDS if name in values}
    if fallback_picture:
        picture = prepare_fallback_image(fallback_picture)
        values["fallback_image"], values["fallback_image_type"] = picture.data, picture.mime
    elif remove_fallback_picture:
        values["fallback_image"], values["fallback_image_type"] = None, None
    for name, value in values.items():
        setattr(code, name, value)
    code.updated_at = utcnow()
    links = code_links(session, code.id)
    for link in links:
        for name, value in gate.items():
            setattr(link, name, value)
        link.preview_title = (code.title or code.name)[:MAX_TITLE]
        link.preview_description = code.description[:500] if code.description else None
        link.updated_at = code.updated_at
    session.flush()
    links_changed(session, env, [link.slug_key for link in links])
    changed(session, env, [code.id])
    return code


def set_status(
    session: Session,
    env: LiveCodeEnv,
    principal: Principal,
    community_id: int,
    code_id: int,
    status: str,
) -> LiveCode:
    return update_code(session, env, principal, community_id, code_id, {"status": status})


def delete_code(
    session: Session, env: LiveCodeEnv, principal: Principal, community_id: int, code_id: int
) -> None:
    """The code leaves the lists and its links stop working; their slugs stay taken."""
    principal.require(community_id, Role.operator)
    code = get_code(session, principal, community_id, code_id)
    now = utcnow()
    links = code_links(session, code.id)
    for link in links:
        link.deleted_at = now
        link.updated_at = now
    code.status = CodeStatus.deleted
    code.updated_at = now
    session.flush()
    links_changed(session, env, [link.slug_key for link in links])
    changed(session, env, [code.id])


def merge_code(
    session: Session,
    env: LiveCodeEnv,
    principal: Principal,
    community_id: int,
    code_id: int,
    into_id: int,
) -> LiveCode:
    """Retire ``code_id`` into ``into_id``: its links (and its channels') then serve the
    other code's pool, following that code's own merges at landing time."""
    principal.require(community_id, Role.operator)
    code = get_code(session, principal, community_id, code_id)
    if code_id == into_id:
        raise DomainError("livecode.merge_self")
    if code.status == CodeStatus.retired:
        raise Conflict("livecode.already_retired", name=code.name)
    target = get_code(session, principal, community_id, into_id)
    resolved = _resolve_without(session, target.id, code.id)
    if resolved is None:
        raise DomainError("livecode.merge_target_unavailable", name=target.name)
    code.status = CodeStatus.retired
    code.merged_into_id = target.id
    code.updated_at = utcnow()
    session.flush()
    # Codes merged into this one resolve through it: their pools change too. Merges are
    # rare, so forgetting every code beats walking the chains.
    after_commit(session, env.forget_codes)
    return code


def _resolve_without(session: Session, start: int, forbidden: int) -> LiveCode | None:
    """Where ``start`` resolves; a chain passing through ``forbidden`` is a cycle."""
    seen: set[int] = set()
    current: int | None = start
    while current is not None and current not in seen:
        if current == forbidden:
            raise DomainError("livecode.merge_cycle")
        seen.add(current)
        code = session.get(LiveCode, current)
        if code is None or code.status != CodeStatus.retired:
            break
        current = code.merged_into_id
    return resolve_code(session, start)


# --- channels ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelRow:
    channel: LiveCodeChannel
    link: Link


def list_channels(session: Session, code_id: int) -> list[ChannelRow]:
    rows = session.execute(
        select(LiveCodeChannel, Link)
        .join(Link, Link.channel_id == LiveCodeChannel.id)
        .where(LiveCodeChannel.live_code_id == code_id, Link.deleted_at.is_(None))
        .order_by(LiveCodeChannel.id)
    ).all()
    return [ChannelRow(channel, link) for channel, link in rows]


def add_channel(
    session: Session,
    env: LiveCodeEnv,
    principal: Principal,
    community_id: int,
    code_id: int,
    name: str,
    slug: str | None = None,
) -> ChannelRow:
    principal.require(community_id, Role.operator)
    code = get_code(session, principal, community_id, code_id)
    clean = clean_text(name, "channel", MAX_CHANNEL_NAME)
    if clean is None:
        raise DomainError("livecode.channel_name_empty")
    existing = list_channels(session, code.id)
    if len(existing) >= MAX_CHANNELS:
        raise DomainError("livecode.too_many_channels", max=MAX_CHANNELS)
    if any(row.channel.name == clean for row in existing):
        raise Conflict("livecode.channel_exists", name=clean)
    custom = checked_slug(session, slug)
    channel = LiveCodeChannel(live_code_id=code.id, name=clean)
    session.add(channel)
    session.flush()
    link = _add_link(
        session,
        env,
        code,
        custom,
        gate_of(main_link(session, code.id)),
        channel,
        _creator(principal),
    )
    return ChannelRow(channel, link)


def get_channel(session: Session, code_id: int, channel_id: int) -> ChannelRow:
    for row in list_channels(session, code_id):
        if row.channel.id == channel_id:
            return row
    raise NotFound("livecode.channel_not_found", id=channel_id)


def delete_channel(
    session: Session,
    env: LiveCodeEnv,
    principal: Principal,
    community_id: int,
    code_id: int,
    channel_id: int,
) -> None:
    """The channel's link stops working (its visits stay counted); the slug stays taken."""
    principal.require(community_id, Role.operator)
    code = get_code(session, principal, community_id, code_id)
    row = get_channel(session, code.id, channel_id)
    row.link.deleted_at = utcnow()
    row.link.updated_at = row.link.deleted_at
    session.flush()
    links_changed(session, env, [row.link.slug_key])


def total_views(session: Session, code_ids: Sequence[int]) -> dict[int, int]:
    """People counted on every link of each code (the links' stored counters)."""
    if not code_ids:
        return {}
    rows = session.execute(
        select(Link.live_code_id, func.sum(Link.human_visits))
        .where(Link.live_code_id.in_(code_ids))
        .group_by(Link.live_code_id)
    ).all()
    return {int(code_id): int(total or 0) for code_id, total in rows if code_id is not None}
