"""A community's link defaults: the anti-block mode and the apps that get the guide.

Every link without a mode of its own follows the community's; ``guide`` mode shows the
"open in your browser" page inside the apps listed here (the built-in
:data:`~qunyun.links.access.DEFAULT_GUIDE_APPS` while none are chosen). Viewers read
the defaults, admins change them; a change empties the redirect's whole cache once the
caller commits, since any cached link may follow it. Services never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from qunyun.accounts.principal import Principal
from qunyun.accounts.roles import Role
from qunyun.community.models import Community
from qunyun.db.engine import after_commit
from qunyun.errors import DomainError, NotFound
from qunyun.links import rules
from qunyun.links.access import DEFAULT_GUIDE_APPS, Mode
from qunyun.links.inputs import UNSET, LinkDefaultsChanges
from qunyun.links.service import LinkEnv

GUIDE_APP_CHOICES = rules.PLATFORM_CHOICES["guide_apps"]
BUILT_IN_GUIDE_APPS: tuple[str, ...] = tuple(
    a for a in GUIDE_APP_CHOICES if a in DEFAULT_GUIDE_APPS
)


@dataclass(frozen=True)
class LinkDefaults:
    anti_block_mode: Mode
    # The apps in effect, in the canonical order.
    guide_apps: tuple[str, ...]
    # False while the community follows the built-in list.
    guide_apps_chosen: bool


def get_link_defaults(session: Session, principal: Principal, community_id: int) -> LinkDefaults:
    principal.require(community_id, Role.viewer)
    return defaults_of(_community(session, community_id))


def update_link_defaults(
    session: Session,
    env: LinkEnv,
    principal: Principal,
    community_id: int,
    changes: LinkDefaultsChanges,
) -> LinkDefaults:
    """Change the given defaults; raises before writing anything."""
    principal.require(community_id, Role.admin)
    community = _community(session, community_id)
    values: dict[str, object] = {}
    if changes.anti_block_mode is not UNSET:
        mode = rules.anti_block_mode(changes.anti_block_mode)
        if mode is None:
            # A community always has a mode: links "follow the default" to it.
            raise DomainError("link.unknown_mode", value="", choices=", ".join(rules.MODE_CHOICES))
        values["anti_block_mode"] = mode
    if changes.guide_apps is not UNSET:
        values["guide_apps"] = (
            None if changes.guide_apps is None else _guide_apps(changes.guide_apps)
        )
    for name, value in values.items():
        setattr(community, name, value)
    session.flush()
    after_commit(session, env.invalidate_all)
    return defaults_of(community)


def defaults_of(community: Community) -> LinkDefaults:
    chosen = community.guide_apps is not None
    apps = set(community.guide_apps) if community.guide_apps is not None else DEFAULT_GUIDE_APPS
    return LinkDefaults(
        anti_block_mode=Mode(community.anti_block_mode),
        guide_apps=tuple(a for a in GUIDE_APP_CHOICES if a in apps),
        guide_apps_chosen=chosen,
    )


def _guide_apps(values: tuple[str, ...]) -> list[str]:
    # Unlike a link's platform lists, an empty list is a choice: no app gets the guide.
    return rules.platforms(values, "guide_apps") or []


def _community(session: Session, community_id: int) -> Community:
    community = session.get(Community, community_id)
    if community is None:
        raise NotFound()
    return community
