"""Who is acting, and what they may do in which community. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from qunyun.accounts.roles import Role
from qunyun.errors import DomainError, Forbidden


@dataclass(frozen=True)
class Principal:
    user_id: int
    name: str
    roles: Mapping[int, Role] = field(default_factory=dict)
    via: Literal["session", "token", "cli"] = "session"
    language: str | None = None
    # The community the user chose (page switcher, X-Qunyun-Community header); used
    # only while the user still holds a role there.
    active_community: int | None = None

    def role_in(self, community_id: int) -> Role | None:
        return self.roles.get(community_id)

    def can(self, community_id: int, needed: Role) -> bool:
        role = self.roles.get(community_id)
        return role is not None and role.at_least(needed)

    def require(self, community_id: int, needed: Role) -> Role:
        role = self.roles.get(community_id)
        if role is None:
            raise Forbidden("community.no_access")
        if not role.at_least(needed):
            raise Forbidden("role.insufficient", needed=needed.value, have=role.value)
        return role

    def default_community(self) -> int:
        if not self.roles:
            raise DomainError("community.none", status=403)
        if self.active_community is not None and self.active_community in self.roles:
            return self.active_community
        return min(self.roles)
