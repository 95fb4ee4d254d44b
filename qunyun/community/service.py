"""Communities (the tenants) and who holds which role in each. Services never commit.

Who may do what:
    create a community   owners of any community, and the command line; the creator
                         becomes its owner
    change settings      admins (name, description, time zone, group kinds, tiers)
    see roles            admins
    grant and revoke     admins for viewer/operator/admin; only owners make or unmake
                         owners, and the last owner can never be removed or demoted
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qunyun.accounts.models import CommunityRole, User
from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community import tiers
from qunyun.community.defaults import MAX_GROUP_KINDS, MAX_KIND_LENGTH, kinds_of
from qunyun.community.models import Community
from qunyun.errors import Conflict, DomainError, Forbidden, NotFound

_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_KIND_RE = re.compile(r"^[\w-]+$")
MAX_NAME = 200
MAX_DESCRIPTION = 5000
COMMUNITY_FIELDS = frozenset(
    {"name", "description", "timezone", "group_kinds", "tier_bands", "tier_cap"}
)


def cli_principal(session: Session) -> Principal:
    """The installation acting on itself (the command line): owner of every community."""
    ids = session.scalars(select(Community.id)).all()
    return Principal(user_id=0, name="qunyun", roles=dict.fromkeys(ids, Role.owner), via="cli")


def validate_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not _SLUG_RE.match(slug) or slug.isdigit():
        raise DomainError("community.invalid_slug")
    return slug


def validate_timezone(value: str) -> str:
    value = value.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError("community.invalid_timezone", timezone=value[:64]) from None
    return value


def _text(value: Any, code: str, limit: int, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise DomainError(code, max=limit)
        return None
    text = str(value).strip()
    if "\x00" in text or len(text) > limit or (required and not text):
        raise DomainError(code, max=limit)
    return text or None


def validate_group_kinds(kinds: Sequence[str] | None) -> list[str] | None:
    if kinds is None:
        return None
    cleaned: list[str] = []
    for kind in kinds:
        kind = kind.strip()
        if not kind:
            continue
        if len(kind) > MAX_KIND_LENGTH or not _KIND_RE.match(kind):
            raise DomainError("community.invalid_kind", kind=kind[:40], max=MAX_KIND_LENGTH)
        if kind not in cleaned:
            cleaned.append(kind)
    if len(cleaned) > MAX_GROUP_KINDS:
        raise DomainError("community.too_many_kinds", max=MAX_GROUP_KINDS)
    return cleaned or None


def tier_scheme(community: Community) -> tiers.TierScheme:
    return tiers.from_json(community.tier_bands)


def group_kinds(community: Community) -> tuple[str, ...]:
    return kinds_of(community.group_kinds)


# --- communities ---------------------------------------------------------------------


def get_community(session: Session, principal: Principal, community_id: int) -> Community:
    """The community, if the principal holds any role in it (else "not found")."""
    community = session.get(Community, community_id) if community_id in principal.roles else None
    if community is None:
        raise NotFound("community.not_found")
    return community


def find_community(session: Session, principal: Principal, id_or_slug: str) -> Community:
    named = id_or_slug.strip()
    if named.isdigit() and len(named) <= 18:
        return get_community(session, principal, int(named))
    found = session.scalar(select(Community.id).where(Community.slug == named.lower()))
    if found is None:
        raise NotFound("community.not_found")
    return get_community(session, principal, found)


def list_communities(session: Session, principal: Principal) -> list[Community]:
    ids = list(principal.roles)
    if not ids:
        return []
    return list(
        session.scalars(select(Community).where(Community.id.in_(ids)).order_by(Community.id))
    )


def create_community(
    session: Session,
    principal: Principal,
    *,
    slug: str,
    name: str,
    timezone: str = "Asia/Shanghai",
    description: str | None = None,
) -> Community:
    if principal.via != "cli" and Role.owner not in principal.roles.values():
        raise Forbidden("community.create_forbidden")
    slug = validate_slug(slug)
    if session.scalar(select(Community.id).where(Community.slug == slug)) is not None:
        raise Conflict("community.slug_taken", slug=slug)
    community = Community(
        slug=slug,
        name=_text(name, "community.invalid_name", MAX_NAME, required=True),
        timezone=validate_timezone(timezone),
        description=_text(description, "community.invalid_description", MAX_DESCRIPTION),
    )
    session.add(community)
    session.flush()
    if principal.user_id > 0:
        session.add(
            CommunityRole(user_id=principal.user_id, community_id=community.id, role=Role.owner)
        )
        session.flush()
    return community


def update_community(
    session: Session, principal: Principal, community_id: int, fields: Mapping[str, Any]
) -> Community:
    """Change only the fields given. Tiers: ``tier_bands`` (list of {name, upto}) and
    ``tier_cap`` are validated together; an empty list removes the tiers."""
    community = get_community(session, principal, community_id)
    principal.require(community_id, Role.admin)
    unknown = set(fields) - COMMUNITY_FIELDS
    if unknown:
        raise DomainError("community.unknown_field", field=sorted(unknown)[0])
    if "name" in fields:
        community.name = _text(fields["name"], "community.invalid_name", MAX_NAME, required=True)  # type: ignore[assignment]
    if "description" in fields:
        community.description = _text(
            fields["description"], "community.invalid_description", MAX_DESCRIPTION
        )
    if "timezone" in fields:
        community.timezone = validate_timezone(str(fields["timezone"]))
    if "group_kinds" in fields:
        community.group_kinds = validate_group_kinds(fields["group_kinds"])
    if "tier_bands" in fields or "tier_cap" in fields:
        raw = fields.get("tier_bands")
        bands = [_band(b) for b in raw] if raw is not None else list(tier_scheme(community).bands)
        cap = fields["tier_cap"] if "tier_cap" in fields else tier_scheme(community).cap
        community.tier_bands = tiers.validate(bands, cap).to_json()
    session.flush()
    return community


def _band(value: Any) -> tiers.Band:
    if isinstance(value, tiers.Band):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        upto = value.get("upto")
        if upto is None or (isinstance(upto, int) and not isinstance(upto, bool)):
            return tiers.Band(value["name"], upto)
    raise DomainError("tier.bad_spec")


# --- roles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleHolder:
    user_id: int
    name: str
    role: Role


def list_roles(session: Session, principal: Principal, community_id: int) -> list[RoleHolder]:
    get_community(session, principal, community_id)
    principal.require(community_id, Role.admin)
    rows = session.execute(
        select(User.id, User.name, CommunityRole.role)
        .join(CommunityRole, CommunityRole.user_id == User.id)
        .where(CommunityRole.community_id == community_id)
        .order_by(User.name_key)
    )
    return [RoleHolder(uid, name, Role(role)) for uid, name, role in rows]


def _user(session: Session, name_or_id: str | int) -> User:
    if isinstance(name_or_id, int):
        user = session.get(User, name_or_id)
    else:
        user = session.scalar(select(User).where(User.name_key == name_or_id.strip().casefold()))
    if user is None:
        raise NotFound("user.not_found")
    return user


def _owners(session: Session, community_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(CommunityRole)
            .where(CommunityRole.community_id == community_id, CommunityRole.role == Role.owner)
        )
        or 0
    )


def _check_grant(
    session: Session,
    principal: Principal,
    community_id: int,
    current: Role | None,
    new: Role | None,
) -> None:
    get_community(session, principal, community_id)
    principal.require(community_id, Role.admin)
    touches_owner = Role.owner in (current, new)
    if touches_owner and not principal.can(community_id, Role.owner):
        raise Forbidden("community.owner_only")
    if current == Role.owner and new != Role.owner and _owners(session, community_id) <= 1:
        raise Conflict("community.last_owner")


def grant_role(
    session: Session, principal: Principal, community_id: int, user: str | int, role: Role
) -> RoleHolder:
    target = _user(session, user)
    row = session.scalar(
        select(CommunityRole).where(
            CommunityRole.user_id == target.id, CommunityRole.community_id == community_id
        )
    )
    _check_grant(session, principal, community_id, Role(row.role) if row else None, role)
    if row is None:
        session.add(CommunityRole(user_id=target.id, community_id=community_id, role=role))
    else:
        row.role = role
    session.flush()
    return RoleHolder(target.id, target.name, role)


def revoke_role(session: Session, principal: Principal, community_id: int, user: str | int) -> None:
    target = _user(session, user)
    row = session.scalar(
        select(CommunityRole).where(
            CommunityRole.user_id == target.id, CommunityRole.community_id == community_id
        )
    )
    if row is None:
        raise NotFound("community.role_not_found")
    _check_grant(session, principal, community_id, Role(row.role), None)
    session.delete(row)
    session.flush()
